/* net_verdict.c -- see net_verdict.h. */
#include "probes/net/net_verdict.h"

#include <stdlib.h>
#include <string.h>

void pf_net_verdict_init(pf_net_verdict *vd)
{
    memset(vd, 0, sizeof *vd);
    vd->status = PF_PASS;
}

void pf_net_verdict_free(pf_net_verdict *vd)
{
    if (!vd)
        return;
    for (size_t i = 0; i < vd->n; i++) {
        free(vd->v[i].code);
        free(vd->v[i].msg);
    }
    free(vd->v);
    pf_strv_free(&vd->remedies);
    memset(vd, 0, sizeof *vd);
}

void pf_net_verdict_add(pf_net_verdict *vd, pf_status sev, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = pf_xvasprintf(fmt, ap);
    va_end(ap);
    vd->v = pf_xrealloc(vd->v, (vd->n + 1) * sizeof *vd->v);
    vd->v[vd->n].sev = sev;
    vd->v[vd->n].code = pf_xstrdup(code);
    vd->v[vd->n].msg = msg;
    vd->n++;
    if (sev == PF_WARN || sev == PF_FAIL || sev == PF_ERROR)
        vd->status = pf_status_worst(vd->status, sev);
}

void pf_net_verdict_remedy(pf_net_verdict *vd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *r = pf_xvasprintf(fmt, ap);
    va_end(ap);
    if (pf_strv_contains(&vd->remedies, r))
        free(r);
    else
        pf_strv_push_owned(&vd->remedies, r);
}

bool pf_net_verdict_has(const pf_net_verdict *vd, const char *code)
{
    for (size_t i = 0; i < vd->n; i++)
        if (strcmp(vd->v[i].code, code) == 0)
            return true;
    return false;
}

json_t *pf_net_verdict_findings_json(const pf_net_verdict *vd)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < vd->n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "severity", json_string(vd->v[i].sev == PF_PASS ? "note" : pf_status_name(vd->v[i].sev)));
        json_object_set_new(o, "code", json_string(vd->v[i].code));
        json_object_set_new(o, "message", pf_net_jstr(vd->v[i].msg));
        json_array_append_new(arr, o);
    }
    return arr;
}

char *pf_net_verdict_remedy_text(const pf_net_verdict *vd)
{
    if (vd->remedies.n == 0)
        return NULL;
    size_t len = 1;
    for (size_t i = 0; i < vd->remedies.n; i++)
        len += strlen(vd->remedies.v[i]) + 2;
    char *out = pf_xmalloc(len);
    out[0] = '\0';
    for (size_t i = 0; i < vd->remedies.n; i++) {
        if (i)
            strcat(out, "; ");
        strcat(out, vd->remedies.v[i]);
    }
    return out;
}

json_t *pf_net_jstr(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = pf_xstrdup(s);
    for (unsigned char *p = (unsigned char *)copy; *p; p++)
        if (*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j ? j : json_string("?");
}
