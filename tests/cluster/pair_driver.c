/* pair_driver.c -- runs the pair-test collectors from the command line, for
 * the namespace tests (pairs_netns.py) and scripts/bench-pairs.sh.
 *
 *   pair_driver listen 'REQ'   print the listen reply (one JSON line), serve
 *                              until stdin reaches EOF, then close
 *   pair_driver probe 'REQ'    print the probe result (one JSON line)
 *
 * Exit 0, or 1 with the pf_err sentence on stderr.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cluster/pairtest.h"

int main(int argc, char **argv)
{
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
