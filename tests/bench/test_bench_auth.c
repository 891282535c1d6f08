/* The API key reaches every request `preflight bench` makes, and nowhere
 * else: the real client binary (tests/pf_bench) against the scripted server
 * (tests/sse_server --headers-log --require-auth), which logs the
 * Authorization header of every request it gets and answers 401 without it.
 * Endpoints covered: /v1/models, /v1/chat/completions, /v1/completions,
 * /generate, /server_info, /metrics, and --launch's /health, /v1/models and
 * warm-up.  Then the record, the JSONL files and the -v output must not
 * contain the key. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testfix.h"

#define SERVER PF_BINARY_DIR "/tests/sse_server"
#define CLIENT PF_BINARY_DIR "/tests/pf_bench"

/* Distinctive, so a leak anywhere is found by a plain substring search. */
#define KEY "sk-pf-SECRET-0a1b2c3d"
#define RAWKEY "raw-SECRET-9z8y7x"

static int run_client(const char *const *args)
{
    return tf_run(CLIENT, args, tf_path("out.txt"), 120);
}

/* Every line of the headers log carries `auth`; returns a bitmask of the
 * endpoints seen (in the order of `paths`). */
static unsigned check_headers_log(const char *auth, const char *const *paths)
{
    FILE *f = fopen(tf_path("headers.jsonl"), "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    unsigned seen = 0;
    int n = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        assert_non_null(o);
        const char *path = json_string_value(json_object_get(o, "path"));
        const char *got = json_string_value(json_object_get(o, "authorization"));
        if (!got || strcmp(got, auth) != 0)
            fail_msg("%s %s arrived with Authorization '%s', wanted '%s'",
                     json_string_value(json_object_get(o, "method")), path, got ? got : "(none)", auth);
        for (int i = 0; paths[i]; i++)
            if (strcmp(path, paths[i]) == 0)
                seen |= 1u << i;
        json_decref(o);
        n++;
    }
    free(line);
    fclose(f);
    assert_true(n > 0);
    return seen;
}

static void assert_paths_seen(unsigned seen, const char *const *paths)
{
    for (int i = 0; paths[i]; i++)
        if (!(seen & (1u << i)))
            fail_msg("no request to %s was made (the test would prove nothing about it)", paths[i]);
}

/* None of the files the run wrote, nor its output, holds `secret`. */
static void assert_nowhere(const char *secret)
{
    static const char *const files[] = {"record.json", "requests.jsonl", "sglang.jsonl", "out.txt",
                                        NULL};
    for (int i = 0; files[i]; i++) {
        char *t = tf_slurp(tf_path(files[i]));
        if (strstr(t, secret))
            fail_msg("%s contains the API key:\n%s", files[i], t);
        free(t);
    }
}

static void start(tf_server *s, const char *require)
{
    const char *extra[] = {"--headers-log", tf_path("headers.jsonl"), "--require-auth", require,
                           "--ttft-ms", "2", "--itl-ms", "1", NULL};
    tf_server_start(s, extra);
}

static void cleanup_outputs(void)
{
    static const char *const files[] = {"record.json", "requests.jsonl", "sglang.jsonl", "out.txt",
                                        NULL};
    for (int i = 0; files[i]; i++)
        remove(tf_path(files[i]));
}

static void openai_key_on_every_endpoint(void **state)
{
    (void)state;
    cleanup_outputs();
    setenv("OPENAI_API_KEY", KEY, 1);
    unsetenv("API_KEY");
    tf_server s;
    start(&s, "Bearer " KEY);
    /* chat, model discovery (no --model), /metrics scraping, /server_info
     * (sglang backends), -v, and every file output */
    const char *args[] = {"--url", s.url, "--backend", "sglang-oai-chat", "--num-prompts", "6",
                          "--concurrency", "2", "--random-input-len", "8", "--random-output-len", "8",
                          "--metrics-interval", "0.05", "--no-progress", "-v",
                          "--json", tf_path("record.json"), "--requests-jsonl", tf_path("requests.jsonl"),
                          "--sglang-jsonl", tf_path("sglang.jsonl"), NULL};
    setenv("PF_BENCH_CURL_VERBOSE", "1", 1); /* curl's trace of every request, on stderr */
    int rc = run_client(args);
    unsetenv("PF_BENCH_CURL_VERBOSE");
    tf_server_stop(&s);
    if (rc != 0) {
        char *o = tf_slurp(tf_path("out.txt"));
        fail_msg("pf_bench exited %d:\n%s", rc, o);
    }
    static const char *const paths[] = {"/v1/models", "/v1/chat/completions", "/metrics",
                                        "/server_info", NULL};
    assert_paths_seen(check_headers_log("Bearer " KEY, paths), paths);
    assert_nowhere(KEY);
    char *o = tf_slurp(tf_path("out.txt"));
    assert_non_null(strstr(o, "> Authorization: <redacted>")); /* the trace ran, without the key */
    free(o);
    unsetenv("OPENAI_API_KEY");
}

/* $API_KEY goes as it is (bench_serving), on /v1/completions and /generate. */
static void api_key_verbatim_on_completions_and_generate(void **state)
{
    (void)state;
    unsetenv("OPENAI_API_KEY");
    setenv("API_KEY", RAWKEY, 1);
    static const char *const backends[] = {"sglang-oai", "sglang"};
    static const char *const want[] = {"/v1/completions", "/generate"};
    for (int b = 0; b < 2; b++) {
        cleanup_outputs();
        tf_server s;
        start(&s, RAWKEY);
        const char *args[] = {"--url", s.url, "--backend", backends[b], "--model", "m",
                              "--num-prompts", "3", "--random-input-len", "8",
                              "--random-output-len", "4", "--no-progress",
                              "--json", tf_path("record.json"), NULL};
        int rc = run_client(args);
        tf_server_stop(&s);
        if (rc != 0) {
            char *o = tf_slurp(tf_path("out.txt"));
            fail_msg("%s: pf_bench exited %d:\n%s", backends[b], rc, o);
        }
        const char *paths[] = {want[b], NULL};
        assert_paths_seen(check_headers_log(RAWKEY, paths), paths);
        assert_nowhere(RAWKEY);
    }
    unsetenv("API_KEY");
}

/* --api-key-env NAME: that variable, as a bearer token; unset is a usage
 * error naming it, never a run without the key. */
static void api_key_env_flag(void **state)
{
    (void)state;
    unsetenv("OPENAI_API_KEY");
    unsetenv("API_KEY");
    cleanup_outputs();
    setenv("PF_TEST_SERVING_KEY", KEY, 1);
    tf_server s;
    start(&s, "Bearer " KEY);
    const char *args[] = {"--url", s.url, "--model", "m", "--num-prompts", "2",
                          "--random-input-len", "8", "--random-output-len", "4", "--no-progress",
                          "--api-key-env", "PF_TEST_SERVING_KEY", "--json", tf_path("record.json"),
                          NULL};
    assert_int_equal(run_client(args), 0);
    tf_server_stop(&s);
    static const char *const paths[] = {"/v1/completions", NULL};
    assert_paths_seen(check_headers_log("Bearer " KEY, paths), paths);
    assert_nowhere(KEY);
    /* the variable's name is no secret: the record keeps it */
    char *r = tf_slurp(tf_path("record.json"));
    assert_non_null(strstr(r, "--api-key-env PF_TEST_SERVING_KEY"));
    free(r);

    unsetenv("PF_TEST_SERVING_KEY");
    const char *unset[] = {"--url", "http://127.0.0.1:1", "--api-key-env", "PF_TEST_SERVING_KEY", NULL};
    assert_int_equal(run_client(unset), 2);
    char *o = tf_slurp(tf_path("out.txt"));
    if (!strstr(o, "--api-key-env PF_TEST_SERVING_KEY") || !strstr(o, "not set"))
        fail_msg("unset --api-key-env variable: %s", o);
    free(o);
}

/* --launch: the readiness probes and the warm-up carry the key too, and the
 * server's own secret flag and a --header Authorization stay out of the
 * record. */
static void launch_probes_carry_the_key(void **state)
{
    (void)state;
    unsetenv("OPENAI_API_KEY");
    unsetenv("API_KEY");
    cleanup_outputs();
    tf_server probe;
    tf_server_start(&probe, NULL); /* just to learn a free port */
    char port[16], url[64];
    snprintf(port, sizeof port, "%d", probe.port);
    tf_server_stop(&probe);
    snprintf(url, sizeof url, "http://127.0.0.1:%s", port);
    remove(tf_path("headers.jsonl"));
    const char *args[] = {"--url", url, "--header", "Authorization: Bearer " KEY, "--num-prompts", "2",
                          "--random-input-len", "8", "--random-output-len", "4", "--no-progress", "-v",
                          "--json", tf_path("record.json"), "--launch-log", tf_path("server.log"),
                          "--launch", "--", SERVER, "--port", port, "--headers-log",
                          tf_path("headers.jsonl"), "--require-auth", "Bearer " KEY, NULL};
    int rc = run_client(args);
    if (rc != 0) {
        char *o = tf_slurp(tf_path("out.txt"));
        fail_msg("pf_bench --launch exited %d:\n%s", rc, o);
    }
    /* readiness: /health, /v1/models, a warm-up completion; then the load */
    static const char *const paths[] = {"/health", "/v1/models", "/v1/completions", NULL};
    assert_paths_seen(check_headers_log("Bearer " KEY, paths), paths);
    assert_nowhere(KEY);
    char *r = tf_slurp(tf_path("record.json"));
    assert_non_null(strstr(r, "<redacted>"));
    free(r);
}

static int setup(void **state)
{
    (void)state;
    return tf_tmpdir_create("bench_auth");
}

static int teardown(void **state)
{
    (void)state;
    return tf_tmpdir_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(openai_key_on_every_endpoint, tf_kill_live_server),
        cmocka_unit_test_teardown(api_key_verbatim_on_completions_and_generate, tf_kill_live_server),
        cmocka_unit_test_teardown(api_key_env_flag, tf_kill_live_server),
        cmocka_unit_test_teardown(launch_probes_carry_the_key, tf_kill_live_server),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
