/* launcher_ssh.c -- `--launcher ssh` (the default with --hosts/--hostfile):
 * the OpenSSH client, one session per node, the agent command as the remote
 * command, the secret on stdin (hence no -n).
 *
 * Options (docs/cluster.md): BatchMode=yes so a password or passphrase
 * prompt fails at once instead of hanging the run; ConnectTimeout; host keys
 * accept-new; ServerAliveInterval so a dead node ends its session; then the
 * user's -o options, which come last and so win (ssh takes the first value
 * it sees for most options, but the user's come after ours only for keys we
 * do not set; a user's BatchMode=no is refused by the CLI).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/launcher.h"

void pf_launcher_ssh_argv(const pf_launcher_cfg *cfg, int node, pf_strv *argv)
{
    const pf_nodespec *s = &cfg->nodes->v[node];
    pf_strv_push(argv, "ssh");
    /* User options first: for ssh the first value given for a key wins. */
    for (size_t i = 0; cfg->ssh_opts && i < cfg->ssh_opts->n; i++) {
        pf_strv_push(argv, "-o");
        pf_strv_push(argv, cfg->ssh_opts->v[i]);
    }
    pf_strv_push(argv, "-o");
    pf_strv_push(argv, "BatchMode=yes");
    pf_strv_push(argv, "-o");
    pf_strv_push_owned(argv, pf_xasprintf("ConnectTimeout=%d",
                                          cfg->connect_timeout_s > 0 ? (int)(cfg->connect_timeout_s + 0.999) : 5));
    pf_strv_push(argv, "-o");
    pf_strv_push(argv, "StrictHostKeyChecking=accept-new");
    pf_strv_push(argv, "-o");
    pf_strv_push(argv, "ServerAliveInterval=5");
    pf_strv_push(argv, "-o");
    pf_strv_push(argv, "ServerAliveCountMax=3");
    pf_strv_push(argv, "-T");
    if (s->port) {
        pf_strv_push(argv, "-p");
        pf_strv_push_owned(argv, pf_xasprintf("%d", s->port));
    }
    if (s->user) {
        pf_strv_push(argv, "-l");
        pf_strv_push(argv, s->user);
    }
    pf_strv_push(argv, s->host);
    pf_strv_push(argv, "--");
    pf_strv_push_owned(argv, pf_launcher_agent_cmdline(cfg, node));
}

static int ssh_start(pf_launcher *l, const pf_launcher_cfg *cfg, pf_err *err)
{
    char *line = pf_xasprintf("%s\n", cfg->secret_hex);
    int rc = 0;
    for (size_t i = 0; i < cfg->nodes->n && rc == 0; i++) {
        pf_strv argv = {0};
        pf_launcher_ssh_argv(cfg, (int)i, &argv);
        pf_strv_push_owned(&argv, NULL);
        argv.n--;
        pf_err e;
        if (pf_launcher_spawn(l, (int)i, argv.v, line, NULL, &e) < 0)
            rc = pf_err_set(err, "--launcher ssh: %s (Debian: apt-get install openssh-client)", e.msg);
        pf_strv_free(&argv);
    }
    free(line);
    return rc;
}

/* ssh's "Warning: Permanently added 'X' (ED25519) to the list of known
 * hosts." is noise next to the real reason: drop it. */
static void drop_known_hosts_note(const char *in, char *out, size_t len)
{
    const char *w = strstr(in, "Warning: Permanently added");
    const char *end = w ? strstr(w, "known hosts.") : NULL;
    if (!w || !end) {
        pf_strlcpy(out, in, len);
        return;
    }
    end += strlen("known hosts.");
    while (*end == ' ')
        end++;
    snprintf(out, len, "%.*s%s", (int)(w - in), in, end);
}

static void ssh_explain(const char *node, const char *status, const char *tail_in, char *buf, size_t len)
{
    char tail[700];
    drop_known_hosts_note(tail_in, tail, sizeof tail);
    if (strstr(tail, "Permission denied") || strstr(tail, "password:") || strstr(tail, "passphrase"))
        snprintf(buf, len,
                 "ssh %s: %s -- BatchMode is on, so no password or passphrase is asked: install a key "
                 "(ssh-copy-id %s) or load it into ssh-agent", status, tail, node);
    else if (strstr(tail, "Host key verification failed") || strstr(tail, "REMOTE HOST IDENTIFICATION"))
        snprintf(buf, len, "ssh %s: %s -- the host key changed: check it, then ssh-keygen -R %s", status,
                 tail, node);
    else if (strstr(tail, "command not found") || strstr(tail, "No such file or directory") ||
             strstr(status, "exited 127"))
        snprintf(buf, len,
                 "preflight is not installed on %s (%s: %s): build it there (scripts/setup.sh) or give "
                 "its path with bin= in the hostfile; never copy a binary built for another CPU "
                 "architecture (check `uname -m` there)", node, status, tail);
    else if (strstr(tail, "Exec format error"))
        snprintf(buf, len,
                 "the preflight on %s is built for another CPU architecture (%s): build it on that "
                 "node (`uname -m` there)", node, tail);
    else
        snprintf(buf, len, "ssh %s: %s", status, tail);
}

const pf_launcher_vt pf_launcher_ssh = {.name = "ssh", .start = ssh_start, .explain = ssh_explain};
