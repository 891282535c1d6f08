/* prom.c -- see prom.h. */
#include "reports/prom.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/record.h"
#include "reports/view.h"

/* A label value: \ " and newline escaped (text format's quotedEscaper). */
static void lv(FILE *f, const char *s)
{
    fputc('"', f);
    for (size_t i = 0; s && s[i] && i < 512; i++) {
        if (s[i] == '\\')
            fputs("\\\\", f);
        else if (s[i] == '"')
            fputs("\\\"", f);
        else if (s[i] == '\n')
            fputs("\\n", f);
        else
            fputc(s[i], f);
    }
    fputc('"', f);
}

static void value(FILE *f, double v)
{
    if (isnan(v))
        fputs(" NaN\n", f);
    else if (isinf(v))
        fputs(v > 0 ? " +Inf\n" : " -Inf\n", f);
    else
        fprintf(f, " %.17g\n", v);
}

int pf_prom_render(FILE *f, const pf_loaded *l)
{
    const json_t *r = l->root;
    size_t cnt[PF_STATUS_COUNT];
    pf_view_counts(r, cnt);
    fputs("# HELP preflight_checks Checks of the last run by status.\n# TYPE preflight_checks gauge\n", f);
    for (int s = 0; s < PF_STATUS_COUNT; s++) {
        fputs("preflight_checks{status=", f);
        lv(f, pf_status_name((pf_status)s));
        fputc('}', f);
        value(f, (double)cnt[s]);
    }
    fputs("# HELP preflight_exit_code Exit code of the last run (0 ok, 1 failed, 2 usage, 3 incomplete).\n"
          "# TYPE preflight_exit_code gauge\n", f);
    fputs("preflight_exit_code", f);
    value(f, pf_view_exit_code(r));
    /* started_at "2026-12-01T10:00:00.000Z" -> Unix seconds */
    const char *sa = pf_view_str(r, "started_at");
    struct tm tm = {0};
    if (sa && sscanf(sa, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                     &tm.tm_sec) == 6) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        fputs("# HELP preflight_last_run_timestamp_seconds When the run started (Unix time).\n"
              "# TYPE preflight_last_run_timestamp_seconds gauge\npreflight_last_run_timestamp_seconds", f);
        value(f, (double)timegm(&tm));
    }
    fputs("# HELP preflight_record_complete 1 when the record is complete.\n# TYPE preflight_record_complete gauge\n"
          "preflight_record_complete", f);
    value(f, l->incomplete ? 0 : 1);
    fputs("# HELP preflight_check_ok 1 when the check passed (or was skipped), 0 otherwise.\n"
          "# TYPE preflight_check_ok gauge\n", f);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r, "checks"), i, c) {
        pf_status st = pf_view_status(c);
        fputs("preflight_check_ok{node=", f);
        lv(f, pf_view_node(c));
        fputs(",check=", f);
        lv(f, pf_view_str(c, "id"));
        fputs(",peer=", f);
        lv(f, pf_view_peer(c) ? pf_view_peer(c) : "");
        fputs(",status=", f);
        lv(f, pf_status_name(st));
        fputc('}', f);
        value(f, st == PF_PASS || st == PF_SKIP ? 1 : 0);
    }
    bool head = false;
    json_array_foreach(json_object_get(r, "checks"), i, c) {
        double m = pf_view_num(c, "measured");
        if (isnan(m))
            continue;
        if (!head) {
            fputs("# HELP preflight_check_measured What a numeric check measured (unit in the label).\n"
                  "# TYPE preflight_check_measured gauge\n", f);
            head = true;
        }
        fputs("preflight_check_measured{node=", f);
        lv(f, pf_view_node(c));
        fputs(",check=", f);
        lv(f, pf_view_str(c, "id"));
        fputs(",peer=", f);
        lv(f, pf_view_peer(c) ? pf_view_peer(c) : "");
        fputs(",unit=", f);
        lv(f, pf_view_str(c, "unit") ? pf_view_str(c, "unit") : "");
        fputc('}', f);
        value(f, m);
    }
    static const struct {
        const char *key, *name, *help;
        double scale;
    } bk[] = {{"request_throughput", "preflight_bench_request_throughput", "Requests per second.", 1},
              {"output_throughput", "preflight_bench_output_tokens_per_second", "Output tokens per second.", 1},
              {"p99_ttft_ms", "preflight_bench_ttft_p99_seconds", "Time to first token, 99th percentile.", 1e-3},
              {"p99_itl_ms", "preflight_bench_itl_p99_seconds", "Inter-token latency, 99th percentile.", 1e-3},
              {"p99_e2e_latency_ms", "preflight_bench_e2e_p99_seconds", "End-to-end latency, 99th percentile.", 1e-3},
              {"failed", "preflight_bench_failed_requests", "Failed requests in the level.", 1}};
    const json_t *levels = json_object_get(json_object_get(r, "bench"), "levels");
    for (size_t k = 0; json_array_size(levels) && k < sizeof bk / sizeof bk[0]; k++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", bk[k].name, bk[k].help, bk[k].name);
        json_t *lvl;
        json_array_foreach(levels, i, lvl) {
            double cc = pf_view_num(lvl, "max_concurrency");
            char lab[32];
            snprintf(lab, sizeof lab, isnan(cc) ? "unlimited" : "%.0f", cc);
            fprintf(f, "%s{concurrency=", bk[k].name);
            lv(f, lab);
            fputc('}', f);
            value(f, pf_view_num(json_object_get(lvl, "metrics"), bk[k].key) * bk[k].scale);
        }
    }
    const json_t *p2p = json_object_get(json_object_get(r, "nccl"), "p2p");
    if (json_array_size(p2p)) {
        fputs("# HELP preflight_nccl_p2p_bytes_per_second NCCL point-to-point bandwidth.\n"
              "# TYPE preflight_nccl_p2p_bytes_per_second gauge\n", f);
        json_t *e;
        json_array_foreach(p2p, i, e) {
            fputs("preflight_nccl_p2p_bytes_per_second{from=", f);
            lv(f, pf_view_str(e, "from") ? pf_view_str(e, "from") : "");
            fputs(",to=", f);
            lv(f, pf_view_str(e, "to") ? pf_view_str(e, "to") : "");
            fputc('}', f);
            value(f, pf_view_num(e, "gbytes_s") * 1e9);
        }
    }
    return ferror(f) ? -1 : 0;
}
