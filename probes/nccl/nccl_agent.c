/* nccl_agent.c -- one rank, start to annotated result (see nccl_agent.h). */
#include "probes/nccl/nccl_agent.h"

#include <stdlib.h>
#include <unistd.h>

#include "probes/nccl/nccl_judge.h"

json_t *pf_ncclagent_run(const pf_ncclrank_opts *o, const char *log_file, const pf_ncclagent_io *io)
{
    pf_strv env = {0};
    for (const char *const *e = o->env; e && *e; e++)
        pf_strv_push(&env, *e);
    /* ours last, so they win over the user's NCCL_DEBUG* */
    pf_strv_push(&env, "NCCL_DEBUG=INFO");
    pf_strv_push(&env, "NCCL_DEBUG_SUBSYS=INIT,BOOTSTRAP,ENV,NET");
    if (log_file) {
        unlink(log_file);
        pf_strv_push_owned(&env, pf_xasprintf("NCCL_DEBUG_FILE=%s", log_file));
    }
    pf_strv_push_owned(&env, NULL);
    env.n--;
    pf_ncclrank_opts ro = *o;
    ro.env = (const char *const *)env.v;
    double init_to = ro.init_timeout_s > 0 ? ro.init_timeout_s : 20;

    pf_err err = {{0}};
    json_t *res;
    pf_ncclrank *rk = pf_ncclrank_open(&ro, &err);
    if (!rk) {
        res = pf_ncclrank_load_failure(&ro, "load", err.msg);
        if (o->rank == 0 && io && io->publish_uid)
            io->publish_uid(io->arg, NULL); /* the others must not wait for an id that will not come */
    } else {
        pf_nccl_uid uid;
        bool have = false;
        if (o->rank == 0) {
            have = pf_ncclrank_unique_id(rk, &uid, &err) == 0;
            if (io && io->publish_uid)
                io->publish_uid(io->arg, have ? &uid : NULL);
        } else if (io && io->fetch_uid) {
            have = io->fetch_uid(io->arg, &uid, pf_now() + init_to) == 0;
        }
        res = pf_ncclrank_run(rk, have ? &uid : NULL);
    }
    char *text = log_file ? pf_read_file(log_file, 16u << 20, NULL, NULL) : NULL;
    pf_nccljudge_annotate(res, text);
    free(text);
    json_object_set_new(res, "log_file", log_file ? json_string(log_file) : json_null());
    pf_ncclrank_close(rk);
    pf_strv_free(&env);
    return res;
}
