/* ptxas_mkfixture.c -- write the ptxas test fixtures (ptxas_fixtures.c) and
 * print their root and the fake venv, for the CLI test (ptxas_cli.sh). */
#include <stdio.h>

#include "ptxas_fixtures.h"

int main(void)
{
    ptxas_fx fx;
    if (ptxas_fx_create(&fx) != 0) {
        fprintf(stderr, "ptxas_mkfixture: cannot write fixtures under %s\n", PF_BINARY_DIR);
        return 1;
    }
    printf("%s\n%s\n", fx.root, fx.prefix);
    return 0;
}
