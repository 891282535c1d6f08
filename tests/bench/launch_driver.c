/* launch_driver.c -- drive a real server through the launch API (for
 * tests/bench/real_server_test.sh): start it, wait until ready, send chat requests
 * (plain, then streamed at concurrency 1, 2 and 4), check that the server's
 * usage counts agree with what was received, watch it with pf_launch_poll,
 * stop it and prove no process is left.
 *
 *   launch_driver [--log FILE] [--max-tokens K] [--requests N] [--deadline S]
 *                 [--port N] [--expect-fatal SIGNATURE]
 *                 -- CMD ARGS...      ({PORT} in ARGS becomes --port or a free port)
 *
 * With --expect-fatal the server is expected to fail during start-up with
 * that log signature (e.g. net.address_in_use when the port is taken): the
 * driver checks the verdict, the check id and that the stop leaves nothing.
 *
 * Exit 0 when every check passed, 1 when one failed, 2 on bad usage.  One
 * line per check on stdout ("ok ..." / "FAIL ..."), the launch facts as JSON
 * at the end.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/launch.h"

static int failures;

static void result(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (!ok)
        failures++;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
    buf *b = ud;
    b->p = pf_xrealloc(b->p, b->n + sz * nm + 1);
    memcpy(b->p + b->n, p, sz * nm);
    b->n += sz * nm;
    b->p[b->n] = '\0';
    return sz * nm;
}

static CURL *post(const char *url, const char *body, buf *out, struct curl_slist *hdr)
{
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    return c;
}

/* Tokens in text by the server's own tokenizer (llama.cpp POST /tokenize);
 * -1 when the server has no such endpoint. */
static long tokenize(const char *base, const char *text, struct curl_slist *hdr)
{
    char *url = pf_xasprintf("%s/tokenize", base);
    json_t *b = json_pack("{s:s}", "content", text);
    char *body = json_dumps(b, JSON_COMPACT);
    buf out = {0};
    CURL *c = post(url, body, &out, hdr);
    long code = 0, n = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    json_t *j = code == 200 && out.p ? json_loads(out.p, 0, NULL) : NULL;
    if (json_is_array(json_object_get(j, "tokens")))
        n = (long)json_array_size(json_object_get(j, "tokens"));
    json_decref(j);
    json_decref(b);
    curl_easy_cleanup(c);
    free(out.p);
    free(body);
    free(url);
    return n;
}

static char *chat_body(int max_tokens, int stream, int i)
{
    char prompt[128];
    snprintf(prompt, sizeof prompt, "Write a short story about the number %d.", i);
    json_t *b = json_pack("{s:[{s:s,s:s}], s:i, s:f, s:b, s:b}", "messages", "role", "user", "content",
                          prompt, "max_tokens", max_tokens, "temperature", 0.0, "ignore_eos", 1, "stream",
                          stream);
    if (stream)
        json_object_set_new(b, "stream_options", json_pack("{s:b}", "include_usage", 1));
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    return s;
}

/* Retokenised text may differ from the generated ids by a token or two
 * (merges across chunk boundaries); anything beyond that is a wrong count. */
static int close_enough(long retok, long usage) { return labs(retok - usage) <= 2 + usage / 10; }

static void plain_requests(const char *base, int n, int k, struct curl_slist *hdr, long *total)
{
    char *url = pf_xasprintf("%s/v1/chat/completions", base);
    for (int i = 0; i < n; i++) {
        char *body = chat_body(k, 0, i);
        buf out = {0};
        CURL *c = post(url, body, &out, hdr);
        long code = 0;
        CURLcode rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        json_t *j = out.p ? json_loads(out.p, 0, NULL) : NULL;
        json_t *u = json_object_get(j, "usage");
        long ct = (long)json_integer_value(json_object_get(u, "completion_tokens"));
        long pt = (long)json_integer_value(json_object_get(u, "prompt_tokens"));
        const char *text = json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"), "content"));
        long retok = text ? tokenize(base, text, hdr) : -1;
        json_t *pn = json_object_get(json_object_get(j, "timings"), "predicted_n");
        result(rc == CURLE_OK && code == 200 && ct == k && pt > 0 && text && *text,
               "plain request %d: HTTP %ld, usage completion_tokens %ld (asked %d), prompt_tokens %ld", i, code,
               ct, k, pt);
        if (retok >= 0)
            result(close_enough(retok, ct), "plain request %d: content retokenises to %ld tokens, usage says %ld", i,
                   retok, ct);
        if (json_is_integer(pn))
            result(json_integer_value(pn) == ct, "plain request %d: server timings.predicted_n %lld == usage %ld", i,
                   (long long)json_integer_value(pn), ct);
        *total += ct;
        json_decref(j);
        curl_easy_cleanup(c);
        free(out.p);
        free(body);
    }
    free(url);
}

typedef struct stream_req {
    CURL *c;
    buf out;
    char *body;
} stream_req;

/* One concurrency level: `conc` streamed requests at once. */
static void stream_level(const char *base, int conc, int k, struct curl_slist *hdr, pf_launch *l, long *total)
{
    char *url = pf_xasprintf("%s/v1/chat/completions", base);
    CURLM *m = curl_multi_init();
    stream_req *r = pf_xcalloc((size_t)conc, sizeof *r);
    for (int i = 0; i < conc; i++) {
        r[i].body = chat_body(k, 1, 100 * conc + i);
        r[i].c = post(url, r[i].body, &r[i].out, hdr);
        curl_multi_add_handle(m, r[i].c);
    }
    int running = 1;
    double t0 = pf_now();
    while (running) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
        pf_launch_status st;
        if (pf_launch_poll(l, &st) != 0) {
            result(0, "server trouble during load: %s", st.message);
            break;
        }
    }
    double took = pf_now() - t0;
    long level_tokens = 0;
    for (int i = 0; i < conc; i++) {
        long code = 0;
        curl_easy_getinfo(r[i].c, CURLINFO_RESPONSE_CODE, &code);
        long events = 0, ct = -1;
        int done = 0;
        char *text = pf_xstrdup("");
        for (char *line = r[i].out.p ? strtok(r[i].out.p, "\n") : NULL; line; line = strtok(NULL, "\n")) {
            pf_str_trim(line);
            if (!pf_str_startswith(line, "data:"))
                continue;
            const char *d = line + 5;
            while (*d == ' ')
                d++;
            if (strcmp(d, "[DONE]") == 0) {
                done = 1;
                continue;
            }
            json_t *j = json_loads(d, 0, NULL);
            json_t *u = json_object_get(j, "usage");
            if (json_is_object(u))
                ct = (long)json_integer_value(json_object_get(u, "completion_tokens"));
            const char *piece = json_string_value(
                json_object_get(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "delta"), "content"));
            if (piece && *piece) {
                events++;
                char *t = pf_xasprintf("%s%s", text, piece);
                free(text);
                text = t;
            }
            json_decref(j);
        }
        result(code == 200 && done && ct == k && events >= 1 && events <= ct,
               "stream c=%d #%d: HTTP %ld, %ld content events, usage completion_tokens %ld (asked %d)%s", conc, i,
               code, events, ct, k, done ? "" : ", no [DONE]");
        long retok = tokenize(base, text, hdr);
        if (retok >= 0)
            result(close_enough(retok, ct), "stream c=%d #%d: streamed text retokenises to %ld tokens, usage says %ld",
                   conc, i, retok, ct);
        level_tokens += ct > 0 ? ct : 0;
        free(text);
        curl_multi_remove_handle(m, r[i].c);
        curl_easy_cleanup(r[i].c);
        free(r[i].out.p);
        free(r[i].body);
    }
    printf("     level c=%d: %ld tokens in %.2f s (%.1f tok/s)\n", conc, level_tokens, took,
           took > 0 ? (double)level_tokens / took : 0);
    *total += level_tokens;
    free(r);
    curl_multi_cleanup(m);
    free(url);
}

int main(int argc, char **argv)
{
    const char *log = "launch-driver-server.log";
    int k = 16, nplain = 3;
    double deadline = 300;
    int port = 0;
    const char *expect_fatal = NULL;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (!strcmp(argv[i], "--log") && i + 1 < argc)
            log = argv[++i];
        else if (!strcmp(argv[i], "--max-tokens") && i + 1 < argc)
            k = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--requests") && i + 1 < argc)
            nplain = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--deadline") && i + 1 < argc)
            deadline = atof(argv[++i]);
        else if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--expect-fatal") && i + 1 < argc)
            expect_fatal = argv[++i];
        else {
            fprintf(stderr, "usage: launch_driver [--log F] [--max-tokens K] [--requests N] [--deadline S] -- CMD...\n");
            return 2;
        }
    }
    if (i + 1 >= argc || k < 2) {
        fprintf(stderr, "launch_driver: no server command after --\n");
        return 2;
    }
    if (port <= 0)
        port = free_port();
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    char **cmd = pf_xcalloc((size_t)(argc - i), sizeof *cmd);
    for (int j = i + 1; j < argc; j++)
        cmd[j - i - 1] = strcmp(argv[j], "{PORT}") == 0 ? portstr : argv[j];
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    pf_launch_sigs sigs;
    memset(&sigs, 0, sizeof sigs);
    pf_err err = {{0}};
    pf_launch_sigs_install(&sigs, &err);
    pf_launch_opts lo = {.log_path = log};
    pf_launch *l = pf_launch_start(cmd, &lo, &err);
    if (!l) {
        result(0, "start: %s", err.msg);
        return 1;
    }
    pf_launch_watch_signals(l, &sigs);
    pf_ready_opts ro;
    pf_ready_opts_init(&ro);
    ro.base_url = base;
    ro.deadline_s = deadline;
    ro.poll_interval_s = 0.2;
    ro.require_ready_line = true;
    pf_ready_result rr;
    pf_launch_wait_ready(l, &ro, &rr, &err);
    if (expect_fatal) {
        result(rr.status == PF_READY_FATAL && rr.fatal.sig && strcmp(rr.fatal.sig->name, expect_fatal) == 0,
               "start-up failure recognised as %s (check %s): %s", rr.fatal.sig ? rr.fatal.sig->name : "nothing",
               rr.fatal.sig ? rr.fatal.sig->check_id : "-", rr.message);
    } else {
        result(rr.status == PF_READY_OK, "ready: %s", rr.message);
    }
    if (rr.status == PF_READY_OK && !expect_fatal) {
        result(rr.t_health_s >= 0 && rr.t_models_s >= 0 && rr.t_warmup_s >= 0 && rr.t_ready_line_s >= 0,
               "readiness signals: health %.2f s, models %.2f s, warm-up %.2f s, ready line %.2f s", rr.t_health_s,
               rr.t_models_s, rr.t_warmup_s, rr.t_ready_line_s);
        struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
        long plain = 0, streamed = 0;
        plain_requests(base, nplain, k, hdr, &plain);
        static const int LEVELS[] = {1, 2, 4};
        for (size_t li = 0; li < 3 && !sigs.count; li++)
            stream_level(base, LEVELS[li], k, hdr, l, &streamed);
        result(plain == (long)nplain * k && streamed == 7L * k,
               "usage totals: %ld plain + %ld streamed tokens = %d requests x %d", plain, streamed, nplain + 7, k);
        curl_slist_free_all(hdr);
        pf_launch_status st;
        result(pf_launch_poll(l, &st) == 0, "server still healthy after load%s%s", st.message[0] ? ": " : "",
               st.message);
    }
    int pgid = pf_launch_pid(l);
    pf_launch_stop_result sr;
    int stop_rc = pf_launch_stop(l, 10, &sr);
    result(stop_rc == 0 && sr.all_gone, "stop: %s", sr.message);
    if (!expect_fatal)
        result(sr.graceful, "stop was graceful (SIGINT was enough): stage %s", sr.stage);
    result(kill(-pgid, 0) != 0, "no process of group %d remains", pgid);
    json_t *j = pf_launch_to_json(l);
    char *js = json_dumps(j, JSON_INDENT(2));
    printf("%s\n", js);
    free(js);
    json_decref(j);
    pf_launch_free(l);
    pf_launch_sigs_restore(&sigs);
    free(cmd);
    curl_global_cleanup();
    printf("launch_driver: %d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
