/* bench_main.c -- `pf_bench ARGS` runs `preflight bench ARGS`, so the bench
 * tests do not depend on the subcommand table in core/main.c. */
#include "bench/bench_cli.h"

int main(int argc, char **argv)
{
    argv[0] = "bench";
    return pf_bench_main(argc, argv);
}
