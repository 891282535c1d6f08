/* logwatch.c -- table-driven classification of server log lines.
 *
 * The texts come from the sources named in docs/launch.md (NCCL socket.cc,
 * gloo tcp/device.cc, SGLang model_runner/pool_configurator, vLLM
 * gpu_worker, ptxas 12.8-13.0 runs, Ray autoscaler) and from real logs quoted
 * in public issues; tests/test_logwatch.c replays those lines.
 */
#include "bench/logwatch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

/* ---- signatures ---- */

#define SIG(var, nm, chk, lv, wh, rem) \
    static const pf_logwatch_sig var = {nm, chk, lv, wh, rem}

SIG(s_ready_sglang, "ready.sglang", NULL, PF_LOGWATCH_READY,
    "SGLang finished its own warm-up request and marked itself Up", NULL);
SIG(s_ready_llamacpp, "ready.llamacpp", NULL, PF_LOGWATCH_READY,
    "llama.cpp's server loaded the model and entered its main loop", NULL);
SIG(s_ready_vllm, "ready.vllm", NULL, PF_LOGWATCH_READY,
    "vLLM's engine is up and its API server is starting", NULL);

SIG(s_no_kernel, "cuda.no_kernel_image", "gpu.kernels", PF_LOGWATCH_FATAL,
    "a CUDA library has neither SASS nor PTX for this GPU's compute capability",
    "Install builds of torch / sgl-kernel / flashinfer (whichever the traceback names) compiled for "
    "this GPU's compute capability; `preflight check` (gpu.kernels) lists the libraries that lack it");
SIG(s_torch_arch, "torch.arch_unsupported", "gpu.kernels", PF_LOGWATCH_HINT,
    "PyTorch warns that its wheel was not built for this GPU; kernels may fail later",
    "Use a PyTorch wheel whose arch list covers this GPU (see `preflight check` gpu.kernels)");
SIG(s_ptxas_arch, "ptxas.unknown_arch", "toolchain.ptxas", PF_LOGWATCH_FATAL,
    "the ptxas that Triton runs does not know this GPU architecture",
    "Point Triton at a CUDA 13 ptxas: TRITON_PTXAS_BLACKWELL_PATH (arch >= 10.0, Triton >= 3.6) "
    "and TRITON_PTXAS_PATH = /usr/local/cuda/bin/ptxas; `preflight check` (toolchain.ptxas) says which");
SIG(s_ptx_version, "ptxas.ptx_version", "toolchain.ptxas", PF_LOGWATCH_FATAL,
    "ptxas rejected the PTX ISA version or target it was given",
    "Use a ptxas from a CUDA release that supports both the PTX .version and the target "
    "(see `preflight check` toolchain.ptxas)");
SIG(s_nvcc_arch, "nvcc.unsupported_arch", "toolchain.ptxas", PF_LOGWATCH_FATAL,
    "nvcc does not support the requested GPU architecture",
    "Build with a CUDA toolkit that supports this architecture, or fix TORCH_CUDA_ARCH_LIST");

SIG(s_wrong_type, "nccl.wrong_type", "net.transport", PF_LOGWATCH_FATAL,
    "one NCCL rank uses NET/IB (RoCE) while its peer uses NET/Socket",
    "Make every node use the same transport: export NCCL_NET=Socket, NCCL_IB_DISABLE=1 and "
    "NCCL_NET_PLUGIN=none on every node before `ray start` (see `preflight check` net.transport)");
SIG(s_wrong_type_hang, "nccl.wrong_socket_type", "net.transport", PF_LOGWATCH_HINT,
    "NCCL >= 2.30.7 discards a peer that uses another transport and keeps waiting (a hang follows)",
    "Export NCCL_NET=Socket and NCCL_IB_DISABLE=1 on every node (net.transport)");

SIG(s_gloo_loop, "gloo.loopback", "net.gloo", PF_LOGWATCH_FATAL,
    "Gloo advertised a 127.x address, so peers on other hosts connect to themselves",
    "Set GLOO_SOCKET_IFNAME to an interface that all nodes can reach, or make the hostname resolve "
    "to a routable address instead of 127.0.1.1 in /etc/hosts (see `preflight check` net.gloo)");
SIG(s_gloo_iface, "gloo.no_such_interface", "net.gloo", PF_LOGWATCH_FATAL,
    "GLOO_SOCKET_IFNAME names an interface this node does not have (exact names, no ^ or prefixes)",
    "Set GLOO_SOCKET_IFNAME to an exact interface name present on this node (net.gloo)");
SIG(s_gloo_mesh, "gloo.connect_failed", "net.gloo", PF_LOGWATCH_FATAL,
    "Gloo could not build its full mesh between the ranks",
    "Choose a GLOO_SOCKET_IFNAME whose addresses every node can reach (net.gloo)");
SIG(s_gloo_fallback, "gloo.loopback_fallback", "net.gloo", PF_LOGWATCH_HINT,
    "the hostname did not resolve to a usable address, so Gloo uses 127.0.0.1",
    "Set GLOO_SOCKET_IFNAME, or fix the hostname's entry in /etc/hosts (net.gloo)");

SIG(s_fe80, "nccl.fe80_unreachable", "net.nccl_ifname", PF_LOGWATCH_FATAL,
    "NCCL picked an interface with only an IPv6 link-local (fe80) address that peers cannot reach",
    "Set NCCL_SOCKET_IFNAME to exact names (=iface) or NCCL_SOCKET_FAMILY=AF_INET "
    "(see `preflight check` net.nccl_ifname)");
SIG(s_no_iface, "nccl.no_interface", "net.nccl_ifname", PF_LOGWATCH_FATAL,
    "NCCL found no interface matching NCCL_SOCKET_IFNAME",
    "Fix NCCL_SOCKET_IFNAME on this node: no spaces, exact names with '=', '^' only for exclusion "
    "(net.nccl_ifname)");
SIG(s_nccl_retries, "nccl.connect_failed", "net.nccl_ifname", PF_LOGWATCH_FATAL,
    "an NCCL socket connect gave up: the peer's address is not reachable from here",
    "Restrict NCCL_SOCKET_IFNAME to interfaces every node can reach (net.nccl_ifname)");
SIG(s_nccl_retry, "nccl.connect_retrying", "net.nccl_ifname", PF_LOGWATCH_HINT,
    "NCCL is retrying a connect (it gives up after about 60 s)",
    "Check that the address NCCL connects to is reachable from this node (net.nccl_ifname)");

SIG(s_nccl_ver, "nccl.version_mismatch", "env.fingerprint", PF_LOGWATCH_FATAL,
    "ranks run different NCCL versions (the patch level must match too)",
    "Install the same libnccl (same version and build) on every node; compare `preflight check` "
    "env.fingerprint across nodes");
SIG(s_nccl_ver_ras, "nccl.version_mismatch_ras", "env.fingerprint", PF_LOGWATCH_HINT,
    "NCCL's RAS subsystem saw a peer with another NCCL version",
    "Install the same libnccl on every node (env.fingerprint)");

SIG(s_kv_mem, "sglang.not_enough_memory", "mem.headroom", PF_LOGWATCH_FATAL,
    "after loading the weights no GPU memory is left for the KV cache under --mem-fraction-static",
    "Free GPU memory (other processes; on unified-memory boards drop the page cache), raise "
    "--mem-fraction-static, or give this node fewer layers (see `preflight check` mem.headroom)");
SIG(s_free_mem, "vllm.free_memory_less_than_desired", "mem.headroom", PF_LOGWATCH_FATAL,
    "free GPU memory at start-up is below the requested utilization",
    "Free GPU memory or lower --gpu-memory-utilization (see `preflight check` mem.headroom)");
SIG(s_unbalanced, "sglang.memory_unbalanced", "mem.headroom", PF_LOGWATCH_FATAL,
    "GPUs of one server have very different free memory (another process holds one)",
    "Stop the other processes on the GPU (see `preflight check` mem.headroom)");
SIG(s_oom, "cuda.out_of_memory", "mem.headroom", PF_LOGWATCH_FATAL,
    "a GPU (or unified-memory) allocation failed",
    "Free GPU memory, lower --mem-fraction-static / --gpu-memory-utilization, shorten "
    "--context-length or --max-running-requests (see `preflight check` mem.headroom)");

SIG(s_ray_infeasible, "ray.infeasible", "cluster.ray", PF_LOGWATCH_FATAL,
    "Ray cannot place the requested actors or bundles on this cluster",
    "Check `ray status`: every node must have joined with its GPU counted (ray start --num-gpus=1 on "
    "boards Ray does not detect), and the engine's node must hold a bundle (cluster.ray)");
SIG(s_ray_pending, "ray.pending", "cluster.ray", PF_LOGWATCH_HINT,
    "Ray is still waiting for resources for an actor or placement group",
    "Check `ray status` for missing nodes or GPUs (cluster.ray)");

SIG(s_port, "net.address_in_use", "net.port", PF_LOGWATCH_FATAL,
    "a port the server needs is already taken",
    "Pick a free --port (and --nccl-port / --dist-init-addr port) or stop the process holding it "
    "(`ss -ltnp`)");

typedef struct sig_row {
    const pf_logwatch_sig *sig;
    const char *all[4];    /* every needle must occur */
    const char *unless[4]; /* none of these may occur */
} sig_row;

/* First match wins: specific rows first, catch-alls last.  Needles are
 * compared ASCII case-insensitively. */
static const sig_row ROWS[] = {
    {&s_ready_sglang, {"The server is fired up and ready to roll"}, {0}},
    {&s_ready_llamacpp, {"server is listening on", "starting the main loop"}, {0}},
    {&s_ready_llamacpp, {"llama_server: listening on http"}, {0}},
    {&s_ready_vllm, {"Starting vLLM API server"}, {0}},

    {&s_no_kernel, {"no kernel image is available for execution on the device"}, {0}},
    {&s_no_kernel, {"cudaErrorNoKernelImageForDevice"}, {0}},
    {&s_no_kernel, {"CUDA_ERROR_NO_BINARY_FOR_GPU"}, {0}},
    {&s_torch_arch, {"with CUDA capability sm_", "is not compatible with the current PyTorch"}, {0}},

    {&s_ptxas_arch, {"is not defined for option 'gpu-name'"}, {0}},
    {&s_ptx_version, {"PTX .version", "does not support .target"}, {0}},
    {&s_ptx_version, {"ptxas", "Unsupported .version"}, {0}},
    {&s_ptx_version, {"cannot be compiled to future architecture"}, {0}},
    {&s_ptx_version, {"Ptx assembly aborted due to errors"}, {0}},
    {&s_nvcc_arch, {"nvcc fatal", "Unsupported gpu architecture"}, {0}},

    {&s_wrong_type, {"wrong type 3 != 4"}, {0}},
    {&s_wrong_type, {"wrong type 4 != 3"}, {0}},
    {&s_wrong_type_hang, {"wrong socket type", "discarding"}, {0}},

    {&s_gloo_loop, {"gloo", "Connection refused", "127."}, {0}},
    {&s_gloo_loop, {"gloo", "timed out connecting", "127."}, {0}},
    {&s_gloo_iface, {"Unable to find address for"}, {0}},
    {&s_gloo_mesh, {"Gloo connectFullMesh failed"}, {0}},
    {&s_gloo_fallback, {"Using the loopback address as fallback"}, {0}},

    {&s_fe80, {"Network is unreachable", "fe80"}, {0}},
    {&s_no_iface, {"no socket interface found"}, {0}},
    {&s_no_iface, {"NET/Socket : no interface found"}, {0}},
    {&s_no_iface, {"No usable listening interface found"}, {0}},
    {&s_nccl_retries, {"exceeded error retry count"}, {0}},
    {&s_nccl_retry, {"connect to", "returned", "retrying"}, {0}},

    {&s_nccl_ver, {"Mismatched NCCL version"}, {0}},
    {&s_nccl_ver_ras, {"NCCL version mismatch with remote peer"}, {0}},

    {&s_kv_mem, {"Not enough memory. Please try to increase --mem-fraction-static"}, {0}},
    {&s_kv_mem, {"Not enough memory to allocate KV cache"}, {0}},
    {&s_kv_mem, {"leave no GPU memory for the KV cache"}, {0}},
    {&s_free_mem, {"Free memory on device", "less than desired"}, {0}},
    {&s_unbalanced, {"memory capacity is unbalanced"}, {0}},
    {&s_oom, {"CUDA out of memory"}, {0}},
    {&s_oom, {"CUDA error: out of memory"}, {0}},
    {&s_oom, {"cudaErrorMemoryAllocation"}, {0}},
    {&s_oom, {"OutOfMemoryError"}, {0}},
    /* The bare phrase also shows up in advice ("... to avoid out of memory"),
     * so only lines that do not read as advice or warnings count. */
    {&s_oom, {"out of memory"}, {"avoid", "may ", "might", "warning"}},

    {&s_ray_infeasible, {"No available node types can fulfill resource request"}, {0}},
    {&s_ray_infeasible, {"placement group", "infeasible"}, {0}},
    {&s_ray_infeasible, {"not found in any placement group bundle"}, {0}},
    {&s_ray_infeasible, {"requires a placement group, but none was detected"}, {0}},
    {&s_ray_infeasible, {"Cannot provide a placement group"}, {0}},
    {&s_ray_pending, {"cannot be scheduled right now"}, {0}},
    {&s_ray_pending, {"Waiting for creating a placement group"}, {0}},

    {&s_port, {"Address already in use"}, {0}},
    {&s_port, {"couldn't bind HTTP server socket"}, {0}},
    {&s_port, {"[Errno 98]"}, {0}},
};

#define NROWS (sizeof ROWS / sizeof ROWS[0])

const char *pf_logwatch_level_name(pf_logwatch_level lv)
{
    switch (lv) {
    case PF_LOGWATCH_READY: return "ready";
    case PF_LOGWATCH_HINT: return "hint";
    case PF_LOGWATCH_FATAL: return "fatal";
    }
    return "?";
}

static bool row_matches(const sig_row *r, const char *line)
{
    for (size_t i = 0; i < 4 && r->all[i]; i++)
        if (!strcasestr(line, r->all[i]))
            return false;
    for (size_t i = 0; i < 4 && r->unless[i]; i++)
        if (strcasestr(line, r->unless[i]))
            return false;
    return true;
}

const pf_logwatch_sig *pf_logwatch_match(const char *line)
{
    if (!line || !*line)
        return NULL;
    for (size_t i = 0; i < NROWS; i++)
        if (row_matches(&ROWS[i], line))
            return ROWS[i].sig;
    return NULL;
}

/* Every signature once, in table order (test_logwatch checks that this list
 * and ROWS name the same signatures). */
static const pf_logwatch_sig *const SIGS[] = {
    &s_ready_sglang, &s_ready_llamacpp, &s_ready_vllm,
    &s_no_kernel, &s_torch_arch, &s_ptxas_arch, &s_ptx_version, &s_nvcc_arch,
    &s_wrong_type, &s_wrong_type_hang,
    &s_gloo_loop, &s_gloo_iface, &s_gloo_mesh, &s_gloo_fallback,
    &s_fe80, &s_no_iface, &s_nccl_retries, &s_nccl_retry,
    &s_nccl_ver, &s_nccl_ver_ras,
    &s_kv_mem, &s_free_mem, &s_unbalanced, &s_oom,
    &s_ray_infeasible, &s_ray_pending,
    &s_port,
};

size_t pf_logwatch_row_count(void) { return NROWS; }

const pf_logwatch_sig *pf_logwatch_row_sig(size_t i) { return i < NROWS ? ROWS[i].sig : NULL; }

const pf_logwatch_sig *const *pf_logwatch_signatures(size_t *count)
{
    if (count)
        *count = sizeof SIGS / sizeof SIGS[0];
    return SIGS;
}

/* ---- incremental watcher ---- */

/* Bytes carried over from one segment of an overlong line to the next, so a
 * needle cut by the segment boundary is still found. */
#define SEG_OVERLAP 256
#define LINE_SIGS_MAX 16

struct pf_logwatch {
    char buf[PF_LOGWATCH_LINE_MAX + 1];
    size_t len;
    bool continuation;       /* buf continues an overlong line */
    bool prev_cr;            /* last byte was '\r' (fold "\r\n") */
    const pf_logwatch_sig *line_sigs[LINE_SIGS_MAX]; /* hit in this overlong line */
    size_t nline_sigs;
    unsigned long lines;
    unsigned long long bytes;
    char **ring;
    size_t keep, ring_n, ring_next;
    char last[PF_LOGWATCH_SHOW_MAX];
    pf_logwatch_hit *hits;
    size_t nhits, hits_cap;
};

pf_logwatch *pf_logwatch_new(size_t keep_lines)
{
    pf_logwatch *w = pf_xcalloc(1, sizeof *w);
    w->keep = keep_lines ? keep_lines : 20;
    w->ring = pf_xcalloc(w->keep, sizeof *w->ring);
    return w;
}

void pf_logwatch_free(pf_logwatch *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->keep; i++)
        free(w->ring[i]);
    free(w->ring);
    free(w->hits);
    free(w);
}

/* Drop ANSI escape sequences (colored log levels) and turn control bytes and
 * NULs into spaces, in place; returns the new length.  Trailing blanks are
 * trimmed only at the end of a line: inside an overlong line they are part
 * of the text the next segment continues. */
static size_t sanitise(char *s, size_t n, bool trim)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0x1b && i + 1 < n && s[i + 1] == '[') {
            i += 2;
            while (i < n && !((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7e))
                i++;
            continue;
        }
        s[o++] = (c < 0x20 && c != '\t') || c == 0x7f ? ' ' : (char)c;
    }
    while (trim && o > 0 && (s[o - 1] == ' ' || s[o - 1] == '\t'))
        o--;
    s[o] = '\0';
    return o;
}

static void copy_show(char *dst, const char *src)
{
    size_t n = pf_strlcpy(dst, src, PF_LOGWATCH_SHOW_MAX);
    if (n >= PF_LOGWATCH_SHOW_MAX) /* mark the cut */
        memcpy(dst + PF_LOGWATCH_SHOW_MAX - 4, "...", 4);
}

static int record_hit(pf_logwatch *w, const pf_logwatch_sig *sig, const char *line, double t)
{
    for (size_t i = 0; i < w->nline_sigs; i++)
        if (w->line_sigs[i] == sig)
            return 0; /* same overlong line, seen in an earlier segment */
    if (w->nline_sigs < LINE_SIGS_MAX)
        w->line_sigs[w->nline_sigs++] = sig;
    for (size_t i = 0; i < w->nhits; i++) {
        if (w->hits[i].sig == sig) {
            w->hits[i].count++;
            return 0;
        }
    }
    if (w->nhits == w->hits_cap) {
        w->hits_cap = w->hits_cap ? w->hits_cap * 2 : 8;
        w->hits = pf_xrealloc(w->hits, w->hits_cap * sizeof *w->hits);
    }
    pf_logwatch_hit *h = &w->hits[w->nhits++];
    memset(h, 0, sizeof *h);
    h->sig = sig;
    copy_show(h->line, line);
    h->line_no = w->lines;
    h->t = t;
    h->count = 1;
    return sig->level == PF_LOGWATCH_FATAL ? 1 : 0;
}

static void remember_line(pf_logwatch *w, const char *line)
{
    copy_show(w->last, line);
    free(w->ring[w->ring_next]);
    w->ring[w->ring_next] = pf_xstrdup(w->last);
    w->ring_next = (w->ring_next + 1) % w->keep;
    if (w->ring_n < w->keep)
        w->ring_n++;
}

/* Match what is in buf.  `complete`: the line ended (else it is one segment
 * of an overlong line and more follows). */
static int process(pf_logwatch *w, bool complete, double t)
{
    int fatal = 0;
    size_t n = sanitise(w->buf, w->len, complete);
    if (n > 0) {
        if (!w->continuation) {
            w->lines++;
            remember_line(w, w->buf);
        }
        const pf_logwatch_sig *sig = pf_logwatch_match(w->buf);
        if (sig)
            fatal = record_hit(w, sig, w->buf, t);
    }
    if (complete) {
        w->len = 0;
        w->continuation = false;
        w->nline_sigs = 0;
    } else {
        size_t keep = n < SEG_OVERLAP ? n : SEG_OVERLAP;
        memmove(w->buf, w->buf + n - keep, keep);
        w->len = keep;
        /* An empty first segment (all junk) leaves no line to continue. */
        w->continuation = w->continuation || n > 0;
    }
    return fatal;
}

int pf_logwatch_feed(pf_logwatch *w, const char *buf, size_t len, double t)
{
    int fatal = 0;
    w->bytes += len;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (c == '\n' || c == '\r') {
            bool fold = c == '\n' && w->prev_cr;
            w->prev_cr = c == '\r';
            if (!fold)
                fatal += process(w, true, t);
            continue;
        }
        w->prev_cr = false;
        w->buf[w->len++] = c;
        if (w->len == PF_LOGWATCH_LINE_MAX)
            fatal += process(w, false, t);
    }
    return fatal;
}

int pf_logwatch_finish(pf_logwatch *w, double t)
{
    return w->len > 0 ? process(w, true, t) : 0;
}

size_t pf_logwatch_hit_count(const pf_logwatch *w) { return w->nhits; }

const pf_logwatch_hit *pf_logwatch_hit_at(const pf_logwatch *w, size_t i)
{
    return i < w->nhits ? &w->hits[i] : NULL;
}

const pf_logwatch_hit *pf_logwatch_first(const pf_logwatch *w, pf_logwatch_level lv)
{
    for (size_t i = 0; i < w->nhits; i++)
        if (w->hits[i].sig->level == lv)
            return &w->hits[i];
    return NULL;
}

unsigned long pf_logwatch_line_count(const pf_logwatch *w) { return w->lines; }

const char *pf_logwatch_last_line(const pf_logwatch *w) { return w->last; }

size_t pf_logwatch_tail(const pf_logwatch *w, const char **lines, size_t max)
{
    size_t n = w->ring_n < max ? w->ring_n : max;
    /* oldest of the n newest */
    size_t start = (w->ring_next + w->keep - n) % w->keep;
    for (size_t i = 0; i < n; i++)
        lines[i] = w->ring[(start + i) % w->keep];
    return n;
}

unsigned long long pf_logwatch_bytes(const pf_logwatch *w) { return w->bytes; }
