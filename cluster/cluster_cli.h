/* cluster_cli.h -- `preflight cluster` (the coordinator) and `preflight agent`. */
#ifndef PF_CLUSTER_CLI_H
#define PF_CLUSTER_CLI_H

int pf_cluster_main(int argc, char **argv);

#endif
