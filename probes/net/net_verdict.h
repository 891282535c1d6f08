/* net_verdict.h -- what the pure network decisions hand back: a status and
 * the sentences that explain it, so the decision functions never touch the
 * run record and tests can read their findings directly.
 */
#ifndef PF_NET_VERDICT_H
#define PF_NET_VERDICT_H

#include <jansson.h>
#include <stddef.h>

#include "core/record.h"
#include "core/util.h"

typedef struct pf_net_finding {
    pf_status sev;             /* PF_WARN or PF_FAIL (PF_PASS: informational note) */
    char *code;                /* stable key for tests and the cluster phase, e.g. "virtual" */
    char *msg;
} pf_net_finding;

typedef struct pf_net_verdict {
    pf_status status;          /* worst finding; PF_PASS when none */
    pf_net_finding *v;
    size_t n;
    pf_strv remedies;          /* distinct remedy lines, in order of first use */
} pf_net_verdict;

void pf_net_verdict_init(pf_net_verdict *vd);
void pf_net_verdict_free(pf_net_verdict *vd);
void pf_net_verdict_add(pf_net_verdict *vd, pf_status sev, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pf_net_verdict_remedy(pf_net_verdict *vd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Does a finding with this code exist? */
bool pf_net_verdict_has(const pf_net_verdict *vd, const char *code);
/* [{"severity":"warn","code":..,"message":..}, ...] */
json_t *pf_net_verdict_findings_json(const pf_net_verdict *vd);
/* Remedies joined with "; " (heap) or NULL when none. */
char *pf_net_verdict_remedy_text(const pf_net_verdict *vd);

/* A JSON string for text that came from the system (interface names, file
 * contents): invalid UTF-8 bytes become '?', so nothing is dropped. */
json_t *pf_net_jstr(const char *s);

#endif
