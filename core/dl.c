/* dl.c -- see dl.h.
 *
 * dlsym() may legitimately return NULL for a symbol that exists (a data
 * symbol whose value is 0); none of the libraries we bind exports such a
 * thing, so NULL is read as "missing".  dlerror() is cleared before each
 * lookup so a stale message from an earlier call never names the wrong
 * symbol. */
#include "core/dl.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

/* Append the strings of parts[] (NULL-terminated) to a fixed message
 * buffer; a message that would not fit ends in "..." rather than being cut
 * silently. */
static void msg_add(char *buf, size_t cap, size_t *len, const char *const *parts)
{
    for (; *parts; parts++) {
        if (*len >= cap)
            return;
        size_t k = strlen(*parts);
        if (k >= cap - *len) {
            memcpy(buf + *len, *parts, cap - *len - 1);
            if (cap >= 4)
                memcpy(buf + cap - 4, "...", 4);
            *len = cap;
            return;
        }
        memcpy(buf + *len, *parts, k + 1);
        *len += k;
    }
}

void *pf_dl_open(const char *const *candidates, size_t n, int flags, char *path_out, size_t cap,
                 pf_err *err)
{
    if (flags == 0)
        flags = RTLD_NOW | RTLD_LOCAL;
    if (path_out && cap)
        path_out[0] = '\0';
    char why[sizeof err->msg - 16];
    size_t len = 0;
    why[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i] || !*candidates[i])
            continue;
        dlerror();
        void *h = dlopen(candidates[i], flags);
        if (h) {
            if (path_out && cap) {
                struct link_map *lm = NULL;
                if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && *lm->l_name)
                    pf_strlcpy(path_out, lm->l_name, cap);
                else
                    pf_strlcpy(path_out, candidates[i], cap);
            }
            return h;
        }
        const char *e = dlerror();
        msg_add(why, sizeof why, &len,
                (const char *const[]){len ? "; " : "", candidates[i], ": ", e ? e : "dlopen failed", NULL});
    }
    if (n == 0 || !len)
        pf_err_set(err, "no library to load (no candidate given)");
    else
        pf_err_set(err, "cannot load %s", why);
    return NULL;
}

static void *lookup(void *handle, const char *name)
{
    dlerror();
    return name ? dlsym(handle, name) : NULL;
}

int pf_dl_bind(void *handle, const char *libname, const pf_dl_sym *syms, size_t n, pf_err *err)
{
    char missing[sizeof err->msg - 64];
    size_t len = 0;
    missing[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        void *p = lookup(handle, syms[i].name);
        if (!p && syms[i].alt)
            p = lookup(handle, syms[i].alt);
        *syms[i].slot = p;
        if (!p && !syms[i].optional) {
            msg_add(missing, sizeof missing, &len, (const char *const[]){len ? ", " : "", syms[i].name, NULL});
            if (syms[i].alt)
                msg_add(missing, sizeof missing, &len, (const char *const[]){" (or ", syms[i].alt, ")", NULL});
        }
    }
    if (!len)
        return 0;
    for (size_t i = 0; i < n; i++)
        *syms[i].slot = NULL;
    return pf_err_set(err, "%s has no symbol %s", libname ? libname : "library", missing);
}
