/* NCCL transport prediction (probes/nccl/nccl_net.c) and the plugin/loader
 * collector (probes/nccl/netplugin.c) against real shared objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/nccl/nccl_net.h"
#include "probes/nccl/netplugin.h"

#define PLUGDIR PF_BINARY_DIR "/tests/netplugins"

static pf_rdma_set spark_rdma(bool active)
{
    pf_rdma_set r;
    memset(&r, 0, sizeof r);
    r.class_present = true;
    r.n = 1;
    r.v = calloc(1, sizeof *r.v);
    strcpy(r.v[0].name, "rocep1s0f1");
    r.v[0].nports = 1;
    r.v[0].ports[0].num = 1;
    r.v[0].ports[0].state_code = active ? 4 : 1;
    strcpy(r.v[0].ports[0].state, active ? "ACTIVE" : "DOWN");
    strcpy(r.v[0].ports[0].link_layer, "Ethernet");
    return r;
}

typedef struct trow {
    const char *what;
    const char *net, *net_plugin, *ib_disable, *ibext_disable, *ib_hca, *proto;
    int rdma;                  /* 0 none, 1 active RoCE port, 2 RoCE port down */
    bool ibverbs, ifs;
    const char *ext_path, *ext_name, *ext_error; /* one external plugin as resolved */
    const char *want_transport;
    int want_type;
    pf_status want;
    const char *codes;
} trow;

static const trow rows[] = {
    {"Thor: no RDMA", NULL, NULL, NULL, NULL, NULL, NULL, 0, false, true, NULL, NULL, NULL, "Socket", 3, PF_PASS, ""},
    {"Spark default: IB over RoCE", NULL, NULL, NULL, NULL, NULL, NULL, 1, true, true, NULL, NULL, NULL, "IB", 4,
     PF_WARN, "ib_selected"},
    {"Spark with NCCL_IB_DISABLE=1", NULL, NULL, "1", NULL, NULL, NULL, 1, true, true, NULL, NULL, NULL, "Socket", 3,
     PF_PASS, ""},
    {"Spark with NCCL_NET=Socket", "Socket", NULL, NULL, NULL, NULL, NULL, 1, true, true, NULL, NULL, NULL, "Socket",
     3, PF_PASS, ""},
    {"NCCL_NET is case-insensitive", "socket", NULL, NULL, NULL, NULL, NULL, 1, true, true, NULL, NULL, NULL,
     "Socket", 3, PF_PASS, ""},
    {"NCCL_IB_DISABLE=true reads as 0", NULL, NULL, "true", NULL, NULL, NULL, 1, true, true, NULL, NULL, NULL, "IB",
     4, PF_WARN, "ib_disable_value ib_selected"},
    {"NCCL_IB_DISABLE=0x1 is 1", NULL, NULL, "0x1", NULL, NULL, NULL, 1, true, true, NULL, NULL, NULL, "Socket", 3,
     PF_PASS, ""},
    {"HPC-X plugin ignores NCCL_IB_DISABLE", NULL, NULL, "1", NULL, NULL, NULL, 1, true, true,
     "/opt/hpcx/nccl_rdma_sharp_plugin/lib/libnccl-net.so", "NCCL RDMA Plugin v10", NULL, "NCCL RDMA Plugin v10", 0,
     PF_WARN, "external_plugin ib_disable_ignored_by_plugin"},
    {"NCCL_NET=Socket skips the plugin", "Socket", NULL, "1", NULL, NULL, NULL, 1, true, true,
     "/opt/hpcx/nccl_rdma_sharp_plugin/lib/libnccl-net.so", "NCCL RDMA Plugin v10", NULL, "Socket", 3, PF_PASS,
     "plugin_not_named"},
    {"NCCL_IBEXT_DISABLE=1 stops the plugin", NULL, NULL, "1", "1", NULL, NULL, 1, true, true,
     "/opt/hpcx/nccl_rdma_sharp_plugin/lib/libnccl-net.so", "NCCL RDMA Plugin v10", NULL, "Socket", 3, PF_PASS,
     "plugin_disabled"},
    {"IB plugin on a node without RDMA", NULL, NULL, NULL, NULL, NULL, NULL, 0, false, true,
     "/usr/lib/libnccl-net.so", "IBext_v8", NULL, "Socket", 3, PF_PASS, "plugin_no_devices"},
    {"plugin that does not load", NULL, NULL, NULL, NULL, NULL, NULL, 0, false, true, "/usr/lib/libnccl-net.so",
     NULL, "libibverbs.so.1: cannot open shared object file", "Socket", 3, PF_WARN, "plugin_load_error"},
    {"NCCL_NET_PLUGIN names a missing plugin", NULL, "ofi", NULL, NULL, NULL, NULL, 0, false, true, NULL, NULL, NULL,
     "Socket", 3, PF_WARN, "plugin_missing"},
    {"NCCL_NET names the plugin's runtime name", "IBext_v10", NULL, NULL, NULL, NULL, NULL, 1, true, true,
     "/opt/hpcx/nccl_rdma_sharp_plugin/lib/libnccl-net.so", "NCCL RDMA Plugin v10", NULL, "NCCL RDMA Plugin v10", 0,
     PF_WARN, "plugin_name_differs external_plugin"},
    {"unknown NCCL_NET", "Foo", NULL, NULL, NULL, NULL, NULL, 0, false, true, NULL, NULL, NULL, "none", 0, PF_FAIL,
     "net_invalid"},
    {"NCCL_NET=IB without RDMA", "IB", NULL, NULL, NULL, NULL, NULL, 0, false, true, NULL, NULL, NULL, "none", 0,
     PF_FAIL, "net_invalid"},
    {"NCCL_IB_HCA matches nothing", NULL, NULL, NULL, NULL, "mlx5_9", NULL, 1, true, true, NULL, NULL, NULL, "Socket",
     3, PF_WARN, "ib_hca_nomatch"},
    {"NCCL_IB_HCA exact with port", NULL, NULL, NULL, NULL, "=rocep1s0f1:1", NULL, 1, true, true, NULL, NULL, NULL,
     "IB", 4, PF_WARN, "ib_selected"},
    {"NCCL_IB_HCA wrong port", NULL, NULL, NULL, NULL, "=rocep1s0f1:2", NULL, 1, true, true, NULL, NULL, NULL,
     "Socket", 3, PF_WARN, "ib_hca_nomatch"},
    {"RDMA but no libibverbs", NULL, NULL, NULL, NULL, NULL, NULL, 1, false, true, NULL, NULL, NULL, "Socket", 3,
     PF_WARN, "no_ibverbs"},
    {"RoCE port down", NULL, NULL, NULL, NULL, NULL, NULL, 2, true, true, NULL, NULL, NULL, "Socket", 3, PF_PASS,
     "rdma_inactive"},
    {"Socket without interfaces", NULL, NULL, NULL, NULL, NULL, NULL, 0, false, false, NULL, NULL, NULL, "Socket", 3,
     PF_FAIL, "no_socket_interface"},
    {"IB needs an IP interface too", NULL, NULL, NULL, NULL, NULL, NULL, 1, true, false, NULL, NULL, NULL, "Socket",
     3, PF_FAIL, "no_socket_interface"},
    {"bad NCCL_PROTO", "Socket", NULL, NULL, NULL, NULL, "^LL128,fast", 0, false, true, NULL, NULL, NULL, "Socket", 3,
     PF_WARN, "proto_value"},
};

static void test_decide(void **state)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const trow *r = &rows[i];
        pf_rdma_set rd;
        memset(&rd, 0, sizeof rd);
        if (r->rdma)
            rd = spark_rdma(r->rdma == 1);
        pf_nccl_net_in in = {.net = r->net, .net_plugin = r->net_plugin, .ib_disable = r->ib_disable,
                             .ibext_disable = r->ibext_disable, .ib_hca = r->ib_hca, .proto = r->proto,
                             .rdma = &rd, .ibverbs_found = r->ibverbs, .socket_has_interface = r->ifs};
        if (r->ext_path || r->net_plugin) {
            in.ext[0].requested = r->net_plugin ? r->net_plugin : "libnccl-net.so";
            in.ext[0].path = r->ext_path;
            in.ext[0].name = r->ext_name;
            in.ext[0].load_error = r->ext_error;
            in.next = 1;
        }
        pf_nccl_net_out out;
        pf_net_verdict vd;
        pf_net_verdict_init(&vd);
        pf_nccl_net_decide(&in, &out, &vd);
        bool ok = strcmp(out.transport, r->want_transport) == 0 && out.socket_type == r->want_type &&
                  vd.status == r->want;
        char codes[200];
        snprintf(codes, sizeof codes, "%s", r->codes);
        for (char *save = NULL, *c = strtok_r(codes, " ", &save); c; c = strtok_r(NULL, " ", &save))
            ok &= pf_net_verdict_has(&vd, c);
        if (!ok || getenv("NET_TEST_VERBOSE")) {
            fprintf(stderr, "row '%s': %s type %d %s (want %s %d %s)\n", r->what, out.transport, out.socket_type,
                    pf_status_name(vd.status), r->want_transport, r->want_type, pf_status_name(r->want));
            for (size_t k = 0; k < vd.n; k++)
                fprintf(stderr, "  [%s] %s: %s\n", pf_status_name(vd.v[k].sev), vd.v[k].code, vd.v[k].msg);
            bad += !ok;
        }
        json_t *fact = pf_nccl_net_fact(&in, &out);
        assert_non_null(json_object_get(fact, "transport"));
        json_decref(fact);
        pf_net_verdict_free(&vd);
        pf_rdma_set_free(&rd);
    }
    assert_int_equal(bad, 0);
}

static void test_requests_and_params(void **state)
{
    pf_nccl_plugin_req r[8];
    assert_int_equal(pf_nccl_plugin_requests(NULL, r, 8), 1);
    assert_string_equal(r[0].names[0], "libnccl-net.so");
    assert_int_equal(pf_nccl_plugin_requests("none", r, 8), 0);
    assert_int_equal(pf_nccl_plugin_requests("NONE", r, 8), 0);
    assert_int_equal(pf_nccl_plugin_requests("ofi", r, 8), 1);
    assert_int_equal(r[0].nnames, 2);
    assert_string_equal(r[0].names[1], "libnccl-net-ofi.so");
    assert_int_equal(pf_nccl_plugin_requests("libnccl-net-ofi.so", r, 8), 1);
    assert_int_equal(r[0].nnames, 1);
    assert_int_equal(pf_nccl_plugin_requests("/opt/x/libfoo.so.1,gdr", r, 8), 2);
    assert_int_equal(r[0].nnames, 1);
    assert_string_equal(r[1].names[1], "libnccl-net-gdr.so");
    bool ok;
    assert_int_equal(pf_nccl_param_int("1", 0, &ok), 1);
    assert_true(ok);
    assert_int_equal(pf_nccl_param_int("0x10", 0, &ok), 16);
    assert_int_equal(pf_nccl_param_int("yes", 0, &ok), 0);
    assert_false(ok);
    assert_int_equal(pf_nccl_param_int("99999999999999999999", 7, &ok), 7);
    assert_false(ok);
    assert_int_equal(pf_nccl_param_int("", 3, &ok), 3);
    assert_true(ok);
}

static void test_collect_real_plugins(void **state)
{
    const char *const extra[] = {PLUGDIR "/hpcx", NULL};
    const char *const defaults[] = {"/nonexistent-lib-dir", NULL};
    pf_netplugin_opts o = {.ld_library_path = PLUGDIR "/ldpath", .ldconfig = "", .extra_dirs = extra,
                           .default_dirs = defaults, .timeout_s = 10, .read_names = true};
    pf_netplugin_facts f;
    pf_netplugin_collect(&o, &f);
    assert_int_equal(f.nlibs, 3);
    char *p = pf_netplugin_resolve(&f, "libnccl-net.so");
    assert_non_null(p);
    assert_string_equal(p, PLUGDIR "/ldpath/libnccl-net.so");
    const pf_netplugin_lib *good = pf_netplugin_find(&f, p);
    assert_non_null(good);
    assert_true(good->on_loader_path);
    assert_string_equal(good->name, "FakeIB_v8");
    assert_string_equal(good->symbol, "ncclNetPlugin_v8");
    free(p);
    /* not on the loader path: found, but a bare dlopen would not reach it */
    assert_null(pf_netplugin_resolve(&f, "libnccl-net-crash.so"));
    const pf_netplugin_lib *crash = pf_netplugin_find(&f, PLUGDIR "/hpcx/libnccl-net-crash.so");
    assert_non_null(crash);
    assert_false(crash->on_loader_path);
    assert_non_null(crash->load_error);
    assert_non_null(strstr(crash->load_error, "crashed"));
    const pf_netplugin_lib *nosym = pf_netplugin_find(&f, PLUGDIR "/hpcx/libnccl-net-nosym.so");
    assert_non_null(nosym);
    assert_non_null(strstr(nosym->load_error, "no ncclNetPlugin"));
    json_t *j = pf_netplugin_to_json(&f);
    assert_int_equal(json_array_size(json_object_get(j, "net_plugins")), 3);
    json_decref(j);
    pf_netplugin_facts_free(&f);

    char *name = NULL, *sym = NULL;
    pf_err err;
    assert_int_equal(pf_netplugin_read_name("/nonexistent/libnccl-net.so", 5, &name, &sym, &err), -1);
    assert_non_null(strstr(err.msg, "nonexistent"));
}

/* The ld.so cache path, with the real ldconfig of this machine. */
static void test_ldconfig_cache(void **state)
{
    pf_netplugin_opts o = {.timeout_s = 10};
    pf_netplugin_facts f;
    pf_netplugin_collect(&o, &f);
    if (!f.cache_read) {
        pf_netplugin_facts_free(&f);
        skip();
    }
    /* libc is in every cache; resolving it exercises the cache lookup */
    char *p = pf_netplugin_resolve(&f, "libc.so.6");
    assert_non_null(p);
    free(p);
    pf_netplugin_facts_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_requests_and_params),
        cmocka_unit_test(test_collect_real_plugins),
        cmocka_unit_test(test_ldconfig_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
