/* pair_driver.c -- runs the pair-test collectors from the command line, for
 * the namespace tests (pairs_netns.py) and scripts/bench-pairs.sh.
 *
 *   pair_driver listen 'REQ'   print the listen reply (one JSON line), serve
 *                              until stdin reaches EOF, then close
 *   pair_driver probe 'REQ'    print the probe result (one JSON line)
 *   pair_driver judge RUN.json print the record after pf_cluster_judge (the
 *                              run's "pairs"/"cluster"/"ray" sections in)
 *   pair_driver plan RUN.json DIR   pf_cluster_judge, then pf_plan_write;
 *                              exit with pf_plan_write's 0/1 (2 on error)
 *
 * Exit 0, or 1 with the pf_err sentence on stderr.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cluster/judge.h"
#include "cluster/pairtest.h"
#include "cluster/plan.h"
#include "core/record.h"

static int judge_or_plan(int argc, char **argv)
{
    pf_err err = {{0}};
    pf_run *run = pf_run_load(argv[2], &err);
    if (!run) {
        fprintf(stderr, "pair_driver: %s\n", err.msg);
        return 2;
    }
    pf_cluster_judge(run, NULL);
    int rc = 0;
    if (strcmp(argv[1], "plan") == 0) {
        rc = argc == 4 ? pf_plan_write(run, argv[3], &err) : -1;
        if (rc < 0) {
            fprintf(stderr, "pair_driver: %s\n", argc == 4 ? err.msg : "plan needs DIR");
            rc = 2;
        }
    } else if (pf_run_write_json(run, false, "-", &err) != 0) {
        fprintf(stderr, "pair_driver: %s\n", err.msg);
        rc = 2;
    }
    pf_run_free(run);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && (strcmp(argv[1], "judge") == 0 || strcmp(argv[1], "plan") == 0))
        return judge_or_plan(argc, argv);
    if (argc != 3) {
        fprintf(stderr, "usage: pair_driver listen|probe JSON\n");
        return 2;
    }
    json_error_t je;
    json_t *req = json_loads(argv[2], 0, &je);
    if (!req) {
        fprintf(stderr, "pair_driver: bad JSON: %s\n", je.text);
        return 2;
    }
    pf_err err = {{0}};
    int rc = 0;
    if (strcmp(argv[1], "listen") == 0) {
        json_t *reply = NULL;
        pf_pair_listener *l = pf_pair_listen(req, &reply, &err);
        if (!l) {
            fprintf(stderr, "pair_driver: %s\n", err.msg);
            rc = 1;
        } else {
            char *s = json_dumps(reply, JSON_COMPACT);
            printf("%s\n", s);
            fflush(stdout);
            free(s);
            json_decref(reply);
            char buf[256];
            while (read(0, buf, sizeof buf) > 0) {
            }
            pf_pair_listener_close(l);
        }
    } else if (strcmp(argv[1], "probe") == 0) {
        json_t *res = pf_pair_probe(req, &err);
        if (!res) {
            fprintf(stderr, "pair_driver: %s\n", err.msg);
            rc = 1;
        } else {
            char *s = json_dumps(res, JSON_COMPACT);
            printf("%s\n", s);
            free(s);
            json_decref(res);
        }
    } else {
        fprintf(stderr, "usage: pair_driver listen|probe JSON\n");
        rc = 2;
    }
    json_decref(req);
    return rc;
}
