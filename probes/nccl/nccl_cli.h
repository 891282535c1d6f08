/* nccl_cli.h -- `preflight nccl`: the NCCL probe on one node, several
 * local ranks (forked processes), with the record's "nccl" section and the
 * nccl.* checks (docs/nccl.md). */
#ifndef PF_NCCL_CLI_H
#define PF_NCCL_CLI_H

int pf_nccl_main(int argc, char **argv);

#endif
