/* kernels_tool.c -- `pf-kernels ARGS` runs `preflight kernels ARGS` without
 * depending on main.c's command table, so tests and scripts/ can exercise
 * the subcommand on any branch. */
#include "probes/kernels/kernels_cli.h"

int main(int argc, char **argv)
{
    argv[0] = "kernels";
    return pf_kernels_main(argc, argv);
}
