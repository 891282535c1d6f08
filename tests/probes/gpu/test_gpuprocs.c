/* Other GPU processes: NVML through a stand-in library (tests/fixtures/
 * fake_nvml.c), the /proc scan on a built tree and on the live /proc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testfix.h"
#include "probes/gpu/gpuprocs.h"


static const pf_gpu_proc *find(const pf_gpu_procs *g, int pid)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->p[i].pid == pid)
            return &g->p[i];
    return NULL;
}

/* "a,b" equals "b,a"; every element once. */
static bool same_set(const char *got, const char *want)
{
    if (strlen(got) != strlen(want))
        return false;
    char w[256];
    snprintf(w, sizeof w, "%s", want);
    for (char *save = NULL, *t = strtok_r(w, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char needle[64], hay[300];
        snprintf(needle, sizeof needle, ",%s,", t);
        snprintf(hay, sizeof hay, ",%s,", got);
        if (!strstr(hay, needle))
            return false;
    }
    return true;
}

static void test_nvml_ok(void **state)
{
    char self[32];
    snprintf(self, sizeof self, "%d", (int)getpid());
    setenv("FAKE_NVML_SELF", self, 1);
    setenv("FAKE_NVML_MODE", "ok", 1);
    pf_gpu_procs g;
    pf_err e = {{0}};
    if (pf_gpuprocs_nvml(PF_FAKE_NVML, "0000:01:00.0", 0, getpid(), &g, &e) != 0)
        fail_msg("%s", e.msg);
    assert_string_equal(g.source, "nvml");
    assert_int_equal(g.n, 2); /* our own pid is left out */
    assert_null(find(&g, (int)getpid()));
    assert_int_equal(find(&g, 1111)->used_bytes, 20LL << 30);
    assert_int_equal(find(&g, 3333)->used_bytes, -1); /* NVML_VALUE_NOT_AVAILABLE */
    json_t *j = pf_gpuprocs_to_json(&g);
    assert_int_equal(json_array_size(json_object_get(j, "processes")), 2);
    assert_null(json_object_get(j, "uninspectable_processes"));
    json_decref(j);
    pf_gpuprocs_free(&g);

    /* unknown bus id: falls back to the index */
    assert_int_equal(pf_gpuprocs_nvml(PF_FAKE_NVML, "0000:99:00.0", 0, getpid(), &g, &e), 0);
    assert_int_equal(g.n, 2);
    pf_gpuprocs_free(&g);
    assert_int_equal(pf_gpuprocs_nvml(PF_FAKE_NVML, "0000:99:00.0", 1, getpid(), &g, &e), -1);
    assert_non_null(strstr(e.msg, "Not Found"));
}

static void test_nvml_grow_and_failures(void **state)
{
    pf_gpu_procs g;
    pf_err e = {{0}};
    setenv("FAKE_NVML_MODE", "grow", 1);
    if (pf_gpuprocs_nvml(PF_FAKE_NVML, "", 0, getpid(), &g, &e) != 0)
        fail_msg("%s", e.msg);
    assert_true(g.n >= 2);
    pf_gpuprocs_free(&g);

    setenv("FAKE_NVML_MODE", "notsup", 1);
    assert_int_equal(pf_gpuprocs_nvml(PF_FAKE_NVML, "0000:01:00.0", 0, getpid(), &g, &e), -1);
    assert_non_null(strstr(e.msg, "Not Supported"));

    setenv("FAKE_NVML_MODE", "noinit", 1);
    assert_int_equal(pf_gpuprocs_nvml(PF_FAKE_NVML, "0000:01:00.0", 0, getpid(), &g, &e), -1);
    assert_non_null(strstr(e.msg, "nvmlInit_v2 failed: Driver Not Loaded"));

    assert_int_equal(pf_gpuprocs_nvml("/nonexistent/libnvidia-ml.so.1", NULL, 0, getpid(), &g, &e), -1);
    assert_non_null(strstr(e.msg, "NVML not available"));
}

static void mkproc(int pid, const char *comm, const char *const *targets)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%d", tf_tmpdir(), pid);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/%d/comm", tf_tmpdir(), pid);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", comm);
    fclose(f);
    snprintf(p, sizeof p, "%s/%d/fd", tf_tmpdir(), pid);
    assert_int_equal(mkdir(p, 0755), 0);
    for (int i = 0; targets[i]; i++) {
        snprintf(p, sizeof p, "%s/%d/fd/%d", tf_tmpdir(), pid, i);
        assert_int_equal(symlink(targets[i], p), 0);
    }
}

static void test_scan_tree(void **state)
{
    static const char *const server[] = {"/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia0", "/dev/nvidia-uvm",
                                         "/dev/null", NULL};
    static const char *const smi[] = {"/dev/nvidiactl", NULL};
    static const char *const persist[] = {"/dev/nvidia0", NULL};
    static const char *const multi[] = {"/dev/nvidia1", "/dev/nvidia10", "/dev/nvidia-caps/nvidia-cap1",
                                        "/dev/nvidiafoo", "socket:[1234]", NULL};
    static const char *const caps_only[] = {"/dev/nvidia-caps/nvidia-cap2", "/dev/nvidia-modeset", NULL};
    static const char *const jetson[] = {"/dev/nvgpu/igpu0/ctrl", NULL};
    static const char *const none[] = {NULL};
    mkproc(100, "python3", server);
    mkproc(200, "nvidia-smi", smi);
    mkproc(300, "nvidia-persistenced", persist);
    mkproc(500, "Xorg", multi);
    mkproc(600, "bash", caps_only);
    mkproc(700, "ollama", jetson);
    mkproc(800, "sleep", none);
    mkproc((int)getpid(), "test_gpuprocs", server);
    char junk[600];
    snprintf(junk, sizeof junk, "%s/self", tf_tmpdir());
    assert_int_equal(mkdir(junk, 0755), 0);

    pf_gpu_procs g;
    pf_err e = {{0}};
    if (pf_gpuprocs_scan(tf_tmpdir(), getpid(), &g, &e) != 0)
        fail_msg("%s", e.msg);
    assert_string_equal(g.source, "proc");
    assert_int_equal(g.n, 3);
    /* fd order is readdir order: compare as sets; duplicates collapse */
    assert_true(same_set(find(&g, 100)->nodes, "nvidia0,nvidia-uvm"));
    assert_string_equal(find(&g, 100)->comm, "python3");
    assert_int_equal(find(&g, 100)->used_bytes, -1);
    assert_true(same_set(find(&g, 500)->nodes, "nvidia1,nvidia10"));
    assert_string_equal(find(&g, 700)->nodes, "nvgpu/igpu0/ctrl");
    assert_null(find(&g, 200));
    assert_null(find(&g, 300));
    assert_null(find(&g, (int)getpid()));
    assert_int_equal(g.ignored, 1);
    json_t *j = pf_gpuprocs_to_json(&g);
    assert_int_equal(json_integer_value(json_object_get(j, "ignored_driver_helpers")), 1);
    json_decref(j);
    pf_gpuprocs_free(&g);

    assert_int_equal(pf_gpuprocs_scan("/nonexistent-proc", getpid(), &g, &e), -1);
    assert_non_null(strstr(e.msg, "/nonexistent-proc"));
}

static void test_scan_live(void **state)
{
    /* This machine has no GPU: the live scan must work and find nobody
     * (on a GPU machine it may list real processes, never us). */
    pf_gpu_procs g;
    pf_err e = {{0}};
    if (pf_gpuprocs_scan("/proc", getpid(), &g, &e) != 0)
        fail_msg("%s", e.msg);
    assert_null(find(&g, (int)getpid()));
    if (access("/dev/nvidiactl", F_OK) != 0)
        assert_int_equal(g.n, 0);
    pf_gpuprocs_free(&g);
}

static int setup(void **state)
{
    return tf_tmpdir_create("proc");
}

static int teardown(void **state)
{
    return tf_tmpdir_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nvml_ok),
        cmocka_unit_test(test_nvml_grow_and_failures),
        cmocka_unit_test(test_scan_tree),
        cmocka_unit_test(test_scan_live),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
