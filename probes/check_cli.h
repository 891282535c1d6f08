/* check_cli.h -- `preflight check`: run every node probe on this node. */
#ifndef PF_CHECK_CLI_H
#define PF_CHECK_CLI_H

int pf_check_main(int argc, char **argv);

#endif
