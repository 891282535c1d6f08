/* fake_nccl_tcp.c -- a stand-in libnccl.so.2 with the API subset the NCCL
 * probe uses, implemented over TCP on 127.0.0.1, so CI exercises every path
 * of the probe except the GPU: non-blocking init (ncclInProgress, polled),
 * a root that waits for ranks (a rank that never joins hangs it until the
 * probe aborts), a full mesh of connections, all-reduce / all-gather /
 * grouped send-recv moved through real sockets by a worker thread while the
 * stand-in libcuda's stream reports NOT_READY, ncclRemoteError when a peer
 * goes away, ncclCommAbort that unblocks everything.  It writes its log in
 * NCCL's INFO/WARN format to NCCL_DEBUG_FILE, so the parser runs end to end.
 *
 * Knobs (environment, read at first use like NCCL's):
 *   NCCL_SOCKET_IFNAME=<missing iface>  ncclGetUniqueId fails: "Bootstrap : no socket interface found"
 *   FAKE_NCCL_FAIL_INIT=<text>          init logs WARN <text> and fails (ncclSystemError)
 *   FAKE_NCCL_CORRUPT=1                 all-reduce results are off by one in element 0
 *   FAKE_NCCL_STALL_RANK=<r>            rank r's worker never runs (a hung peer)
 *   FAKE_NCCL_DIE_RANK=<r>              rank r's process dies (SIGKILL) at its first
 *                                       all-reduce (a node lost mid-collective)
 * Test fixture only: one communicator per process, no error handling beyond
 * what the tests need. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fake_stream.h"

#define API __attribute__((visibility("default")))
#ifndef FAKE_NCCL_CODE
#define FAKE_NCCL_CODE 22809
#endif
static int fake_code(void);
#define MAXR 16
#define MAXQ 64

typedef struct { char internal[128]; } uid_t128;
typedef struct {
    size_t size;
    unsigned magic, version;
    int blocking;
} cfg_head;

typedef struct op {
    int kind; /* 0 allreduce, 1 allgather, 2 group */
    const void *send;
    void *recv;
    size_t count;
    int redop;
    fake_stream *stream;
    int nsend, nrecv;
    struct { const void *buf; size_t count; int peer; } s[MAXR];
    struct { void *buf; size_t count; int peer; } r[MAXR];
} op;

typedef struct comm {
    int rank, n;
    uid_t128 id;
    atomic_int state;   /* ncclResult_t */
    atomic_int aborting;
    int listen_fd;
    int peer[MAXR];
    pthread_t init_th, worker;
    bool worker_on;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    op q[MAXQ];
    int qh, qt;
    bool stop;
} comm;

static FILE *logf_;
static int log_init_done;
static char last_err[1024];
static int root_fd = -1;
static __thread int in_group;
static __thread op group_op;

static void log_open(void)
{
    if (log_init_done)
        return;
    log_init_done = 1;
    const char *d = getenv("NCCL_DEBUG"), *f = getenv("NCCL_DEBUG_FILE");
    if (d && (!strcasecmp(d, "INFO") || !strcasecmp(d, "WARN")))
        logf_ = f ? fopen(f, "w") : stdout;
    if (logf_)
        setvbuf(logf_, NULL, _IOLBF, 0);
    if (logf_)
        fprintf(logf_, "%s:%d:%d [0] NCCL INFO NCCL version %s+cuda13.0\n", "fakehost", (int)getpid(),
                (int)syscall(SYS_gettid), fake_code() != FAKE_NCCL_CODE ? getenv("FAKE_NCCL_VERSION") : "2.28.9");
}

static void info(const char *fmt, ...)
{
    log_open();
    if (!logf_)
        return;
    char m[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    fprintf(logf_, "fakehost:%d:%d [0] NCCL INFO %s\n", (int)getpid(), (int)syscall(SYS_gettid), m);
}

static void warn(const char *where, const char *fmt, ...)
{
    log_open();
    char m[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    snprintf(last_err, sizeof last_err, "%s", m);
    if (!logf_)
        return;
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%F %T", &tm);
    fprintf(logf_, "\n[%s] fakehost:%d:%d [0] %s NCCL WARN %s\n", ts, (int)getpid(), (int)syscall(SYS_gettid), where, m);
}

/* FAKE_NCCL_VERSION=X.Y.Z: report another version (a node of a cluster
 * with a different libnccl; the log line and ncclGetVersion agree). */
static int fake_code(void)
{
    const char *e = getenv("FAKE_NCCL_VERSION");
    int x, y, z;
    if (e && sscanf(e, "%d.%d.%d", &x, &y, &z) == 3 && x >= 2 && x < 10 && y >= 0 && y < 100 && z >= 0 && z < 100)
        return x * 10000 + y * 100 + z;
    return FAKE_NCCL_CODE;
}

API int ncclGetVersion(int *v);
int ncclGetVersion(int *v)
{
    *v = fake_code();
    return 0;
}

API const char *ncclGetErrorString(int r);
const char *ncclGetErrorString(int r)
{
    static const char *const s[] = {"no error", "unhandled cuda error", "unhandled system error", "internal error",
                                    "invalid argument", "invalid usage", "remote process exited or there was a network error",
                                    "NCCL operation in progress"};
    return r >= 0 && r < 8 ? s[r] : "unknown result code";
}

API const char *ncclGetLastError(void *c);
const char *ncclGetLastError(void *c)
{
    (void)c;
    return last_err;
}

static int listen_any(unsigned short *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) != 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

API int ncclGetUniqueId(uid_t128 *id);
int ncclGetUniqueId(uid_t128 *id)
{
    const char *ifn = getenv("NCCL_SOCKET_IFNAME");
    if (ifn && *ifn && if_nametoindex(ifn[0] == '=' ? ifn + 1 : ifn) == 0) {
        warn("bootstrap.cc:95", "Bootstrap : no socket interface found");
        return 5;
    }
    info("Bootstrap: Using lo:127.0.0.1<0>");
    unsigned short port;
    root_fd = listen_any(&port);
    if (root_fd < 0)
        return 2;
    memset(id, 0, sizeof *id);
    uint64_t magic = 0x46414b454e43434cull;
    memcpy(id->internal, &magic, 8);
    memcpy(id->internal + 8, &port, 2);
    return 0;
}

/* Blocking I/O that gives up when the comm is aborted (fds are shut down). */
static int xfer(int fd, void *buf, size_t n, int sending)
{
    char *p = buf;
    while (n) {
        ssize_t k = sending ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int accept_abortable(comm *c, int lfd)
{
    for (;;) {
        if (atomic_load(&c->aborting))
            return -1;
        struct pollfd p = {lfd, POLLIN, 0};
        int r = poll(&p, 1, 50);
        if (r > 0) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            }
            return fd;
        }
    }
}

static int connect_port(unsigned short port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        warn("misc/socket.cc:473", "socketStartConnect: connect to 127.0.0.1<%u> returned Connection refused, "
             "exceeded error retry count after 35 attempts", port);
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void *init_main(void *arg)
{
    comm *c = arg;
    const char *fi = getenv("FAKE_NCCL_FAIL_INIT");
    if (fi && *fi) {
        warn("misc/socket.cc:581", "%s", fi);
        atomic_store(&c->state, 2);
        return NULL;
    }
    /* A rank other than 0 finds its socket interface at init, as NCCL's
     * bootstrap does (rank 0 failed already in ncclGetUniqueId). */
    const char *ifn = getenv("NCCL_SOCKET_IFNAME");
    if (c->rank != 0 && ifn && *ifn && if_nametoindex(ifn[0] == '=' ? ifn + 1 : ifn) == 0) {
        warn("bootstrap.cc:95", "Bootstrap : no socket interface found");
        atomic_store(&c->state, 2);
        return NULL;
    }
    if (c->rank != 0) /* rank 0 logged it in ncclGetUniqueId, as NCCL does */
        info("Bootstrap: Using lo:127.0.0.1<0>");
    info("NET/Plugin: Could not find: libnccl-net.so");
    info("NET/Socket : Using [0]lo:127.0.0.1<0>");
    info("Using network Socket");
    unsigned short root_port;
    memcpy(&root_port, c->id.internal + 8, 2);
    unsigned short my_port, ports[MAXR] = {0};
    c->listen_fd = listen_any(&my_port);
    int fds[MAXR];
    if (c->rank == 0) {
        ports[0] = my_port;
        for (int i = 1; i < c->n; i++) {
            int fd = accept_abortable(c, root_fd);
            int hello[2];
            if (fd < 0 || xfer(fd, hello, sizeof hello, 0) != 0 || hello[0] <= 0 || hello[0] >= c->n)
                goto fail;
            fds[hello[0]] = fd;
            ports[hello[0]] = (unsigned short)hello[1];
        }
        for (int i = 1; i < c->n; i++) {
            if (xfer(fds[i], ports, sizeof ports, 1) != 0)
                goto fail;
            close(fds[i]);
        }
    } else {
        int fd = connect_port(root_port);
        int hello[2] = {c->rank, my_port};
        if (fd < 0 || xfer(fd, hello, sizeof hello, 1) != 0 || xfer(fd, ports, sizeof ports, 0) != 0)
            goto fail;
        close(fd);
    }
    info("comm %p rank %d nRanks %d nNodes %d localRanks 1 localRank 0 MNNVL 0", (void *)c, c->rank, c->n, c->n);
    /* mesh: connect to lower ranks, accept from higher ones */
    for (int p = 0; p < c->rank; p++) {
        c->peer[p] = connect_port(ports[p]);
        if (c->peer[p] < 0 || xfer(c->peer[p], &c->rank, sizeof c->rank, 1) != 0)
            goto fail;
    }
    for (int k = c->rank + 1; k < c->n; k++) {
        int fd = accept_abortable(c, c->listen_fd), who = -1;
        if (fd < 0 || xfer(fd, &who, sizeof who, 0) != 0 || who <= c->rank || who >= c->n)
            goto fail;
        c->peer[who] = fd;
    }
    for (int p = 0; p < c->n; p++)
        if (p != c->rank) {
            info("Channel 00/0 : %d[0] -> %d[0] [send] via NET/Socket/0", c->rank, p);
            info("Channel 00/0 : %d[0] -> %d[0] [receive] via NET/Socket/0", p, c->rank);
        }
    info("Connected all rings, use ring PXN 0 GDR 0");
    info("ncclCommInitRankConfig comm %p rank %d nranks %d cudaDev 0 nvmlDev 0 busId 0 commId 0x1 - Init COMPLETE",
         (void *)c, c->rank, c->n);
    atomic_store(&c->state, 0);
    return NULL;
fail:
    if (!atomic_load(&c->aborting)) {
        warn("bootstrap.cc:413", "Bootstrap : peer connection failed: %s", strerror(errno ? errno : ECONNRESET));
        atomic_store(&c->state, 6);
    }
    return NULL;
}

typedef struct sendjob {
    int fd;
    const void *buf;
    size_t n;
    int rc;
    pthread_t th;
} sendjob;

static void *send_main(void *a)
{
    sendjob *j = a;
    uint64_t len = j->n;
    j->rc = xfer(j->fd, &len, 8, 1) || xfer(j->fd, (void *)j->buf, j->n, 1);
    return NULL;
}

static int recv_from(comm *c, int peer, void *buf, size_t n)
{
    uint64_t len = 0;
    if (xfer(c->peer[peer], &len, 8, 0) != 0 || len != n || xfer(c->peer[peer], buf, n, 0) != 0) {
        if (!atomic_load(&c->aborting))
            warn("misc/socket.cc:68", "socketProgress: Connection closed by remote peer 127.0.0.1<%d>", 40000 + peer);
        return -1;
    }
    return 0;
}

static int run_op(comm *c, op *o)
{
    int me = c->rank, n = c->n;
    sendjob jobs[MAXR];
    int nj = 0, rc = 0;
    size_t bytes = o->kind == 2 ? 0 : o->count * 4;
    if (o->kind == 2) {
        for (int i = 0; i < o->nsend; i++) {
            jobs[nj] = (sendjob){c->peer[o->s[i].peer], o->s[i].buf, o->s[i].count * 4, 0, 0};
            pthread_create(&jobs[nj].th, NULL, send_main, &jobs[nj]);
            nj++;
        }
        for (int i = 0; i < o->nrecv && rc == 0; i++)
            rc = recv_from(c, o->r[i].peer, o->r[i].buf, o->r[i].count * 4);
    } else {
        float *tmp = malloc(bytes ? bytes : 4);
        for (int p = 0; p < n; p++)
            if (p != me) {
                jobs[nj] = (sendjob){c->peer[p], o->send, bytes, 0, 0};
                pthread_create(&jobs[nj].th, NULL, send_main, &jobs[nj]);
                nj++;
            }
        if (o->kind == 0) {
            float *acc = malloc(bytes ? bytes : 4);
            memcpy(acc, o->send, bytes);
            for (int p = 0; p < n && rc == 0; p++) {
                if (p == me)
                    continue;
                rc = recv_from(c, p, tmp, bytes);
                for (size_t i = 0; rc == 0 && i < o->count; i++)
                    acc[i] = o->redop == 3 ? (tmp[i] < acc[i] ? tmp[i] : acc[i]) : acc[i] + tmp[i];
            }
            const char *cor = getenv("FAKE_NCCL_CORRUPT");
            if (cor && *cor == '1' && o->count > 1)
                acc[0] += 1;
            memcpy(o->recv, acc, bytes);
            free(acc);
        } else {
            memcpy((char *)o->recv + (size_t)me * bytes, o->send, bytes);
            for (int p = 0; p < n && rc == 0; p++)
                if (p != me)
                    rc = recv_from(c, p, (char *)o->recv + (size_t)p * bytes, bytes);
        }
        free(tmp);
    }
    for (int i = 0; i < nj; i++) {
        pthread_join(jobs[i].th, NULL);
        if (jobs[i].rc)
            rc = -1;
    }
    return rc;
}

static void *worker_main(void *arg)
{
    comm *c = arg;
    const char *st = getenv("FAKE_NCCL_STALL_RANK");
    bool stall = st && *st && atoi(st) == c->rank;
    const char *dr = getenv("FAKE_NCCL_DIE_RANK");
    bool die = dr && *dr && atoi(dr) == c->rank;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->stop && (c->qh == c->qt || stall))
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->stop) {
            pthread_mutex_unlock(&c->mu);
            return NULL;
        }
        op o = c->q[c->qh % MAXQ];
        pthread_mutex_unlock(&c->mu);
        if (die && o.kind == 0)
            raise(SIGKILL);
        if (atomic_load(&c->state) == 0 && run_op(c, &o) != 0 && !atomic_load(&c->aborting))
            atomic_store(&c->state, 6);
        pthread_mutex_lock(&c->mu);
        c->qh++;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        if (atomic_load(&c->state) == 0)
            atomic_fetch_sub(&o.stream->pending, 1); /* on error the stream never completes, as on a GPU */
    }
}

API int ncclCommInitRankConfig(comm **out, int n, uid_t128 id, int rank, cfg_head *cfg);
int ncclCommInitRankConfig(comm **out, int n, uid_t128 id, int rank, cfg_head *cfg)
{
    if (!cfg || cfg->magic != 0xcafebeef) {
        warn("init.cc:2126", "ncclConfig_t argument not initialized via NCCL_CONFIG_INITIALIZER");
        return 4;
    }
    if (n < 1 || n > MAXR || rank < 0 || rank >= n)
        return 4;
    const char *h = getenv("NCCL_HOSTID");
    if (h)
        info("NCCL_HOSTID set by environment to %s", h);
    comm *c = calloc(1, sizeof *c);
    c->rank = rank;
    c->n = n;
    c->id = id;
    c->listen_fd = -1;
    for (int i = 0; i < MAXR; i++)
        c->peer[i] = -1;
    atomic_store(&c->state, 7);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    *out = c;
    pthread_create(&c->init_th, NULL, init_main, c);
    if (cfg->blocking == 0)
        return 7;
    while (atomic_load(&c->state) == 7)
        usleep(1000);
    return atomic_load(&c->state);
}

API int ncclCommGetAsyncError(comm *c, int *st);
int ncclCommGetAsyncError(comm *c, int *st)
{
    *st = atomic_load(&c->state);
    return 0;
}

static void enqueue(comm *c, op *o)
{
    if (!c->worker_on) {
        pthread_join(c->init_th, NULL);
        c->init_th = 0;
        pthread_create(&c->worker, NULL, worker_main, c);
        c->worker_on = true;
    }
    atomic_fetch_add(&o->stream->pending, 1);
    pthread_mutex_lock(&c->mu);
    c->q[c->qt % MAXQ] = *o;
    c->qt++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

API int ncclAllReduce(const void *s, void *r, size_t count, int dt, int redop, comm *c, fake_stream *st);
int ncclAllReduce(const void *s, void *r, size_t count, int dt, int redop, comm *c, fake_stream *st)
{
    if (dt != 7 || atomic_load(&c->state) != 0)
        return atomic_load(&c->state) ? atomic_load(&c->state) : 4;
    op o = {.kind = 0, .send = s, .recv = r, .count = count, .redop = redop, .stream = st};
    enqueue(c, &o);
    return 0;
}

API int ncclAllGather(const void *s, void *r, size_t count, int dt, comm *c, fake_stream *st);
int ncclAllGather(const void *s, void *r, size_t count, int dt, comm *c, fake_stream *st)
{
    if (dt != 7 || atomic_load(&c->state) != 0)
        return atomic_load(&c->state) ? atomic_load(&c->state) : 4;
    op o = {.kind = 1, .send = s, .recv = r, .count = count, .stream = st};
    enqueue(c, &o);
    return 0;
}

static comm *group_comm;

API int ncclGroupStart(void);
int ncclGroupStart(void)
{
    in_group = 1;
    memset(&group_op, 0, sizeof group_op);
    group_op.kind = 2;
    group_comm = NULL;
    return 0;
}

API int ncclSend(const void *b, size_t count, int dt, int peer, comm *c, fake_stream *st);
int ncclSend(const void *b, size_t count, int dt, int peer, comm *c, fake_stream *st)
{
    if (!in_group || dt != 7 || peer < 0 || peer >= c->n || group_op.nsend >= MAXR)
        return 5;
    group_op.s[group_op.nsend].buf = b;
    group_op.s[group_op.nsend].count = count;
    group_op.s[group_op.nsend++].peer = peer;
    group_op.stream = st;
    group_comm = c;
    return 0;
}

API int ncclRecv(void *b, size_t count, int dt, int peer, comm *c, fake_stream *st);
int ncclRecv(void *b, size_t count, int dt, int peer, comm *c, fake_stream *st)
{
    if (!in_group || dt != 7 || peer < 0 || peer >= c->n || group_op.nrecv >= MAXR)
        return 5;
    group_op.r[group_op.nrecv].buf = b;
    group_op.r[group_op.nrecv].count = count;
    group_op.r[group_op.nrecv++].peer = peer;
    group_op.stream = st;
    group_comm = c;
    return 0;
}

API int ncclGroupEnd(void);
int ncclGroupEnd(void)
{
    in_group = 0;
    if (!group_comm)
        return 0;
    if (atomic_load(&group_comm->state) != 0)
        return atomic_load(&group_comm->state);
    enqueue(group_comm, &group_op);
    return 7; /* as real non-blocking comms do: the caller polls the async error */
}

static void teardown(comm *c, const char *what)
{
    if (c->init_th)
        pthread_join(c->init_th, NULL);
    if (c->worker_on) {
        pthread_mutex_lock(&c->mu);
        c->stop = true;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->worker, NULL);
    }
    for (int i = 0; i < MAXR; i++)
        if (c->peer[i] >= 0)
            close(c->peer[i]);
    if (c->listen_fd >= 0)
        close(c->listen_fd);
    info("comm %p rank %d nranks %d cudaDev 0 busId 0 - %s COMPLETE", (void *)c, c->rank, c->n, what);
    free(c);
}

API int ncclCommFinalize(comm *c);
int ncclCommFinalize(comm *c)
{
    /* wait for queued work, like NCCL's finalize */
    pthread_mutex_lock(&c->mu);
    while (c->worker_on && c->qh != c->qt && atomic_load(&c->state) == 0)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    return atomic_load(&c->state);
}

API int ncclCommDestroy(comm *c);
int ncclCommDestroy(comm *c)
{
    teardown(c, "Destroy");
    return 0;
}

API int ncclCommAbort(comm *c);
int ncclCommAbort(comm *c)
{
    if (!c)
        return 0;
    info("comm %p rank %d nRanks %d localRanks 1 localRank 0 - Abort START", (void *)c, c->rank, c->n);
    atomic_store(&c->aborting, 1);
    for (int i = 0; i < MAXR; i++)
        if (c->peer[i] >= 0)
            shutdown(c->peer[i], SHUT_RDWR);
    if (root_fd >= 0)
        shutdown(root_fd, SHUT_RDWR);
    teardown(c, "Abort");
    return 0;
}
