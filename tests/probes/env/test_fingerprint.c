/* env.fingerprint: rules on hand-built facts, then the probe on this machine
 * with a fake venv (dist-info, pyvenv.cfg, stand-in torch and NCCL built by
 * tests/probes/mem/mem.cmake + tests/fixtures/fixtures.cmake). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probes/env/fingerprint.h"
#include "probes/nccl/libnccl.h"

#define VENV PF_MEMFIX "/venv_runpath"
#define SITE VENV "/lib/python3.12/site-packages"

static void test_env_filters(void **state)
{
    assert_true(pf_fingerprint_env_wanted("NCCL_SOCKET_IFNAME"));
    assert_true(pf_fingerprint_env_wanted("GLOO_SOCKET_IFNAME"));
    assert_true(pf_fingerprint_env_wanted("TRITON_PTXAS_PATH"));
    assert_true(pf_fingerprint_env_wanted("CUDA_VISIBLE_DEVICES"));
    assert_true(pf_fingerprint_env_wanted("TORCH_CUDA_ARCH_LIST"));
    assert_true(pf_fingerprint_env_wanted("RAY_ADDRESS"));
    assert_true(pf_fingerprint_env_wanted("LD_LIBRARY_PATH"));
    assert_false(pf_fingerprint_env_wanted("PATH"));
    assert_false(pf_fingerprint_env_wanted("HOME"));
    assert_false(pf_fingerprint_env_wanted("XNCCL_FOO"));
    assert_true(pf_fingerprint_env_secret("RAY_REDIS_PASSWORD"));
    assert_true(pf_fingerprint_env_secret("VLLM_API_KEY"));
    assert_true(pf_fingerprint_env_secret("RAY_AUTH_TOKEN"));
    assert_false(pf_fingerprint_env_secret("NCCL_SOCKET_IFNAME"));
}

static json_t *good_facts(void)
{
    json_error_t je;
    json_t *f = json_loads(
        "{\"errors\": [], \"kernel\": {\"sysname\": \"Linux\", \"release\": \"6.11.0-1016-nvidia\", "
        "\"version\": \"#16\", \"machine\": \"aarch64\"}, \"hostname\": \"spark1\", \"boot_id\": \"b\","
        "\"nvidia_kernel_module\": \"580.95.05\", \"cuda_driver_api\": \"13.0\","
        "\"python\": {\"version\": \"3.12\"},"
        "\"packages\": {\"torch\": \"2.9.0+cu130\", \"sglang\": \"0.5.6\", \"vllm\": null},"
        "\"libnccl\": {\"path\": \"/v/nvidia/nccl/lib/libnccl.so.2\", \"origin\": \"torch RUNPATH\","
        " \"version\": \"2.27.7\", \"built_for_cuda\": \"13.0\", \"differs_from_wheel\": false,"
        " \"wheel\": {\"path\": \"/v/nvidia/nccl/lib/libnccl.so.2\", \"dist\": \"nvidia-nccl-cu13\","
        " \"version_code\": 22707}}}",
        0, &je);
    assert_non_null(f);
    return f;
}

static void eval_case(json_t *facts, pf_status want, const char *needle, bool remedy)
{
    char *argv[] = {"check"};
    pf_run *run = pf_run_new(1, argv);
    pf_check *c = pf_check_add(run, pf_run_add_node(run, "n", NULL), "env.fingerprint");
    pf_fingerprint_evaluate(facts, c);
    if (pf_check_status(c) != want || !strstr(pf_check_summary(c), needle))
        fail_msg("status %s summary '%s' (wanted %s with '%s')", pf_status_name(pf_check_status(c)),
                 pf_check_summary(c), pf_status_name(want), needle);
    assert_int_equal(pf_check_remedy_text(c) != NULL, remedy);
    pf_run_free(run);
    json_decref(facts);
}

static void test_rules(void **state)
{
    eval_case(good_facts(), PF_PASS,
              "Linux 6.11.0-1016-nvidia aarch64, driver 580.95.05 (CUDA 13.0), NCCL 2.27.7+cuda13.0 from torch "
              "RUNPATH, torch 2.9.0+cu130, sglang 0.5.6, Python 3.12",
              false);

    json_t *f = good_facts();
    json_t *n = json_object_get(f, "libnccl");
    json_object_set_new(n, "path", json_string("/usr/local/cuda/lib64/libnccl.so.2"));
    json_object_set_new(n, "origin", json_string("LD_LIBRARY_PATH"));
    json_object_set_new(n, "version", json_string("2.28.9"));
    json_object_set_new(n, "differs_from_wheel", json_true());
    eval_case(f, PF_WARN,
              "would load /usr/local/cuda/lib64/libnccl.so.2 (NCCL 2.28.9, via LD_LIBRARY_PATH), not the NCCL "
              "2.27.7 that torch's nvidia-nccl-cu13 wheel ships",
              true);

    /* same version, another build (e.g. a toolkit copy on LD_LIBRARY_PATH) */
    f = good_facts();
    n = json_object_get(f, "libnccl");
    json_object_set_new(n, "path", json_string("/usr/local/cuda/lib64/libnccl.so.2"));
    json_object_set_new(n, "build_id", json_string("9fcf74d93a8c3605bf7718f594d0a24366e38536"));
    json_object_set_new(json_object_get(n, "wheel"), "build_id", json_string("ef499dcea939dc594e1f28f9a53cc46da3e41399"));
    json_object_set_new(n, "differs_from_wheel", json_true());
    eval_case(f, PF_WARN, "(NCCL 2.27.7, via torch RUNPATH), another build (build-id 9fcf74d93a8c) than the one "
              "torch's nvidia-nccl-cu13 wheel ships", true);

    f = good_facts();
    json_object_set_new(f, "libnccl", json_null());
    json_object_set_new(f, "libnccl_error", json_string("no libnccl.so.2 found (searched: x)"));
    eval_case(f, PF_WARN, "torch is installed but no libnccl.so.2", true);

    f = good_facts();
    json_object_set_new(f, "libnccl", json_null());
    json_object_set_new(json_object_get(f, "packages"), "torch", json_null());
    eval_case(f, PF_PASS, "no libnccl.so.2", false);

    f = good_facts();
    json_object_set_new(f, "python", json_null());
    json_object_set_new(f, "python_error", json_string("no --venv, no $VIRTUAL_ENV, and no python3 on PATH"));
    eval_case(f, PF_WARN, "no Python environment found", true);

    f = good_facts();
    json_array_append_new(json_object_get(f, "errors"), json_string("cannot read /proc/sys/kernel/random/boot_id"));
    eval_case(f, PF_ERROR, "could not read every fact: cannot read /proc/sys/kernel/random/boot_id", false);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void dist(const char *dirname, const char *version)
{
    char p[800];
    snprintf(p, sizeof p, "%s/%s", SITE, dirname);
    mkdir(p, 0755);
    char meta[900], text[200];
    snprintf(meta, sizeof meta, "%s/METADATA", p);
    snprintf(text, sizeof text, "Metadata-Version: 2.1\nName: x\nVersion: %s\n\nlong description\n", version);
    write_file(meta, text);
}

static char conf[600];

static int setup(void **state)
{
    write_file(VENV "/pyvenv.cfg", "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.12.3\n");
    dist("torch-2.11.0+cu130.dist-info", "2.11.0+cu130");
    dist("triton-3.6.0.dist-info", "3.6.0");
    dist("sglang-0.5.6.post2.dist-info", "0.5.6.post2");
    dist("sgl_kernel-0.3.20.dist-info", "0.3.20");
    dist("flashinfer_python-0.5.3.dist-info", "0.5.3");
    dist("nvidia_nccl_cu12-2.18.1.dist-info", "2.18.1");
    dist("ray-2.52.0.dist-info", "2.52.0");
    snprintf(conf, sizeof conf, "%s/tests/fp-nccl.conf", PF_BINARY_DIR);
    write_file(conf, "NCCL_SOCKET_IFNAME=enP7s7\n# comment\nNCCL_IB_DISABLE=1\n");
    return 0;
}

static int teardown(void **state)
{
    unlink(conf);
    return 0;
}

typedef struct probe_run {
    pf_run *run;
    pf_node *node;
    pf_check *c;
    json_t *ev;
} probe_run;

static void run_probe(probe_run *r, pf_probe_opts *o)
{
    char *argv[] = {"check"};
    r->run = pf_run_new(1, argv);
    r->node = pf_run_add_node(r->run, "local", NULL);
    pf_probe_ctx ctx;
    pf_ctx_init(&ctx, o, r->run, r->node);
    pf_probe_env_fingerprint(&ctx);
    pf_ctx_free(&ctx);
    assert_int_equal(pf_run_check_count(r->run), 1);
    r->c = pf_run_check(r->run, 0);
    r->ev = pf_check_evidence(r->c);
}

static void opts_for_venv(pf_probe_opts *o)
{
    pf_probe_opts_init(o);
    o->venv = VENV;
    o->cuda_lib = "/nonexistent/libcuda.so.1"; /* the same result with or without a GPU */
}

static void test_probe_fake_venv(void **state)
{
    unsetenv("LD_LIBRARY_PATH");
    unsetenv("NCCL_HOSTID");
    setenv("NCCL_SOCKET_IFNAME", "enP7s7", 1);
    setenv("RAY_REDIS_PASSWORD", "hunter2", 1);
    setenv("NCCL_CONF_FILE", conf, 1);
    pf_probe_opts o;
    opts_for_venv(&o);
    probe_run r;
    run_probe(&r, &o);
    if (pf_check_status(r.c) != PF_PASS)
        fail_msg("%s: %s", pf_status_name(pf_check_status(r.c)), pf_check_summary(r.c));
    json_t *pk = json_object_get(r.ev, "packages");
    assert_string_equal(json_string_value(json_object_get(pk, "torch")), "2.11.0+cu130");
    assert_string_equal(json_string_value(json_object_get(pk, "sglang")), "0.5.6.post2");
    assert_string_equal(json_string_value(json_object_get(pk, "sgl-kernel")), "0.3.20");
    assert_string_equal(json_string_value(json_object_get(pk, "flashinfer-python")), "0.5.3");
    assert_string_equal(json_string_value(json_object_get(pk, "nvidia-nccl-cu12")), "2.18.1");
    assert_true(json_is_null(json_object_get(pk, "vllm")));
    assert_true(json_is_null(json_object_get(pk, "nvidia-nccl-cu13")));
    json_t *py = json_object_get(r.ev, "python");
    assert_string_equal(json_string_value(json_object_get(py, "version")), "3.12");
    assert_string_equal(json_string_value(json_object_get(py, "pyvenv_version")), "3.12.3");
    json_t *env = json_object_get(r.ev, "env");
    assert_string_equal(json_string_value(json_object_get(env, "NCCL_SOCKET_IFNAME")), "enP7s7");
    assert_string_equal(json_string_value(json_object_get(env, "RAY_REDIS_PASSWORD")), "<redacted>");
    assert_null(json_object_get(env, "PATH"));
    json_t *nc = json_object_get(r.ev, "libnccl");
    assert_string_equal(json_string_value(json_object_get(nc, "version")), "2.18.1");
    assert_string_equal(json_string_value(json_object_get(nc, "origin")), "torch RUNPATH");
    assert_int_equal(strlen(json_string_value(json_object_get(nc, "build_id"))), 40);
    /* nccl.conf: the NCCL_CONF_FILE one with its raw lines */
    json_t *confs = json_object_get(r.ev, "nccl_conf"), *mine = NULL, *x;
    size_t i;
    json_array_foreach(confs, i, x) if (!strcmp(json_string_value(json_object_get(x, "path")), conf)) mine = x;
    assert_non_null(mine);
    assert_int_equal(json_array_size(json_object_get(mine, "lines")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(mine, "lines"), 2)), "NCCL_IB_DISABLE=1");
    /* hostHash inputs as NCCL forms them */
    char host[256];
    gethostname(host, sizeof host);
    char *boot = pf_read_line("/proc/sys/kernel/random/boot_id");
    assert_non_null(boot);
    assert_string_equal(json_string_value(json_object_get(r.ev, "hostname")), host);
    assert_string_equal(json_string_value(json_object_get(r.ev, "boot_id")), boot);
    char hh[600];
    snprintf(hh, sizeof hh, "%s%s", host, boot);
    assert_string_equal(json_string_value(json_object_get(r.ev, "nccl_host_hash_input")), hh);
    free(boot);
    /* the same facts on the node, for the cluster diff */
    json_t *nf = json_object_get(pf_node_facts(r.node), "fingerprint");
    assert_non_null(nf);
    assert_true(json_equal(json_object_get(nf, "packages"), pk));
    assert_true(json_equal(json_object_get(nf, "libnccl"), nc));
    pf_run_free(r.run);

    /* NCCL_HOSTID replaces the whole hash input */
    setenv("NCCL_HOSTID", "rack1-node7", 1);
    run_probe(&r, &o);
    assert_string_equal(json_string_value(json_object_get(r.ev, "nccl_host_hash_input")), "rack1-node7");
    assert_string_equal(json_string_value(json_object_get(r.ev, "nccl_host_hash_source")), "NCCL_HOSTID");
    pf_run_free(r.run);
    unsetenv("NCCL_HOSTID");
    pf_probe_opts_free(&o);
}

static void test_probe_ld_library_path_override(void **state)
{
    setenv("NCCL_CONF_FILE", conf, 1);
    setenv("LD_LIBRARY_PATH", PF_MEMFIX "/ldlp", 1);
    pf_probe_opts o;
    opts_for_venv(&o);
    probe_run r;
    run_probe(&r, &o);
    assert_int_equal(pf_check_status(r.c), PF_WARN);
    assert_non_null(strstr(pf_check_summary(r.c), "NCCL 2.27.7, via LD_LIBRARY_PATH"));
    assert_non_null(strstr(pf_check_summary(r.c), "not the NCCL 2.18.1"));
    assert_non_null(pf_check_remedy_text(r.c));
    pf_run_free(r.run);

    /* the shared entry for other probes */
    char *argv[] = {"check"};
    pf_run *run = pf_run_new(1, argv);
    pf_probe_ctx ctx;
    pf_ctx_init(&ctx, &o, run, pf_run_add_node(run, "local", NULL));
    assert_int_equal(pf_libnccl_version(&ctx), 22707);
    unsetenv("LD_LIBRARY_PATH");
    assert_int_equal(pf_libnccl_version(&ctx), 21801);
    pf_ctx_free(&ctx);
    pf_run_free(run);
    pf_probe_opts_free(&o);
}

static void test_probe_unreadable_fact(void **state)
{
    setenv("NCCL_CONF_FILE", "/nonexistent/nccl.conf", 1);
    pf_probe_opts o;
    opts_for_venv(&o);
    probe_run r;
    run_probe(&r, &o);
    assert_int_equal(pf_check_status(r.c), PF_ERROR);
    assert_non_null(strstr(pf_check_summary(r.c), "NCCL_CONF_FILE=/nonexistent/nccl.conf does not exist"));
    pf_run_free(r.run);
    unsetenv("NCCL_CONF_FILE");

    /* a venv that does not exist: no packages, a warning that says why */
    o.venv = "/nonexistent/venv";
    run_probe(&r, &o);
    assert_int_equal(pf_check_status(r.c), PF_WARN);
    assert_non_null(strstr(pf_check_summary(r.c), "/nonexistent/venv"));
    pf_run_free(r.run);
    pf_probe_opts_free(&o);
}

/* On a machine with a real server environment (the H100 machine:
 * PF_TEST_VENV=/opt/torch/.venv): the loaded NCCL is readable both ways
 * and agrees, and the facts are printed for the verification log. */
static void test_real_venv(void **state)
{
    const char *venv = getenv("PF_TEST_VENV");
    if (!venv || !*venv)
        skip();
    pf_probe_opts o;
    pf_probe_opts_init(&o);
    o.venv = venv;
    unsetenv("NCCL_CONF_FILE");
    probe_run r;
    run_probe(&r, &o);
    printf("# %s: %s\n", pf_status_name(pf_check_status(r.c)), pf_check_summary(r.c));
    char *dump = json_dumps(r.ev, JSON_INDENT(1) | JSON_SORT_KEYS);
    printf("%s\n", dump);
    free(dump);
    assert_true(pf_check_status(r.c) == PF_PASS || pf_check_status(r.c) == PF_WARN);
    json_t *nc = json_object_get(r.ev, "libnccl");
    assert_true(json_is_object(nc));
    if (!json_is_true(json_object_get(nc, "static_in_torch")))
        assert_int_equal(json_integer_value(json_object_get(nc, "ncclGetVersion")),
                         json_integer_value(json_object_get(nc, "banner_version_code")));
    pf_run_free(r.run);
    pf_probe_opts_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_filters),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_probe_fake_venv),
        cmocka_unit_test(test_probe_ld_library_path_override),
        cmocka_unit_test(test_probe_unreadable_fact),
        cmocka_unit_test(test_real_venv),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
