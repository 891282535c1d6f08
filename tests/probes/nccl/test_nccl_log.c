/* test_nccl_log.c -- the NCCL log parser and the failure classifier, on
 * real logs: the .log files in tests/probes/nccl/data were written by NCCL 2.28.9 (the torch
 * venv's) on the GPU machine during `preflight nccl` runs
 * (docs/GPU-VERIFICATION.md, 2026-12-05), and the single lines below come
 * from NCCL's sources (format strings filled in) and public bug reports
 * (the issue is named on each row). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/record.h"
#include "core/util.h"
#include "probes/nccl/nccl_class.h"
#include "probes/nccl/nccl_log.h"

static pf_nccllog *load(const char *name)
{
    char *path = pf_xasprintf("%s/tests/probes/nccl/data/%s", PF_SOURCE_DIR, name);
    char *text = pf_read_file(path, 1 << 22, NULL, NULL);
    assert_non_null(text);
    pf_nccllog *l = pf_xcalloc(1, sizeof *l);
    pf_nccllog_parse(text, l);
    free(text);
    free(path);
    return l;
}

typedef struct fixture_row {
    const char *file;
    int nnodes;           /* -1: no topology line */
    bool init_complete;
    const char *transport; /* NULL: no channel lines */
    int n_warns;
    const char *warn;      /* substring of the first WARN */
} fixture_row;

static const fixture_row fixtures[] = {
    {"ok2.rank0.log", 2, true, "NET/Socket", 0, NULL},
    {"ok2.rank1.log", 2, true, "NET/Socket", 0, NULL},
    {"ok4.rank1.log", 4, true, "NET/Socket", 0, NULL},
    /* the peer was SIGKILLed during an all-reduce */
    {"killed.rank0.log", 2, true, "NET/Socket", 2, "Connection closed by remote peer localhost<"},
    /* rank 2 never started; the init deadline aborted rank 0 */
    {"absent.rank0.log", -1, false, NULL, 1, "ncclAsyncJobComplete: job"},
    /* NCCL_SOCKET_IFNAME=nonexist0 */
    {"badif.rank0.log", -1, false, NULL, 1, "Bootstrap : no socket interface found"},
    /* NCCL_COMM_ID=10.255.255.1:29999 (not this node's address) */
    {"badroot.rank0.log", -1, false, NULL, 1, "NET/Socket : No usable listening interface found"},
};

static void test_real_logs(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        const fixture_row *f = &fixtures[i];
        pf_nccllog *l = load(f->file);
        print_message("%s\n", f->file);
        /* the banner comes after ncclGetUniqueId: absent when bootstrap failed there */
        if (!strstr(f->file, "badif") && !strstr(f->file, "badroot")) {
            assert_string_equal(l->version, "2.28.9");
            assert_int_equal(l->version_code, 22809);
            assert_string_equal(l->cuda, "13.0");
        }
        assert_string_equal(l->host, "vm");
        assert_int_equal(l->nnodes, f->nnodes);
        assert_int_equal(l->init_complete, f->init_complete);
        assert_int_equal(l->n_warns, f->n_warns);
        if (f->warn)
            assert_non_null(strstr(l->warns[0].text, f->warn));
        if (f->transport) {
            assert_int_equal(l->n_transports, 1);
            assert_string_equal(l->transports[0], f->transport);
            assert_string_equal(l->bootstrap_if, "lo");
            assert_string_equal(l->bootstrap_addr, "127.0.0.1");
            assert_int_equal(l->n_socket_ifs, 1);
            assert_string_equal(l->socket_ifs[0].name, "lo");
            assert_string_equal(l->network, "Socket");
            /* "Failed to initialize NET plugin IB" then Socket: not a failure */
            assert_string_equal(l->plugin, "Socket");
            assert_false(pf_nccllog_plugin_failed(l));
            assert_true(l->hostid[0] != 0);
            assert_true(l->n_channels >= 2);
        }
        free(l);
    }
}

static void test_channels_and_env(void **st)
{
    (void)st;
    pf_nccllog *l = load("ok2.rank0.log");
    bool shared = false, send = false, recv = false;
    for (int i = 0; i < l->n_channels; i++) {
        if (strstr(l->channels[i].transport, "/Shared"))
            shared = true;
        if (!strcmp(l->channels[i].dir, "send") && l->channels[i].from == 0 && l->channels[i].to == 1)
            send = true;
        if (!strcmp(l->channels[i].dir, "receive") && l->channels[i].from == 1 && l->channels[i].to == 0)
            recv = true;
    }
    assert_true(shared && send && recv);
    bool ib = false;
    for (int i = 0; i < l->n_env; i++)
        if (!strcmp(l->env[i], "NCCL_IB_DISABLE=1"))
            ib = true;
    assert_true(ib);
    free(l);
}

/* Lines from other versions and public reports. */
static void test_line_formats(void **st)
{
    (void)st;
    pf_nccllog l;
    pf_nccllog_init(&l);
    /* <= 2.23 bootstrap line listing candidates (pytorch/pytorch#68893) */
    pf_nccllog_line(&l, "ip-172-31-0-137:14605:14673 [0] NCCL INFO Bootstrap : Using [0]ens5:172.31.0.137<0> "
                        "[1]veth75fa783:fe80::14ad:64ff:fe64:b31e%veth75fa783<0>");
    assert_string_equal(l.bootstrap_if, "ens5");
    assert_string_equal(l.bootstrap_addr, "172.31.0.137");
    /* NET/Socket with an IPv6 link-local second interface (same report) */
    pf_nccllog_line(&l, "ip-172-31-0-137:14605:14673 [0] NCCL INFO NET/Socket : Using [0]ens5:172.31.0.137<0> "
                        "[1]veth75fa783:fe80::14ad:64ff:fe64:b31e%veth75fa783<0>");
    assert_int_equal(l.n_socket_ifs, 2);
    assert_string_equal(l.socket_ifs[1].name, "veth75fa783");
    assert_string_equal(l.socket_ifs[1].addr, "fe80::14ad:64ff:fe64:b31e%veth75fa783");
    /* bare version banner (<= 2.21 on stdout) */
    pf_nccllog_line(&l, "NCCL version 2.7.8+cuda11.1");
    assert_int_equal(l.version_code, 2708);
    /* <= 2.25 plugin line, then channels of other transports (nccl-tests#188) */
    pf_nccllog_line(&l, "worker:101542:101542 [0] NCCL INFO NET/Plugin : No plugin found (libnccl-net.so), using "
                        "internal implementation");
    assert_string_equal(l.plugin, "internal");
    pf_nccllog_line(&l, "user:695834:695885 [3] NCCL INFO Channel 00/0 : 11[3] -> 12[4] via P2P/IPC/read");
    pf_nccllog_line(&l, "ubuntu:39964:40049 [5] NCCL INFO Channel 20 : 5[5] -> 4[4] via SHM/direct/direct");
    pf_nccllog_line(&l, "user:16899:16949 [0] NCCL INFO Channel 01/0 : 9[1] -> 0[0] [receive] via NET/Socket/0");
    pf_nccllog_line(&l, "user:16899:16949 [0] NCCL INFO Channel 00/02 : 0 1"); /* ring listing: not a channel */
    assert_int_equal(l.n_channels, 3);
    assert_int_equal(l.n_transports, 3);
    assert_string_equal(l.transports[0], "P2P");
    assert_string_equal(l.transports[1], "SHM");
    assert_string_equal(l.transports[2], "NET/Socket");
    assert_string_equal(l.channels[0].dir, "");
    assert_int_equal(l.channels[1].channel, 20);
    /* WARN without (<= 2.25) and with (2.26+) timestamp */
    pf_nccllog_line(&l, "user:16899:16961 [0] misc/socket.cc:441 NCCL WARN socketFinalizeAccept: wrong type 4 != 3");
    pf_nccllog_line(&l, "[2026-12-05 09:01:26] vm:4908:4908 [0] bootstrap.cc:114 NCCL WARN Bootstrap : no socket "
                        "interface found");
    assert_int_equal(l.n_warns, 2);
    assert_string_equal(l.warns[0].where, "misc/socket.cc:441");
    assert_string_equal(l.warns[1].where, "bootstrap.cc:114");
    /* a plugin that fails with none to replace it */
    pf_nccllog_line(&l, "h:1:2 [0] NCCL INFO Failed to initialize any NET plugin");
    assert_true(pf_nccllog_plugin_failed(&l));
    /* junk and over-long lines are ignored without harm */
    char big[4000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    pf_nccllog_line(&l, big);
    pf_nccllog_line(&l, "");
    pf_nccllog_line(&l, "h:notanumber [0] NCCL INFO Using network IB");
    assert_string_equal(l.network, "");
}

/* One real message per rule: (text, cause). */
static const struct {
    const char *text, *cause, *source;
} lines[] = {
    {"socketFinalizeAccept: wrong type 4 != 3", "transport_mismatch", "nccl-tests#188"},
    {"socketFinalizeAccept from 10.0.0.2<41234>: wrong type 3 != 4", "transport_mismatch", "socket.cc 2.27+"},
    {"Connect to fe80::14ad:64ff:fe64:b31e%veth75fa783<45187> failed : Network is unreachable", "unreachable",
     "pytorch#68893"},
    {"Bootstrap : no socket interface found", "no_interface", "seen, GPU machine"},
    {"NET/Socket : No usable listening interface found", "no_interface", "seen, GPU machine"},
    {"socketStartConnect: Connect to 10.0.0.2<45763> failed : Connection refused", "peer_refused", "socket.cc 2.18"},
    {"bootstrap: connect to 192.168.1.5<40221> returned Connection refused, exceeded error retry count after 35 "
     "attempts", "peer_refused", "socket.cc 2.27+"},
    {"socketStartConnect: exceeded timeouts (3)", "peer_timeout", "socket.cc 2.18"},
    {"Call to connect returned Connection timed out, retrying", "peer_timeout", "oneflow#3586"},
    {"Mismatched NCCL version detected : rank 0 version 22809 rank 1 version 22703", "version_mismatch", "init.cc"},
    {"Duplicate GPU detected : rank 0 and rank 1 both on CUDA device 60", "duplicate_gpu", "seen, GPU machine"},
    {"Failed to initialize any NET plugin", "plugin_failed", "plugin/net.cc"},
    {"socketProgress: Connection closed by remote peer localhost<58382>", "peer_died", "seen, GPU machine"},
    {"Call to recv from 10.0.0.2<43210> failed : Connection reset by peer", "peer_died", "socket.cc"},
    {"Cannot assign requested address", "bad_address", "bind(2)"},
    {"Call to bind failed : Address already in use", "port_in_use", "socket.cc"},
    {"socketStartConnect: Connect to 10.0.0.2<45763> failed : Software caused connection abort", "system_error",
     "nccl-tests#166"},
    {"Cuda failure 'out of memory'", "gpu_oom", "checks.h"},
    {"ncclAsyncJobComplete: job 0x55e9b9fa6110 failed, job error 3", "unknown", "seen (a follow-up, not a cause)"},
};

static void test_rules(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        int r = pf_ncclclass_match(lines[i].text);
        if (strcmp(pf_ncclclass_rule_cause(r), lines[i].cause)) {
            print_error("'%s' (%s): %s, wanted %s\n", lines[i].text, lines[i].source, pf_ncclclass_rule_cause(r),
                        lines[i].cause);
            fail();
        }
    }
}

/* Diagnoses of the real failures: the first WARN that names a cause wins
 * over follow-ups, the stage comes from the phase and the log. */
static void test_diagnose_real(void **st)
{
    (void)st;
    struct {
        const char *file, *phase, *kind;
        int res;
        const char *cause, *stage, *check;
    } rows[] = {
        {"badif.rank0.log", "bootstrap", "error", 5, "no_interface", "bootstrap", "nccl.init"},
        {"badroot.rank0.log", "init", "error", 2, "no_interface", "bootstrap", "nccl.init"},
        {"killed.rank0.log", "all_reduce 64 MiB", "error", 6, "peer_died", "a peer that died", "nccl.allreduce"},
        {"absent.rank0.log", "init", "timeout", 7, "bootstrap_hang", "bootstrap", "nccl.init"},
        {"ok2.rank0.log", "connect all_reduce", "timeout", -1, "connect_hang", "connection setup", "nccl.allreduce"},
        {"ok2.rank0.log", "p2p prefill forward", "timeout", -1, "collective_hang", "point-to-point", "nccl.p2p"},
        {"ok2.rank0.log", "teardown", "timeout", 7, "teardown_hang", "teardown", "nccl.teardown"},
        {"ok2.rank0.log", "init", "timeout", 7, "connect_hang", "connection setup", "nccl.init"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pf_nccllog *l = load(rows[i].file);
        pf_ncclclass_in in = {rows[i].phase, rows[i].kind, rows[i].res, "runner message", NULL, l};
        pf_ncclclass c;
        pf_ncclclass_diagnose(&in, &c);
        print_message("%s %s -> %s / %s / %s\n", rows[i].file, rows[i].phase, c.cause, c.stage, c.check);
        assert_string_equal(c.cause, rows[i].cause);
        assert_string_equal(c.stage, rows[i].stage);
        assert_string_equal(c.check, rows[i].check);
        assert_non_null(c.remedy);
        free(l);
    }
    /* no log at all: by how it ended; load failures */
    struct {
        const char *phase, *kind, *msg, *cause;
        bool skip;
    } bare[] = {
        {"load", "error", "no CUDA driver: dlopen libcuda.so.1: cannot open shared object file", "no_gpu", true},
        {"load", "error", "x.so is NCCL 2.13.4, too old for non-blocking init", "nccl_too_old", false},
        {"load", "error", "libnccl failed to load: dlopen /x: file too short", "libnccl_unloadable", false},
        {"all_gather 1 MiB", "died", "the rank process died (signal 9)", "rank_died", false},
        {"bootstrap", "absent", "never started", "never_joined", false},
        {"all_reduce 4 MiB", "error", "NCCL reported ncclRemoteError", "peer_died", false},
    };
    for (size_t i = 0; i < sizeof bare / sizeof bare[0]; i++) {
        pf_ncclclass_in in = {bare[i].phase, bare[i].kind, strstr(bare[i].msg, "Remote") ? 6 : -1, bare[i].msg, NULL,
                              NULL};
        pf_ncclclass c;
        pf_ncclclass_diagnose(&in, &c);
        assert_string_equal(c.cause, bare[i].cause);
        assert_int_equal(c.skip, bare[i].skip);
    }
}

/* ncclGetLastError text as torch printed it on the GPU machine ("Last error:"). */
static void test_torch_last_error(void **st)
{
    (void)st;
    const char *files[] = {"torch-badif.err", "torch-badroot.err"};
    for (int i = 0; i < 2; i++) {
        char *path = pf_xasprintf("%s/tests/probes/nccl/data/%s", PF_SOURCE_DIR, files[i]);
        char *t = pf_read_file(path, 1 << 16, NULL, NULL);
        assert_non_null(t);
        pf_ncclclass_in in = {"init", "error", 2, NULL, t, NULL};
        pf_ncclclass c;
        pf_ncclclass_diagnose(&in, &c);
        assert_string_equal(c.cause, "no_interface");
        free(t);
        free(path);
    }
}

/* Found by fuzz/fuzz_nccllog.c: a log line with bytes that are not UTF-8
 * (a corrupted file, a localised strerror, or a cut at a field's cap in the
 * middle of a multi-byte character) made json_string/json_pack return NULL,
 * so the WARN, the host and the whole diagnosis silently vanished from the
 * record.  Every text from the log is now written through pf_json_text. */
static void test_not_utf8(void **st)
{
    (void)st;
    char warn[1200];
    size_t n = (size_t)snprintf(warn, sizeof warn, "[2026-12-05 09:01:38] vm\xff:1:1 [0] bootstrap.cc:108 NCCL WARN "
                                                   "NET/Socket : bad \xff\x80 byte ");
    while (n + 3 < sizeof warn - 1) { /* "\xc3\xa9" (e-acute) across the 512-byte cut */
        warn[n++] = (char)0xc3;
        warn[n++] = (char)0xa9;
    }
    warn[n] = '\0';
    char *text = pf_xasprintf("vm\xfe:1:1 [0] NCCL INFO Bootstrap : Using et\xff" "0:10.0.0.\xff<0>\n\n%s\n", warn);
    pf_nccllog *l = pf_xcalloc(1, sizeof *l);
    pf_nccllog_parse(text, l);
    assert_int_equal(l->n_warns, 1);
    json_t *j = pf_nccllog_to_json(l);
    json_t *w = json_array_get(json_object_get(j, "warnings"), 0);
    assert_true(json_is_string(json_object_get(w, "text")));
    assert_non_null(strstr(json_string_value(json_object_get(w, "text")), "bad "));
    char *dump = json_dumps(j, JSON_COMPACT);
    assert_non_null(dump);
    free(dump);
    json_decref(j);

    pf_ncclclass_in in = {"init", "error", 2, NULL, NULL, l};
    pf_ncclclass c;
    pf_ncclclass_diagnose(&in, &c);
    json_t *d = pf_ncclclass_to_json(&c);
    assert_non_null(d);
    assert_true(json_is_string(json_object_get(d, "evidence")));
    json_decref(d);
    free(l);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_logs),     cmocka_unit_test(test_channels_and_env),
        cmocka_unit_test(test_line_formats),  cmocka_unit_test(test_rules),
        cmocka_unit_test(test_diagnose_real), cmocka_unit_test(test_torch_last_error),
        cmocka_unit_test(test_not_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
