/* kernels_cli.h -- `preflight kernels`: judge named libraries, cubins and
 * fatbins for a GPU, one check per library (see docs/kernels.md). */
#ifndef PF_KERNELS_CLI_H
#define PF_KERNELS_CLI_H

/* argv[0] is "kernels". */
int pf_kernels_main(int argc, char **argv);

#endif
