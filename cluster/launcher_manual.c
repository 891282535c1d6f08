/* launcher_manual.c -- `--launcher manual`: print, for each node, the one
 * line to paste there, and wait (with the join deadline) for the agents.
 * The secret is in a 0600 file the coordinator wrote; the agent reads it
 * with --secret-file (copy the file) or from stdin (paste it when asked),
 * so it is never on a command line.  No child: nothing to kill here.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cluster/launcher.h"

static int manual_start(pf_launcher *l, const pf_launcher_cfg *cfg, pf_err *err)
{
    fprintf(stderr, "preflight cluster: start the agent on each node (the secret is in %s;\n"
                    "copy that file there and add --secret-file FILE, or paste its line when asked):\n",
            cfg->secret_file ? cfg->secret_file : "(no file)");
    for (size_t i = 0; i < cfg->nodes->n; i++) {
        char *line = pf_launcher_agent_cmdline(cfg, (int)i);
        fprintf(stderr, "  on %-16s %s\n", cfg->nodes->v[i].name, line);
        free(line);
    }
    fflush(stderr);
    return 0;
}

const pf_launcher_vt pf_launcher_manual = {.name = "manual", .start = manual_start, .explain = NULL};
