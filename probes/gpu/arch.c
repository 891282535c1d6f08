/* arch.c -- compatibility rules (see arch.h for sources). */
#include "probes/gpu/arch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Table 28 (CUDA Programming Guide, Dec 2025), plus sm_101f: CUDA 12.9's
 * name for Thor's family before CUDA 13 renamed it to 110. */
static const struct {
    int fam;
    int members[3];
} families[] = {
    {100, {100, 103, 0}}, {101, {101, 0, 0}}, {103, {103, 0, 0}},
    {110, {110, 0, 0}},   {120, {120, 121, 0}}, {121, {121, 0, 0}},
};

bool pf_arch_family_has(int fam, int dev)
{
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        if (families[i].fam != fam)
            continue;
        for (size_t j = 0; j < 3 && families[i].members[j]; j++)
            if (families[i].members[j] == dev)
                return true;
        return false;
    }
    /* A family the table does not list yet: ptxas 13.0's general rule,
     * "sm_XYf ... sm_XZ where Z >= Y and sm_XY and sm_XZ belong in same
     * family", approximated by same major. */
    return fam / 10 == dev / 10 && fam % 10 <= dev % 10;
}

bool pf_arch_sass_runs(int arch, char variant, int dev)
{
    if (arch <= 0 || dev <= 0)
        return false;
    if (variant == 'a')
        return arch == dev;
    if (variant == 'f')
        return pf_arch_family_has(arch, dev);
    return arch / 10 == dev / 10 && arch % 10 <= dev % 10;
}

bool pf_arch_ptx_arch_ok(int arch, char variant, int dev)
{
    if (arch <= 0 || dev <= 0)
        return false;
    if (variant == 'a')
        return arch == dev;
    if (variant == 'f')
        return pf_arch_family_has(arch, dev);
    return arch <= dev;
}

/* PTX ISA -> first CUDA release that reads it (NVIDIA/cuda-python
 * _ptx_utils.py, "official PTX ISA <-> CUDA Release table").  Note 8.6 is
 * 12.7 (12.6 still used 8.5). */
static const struct {
    int isa;  /* 10*major + minor */
    int cuda; /* 1000*major + 10*minor */
} ptx_table[] = {
    {60, 9000},  {61, 9010},  {62, 9020},  {63, 10000}, {64, 10010}, {65, 10020},
    {70, 11000}, {71, 11010}, {72, 11020}, {73, 11030}, {74, 11040}, {75, 11050},
    {76, 11060}, {77, 11070}, {78, 11080}, {80, 12000}, {81, 12010}, {82, 12020},
    {83, 12030}, {84, 12040}, {85, 12050}, {86, 12070}, {87, 12080}, {88, 12090},
    {90, 13000}, {91, 13010},
};

int pf_arch_ptx_min_driver(int isa_major, int isa_minor)
{
    if (isa_minor < 0 || isa_minor > 9)
        return -1;
    int isa = isa_major * 10 + isa_minor;
    for (size_t i = 0; i < sizeof ptx_table / sizeof ptx_table[0]; i++)
        if (ptx_table[i].isa == isa)
            return ptx_table[i].cuda;
    return -1;
}

pf_ptx_jit pf_arch_ptx_jit(int arch, char variant, int isa_major, int isa_minor, int dev, int driver_version)
{
    if (!pf_arch_ptx_arch_ok(arch, variant, dev))
        return PF_PTX_JIT_ARCH;
    if (driver_version <= 0)
        return PF_PTX_JIT_OK;
    int need = pf_arch_ptx_min_driver(isa_major, isa_minor);
    if (need < 0) {
        /* An ISA newer than the table: only a driver newer than the newest
         * release we know can have it. */
        int newest = ptx_table[sizeof ptx_table / sizeof ptx_table[0] - 1].cuda;
        int isa = isa_major * 10 + isa_minor;
        if (isa > ptx_table[sizeof ptx_table / sizeof ptx_table[0] - 1].isa && driver_version > newest)
            return PF_PTX_JIT_OK;
        return PF_PTX_JIT_DRIVER_OLD;
    }
    return driver_version >= need ? PF_PTX_JIT_OK : PF_PTX_JIT_DRIVER_OLD;
}

void pf_arch_code_name(int arch, char variant, bool ptx, char *buf, size_t len)
{
    if (variant == 'a' || variant == 'f')
        snprintf(buf, len, "%s_%d%c", ptx ? "compute" : "sm", arch, variant);
    else
        snprintf(buf, len, "%s_%d", ptx ? "compute" : "sm", arch);
}

void pf_arch_cc_str(int dev, char *buf, size_t len) { snprintf(buf, len, "%d.%d", dev / 10, dev % 10); }

const char *pf_arch_device_note(int dev)
{
    switch (dev) {
    case 75: return "Turing (T4, RTX 20xx)";
    case 80: return "A100 / A30";
    case 86: return "Ampere (RTX 30xx, A10, A40)";
    case 87: return "Jetson Orin";
    case 89: return "Ada (L4, L40S, RTX 40xx)";
    case 90: return "Hopper (H100, H200, GH200)";
    case 100: return "Blackwell (B200, GB200)";
    case 101:
        return "Jetson Thor under the CUDA 12.8/12.9 numbering (sm_101); with CUDA 13 / JetPack 7 "
               "the same GPU reports 11.0 and needs sm_110 code";
    case 103: return "Blackwell Ultra (B300, GB300)";
    case 110: return "Jetson Thor (CUDA 13 numbering; was sm_101 in CUDA 12.8/12.9)";
    case 120: return "Blackwell (RTX 50xx, RTX PRO 6000)";
    case 121: return "DGX Spark GB10";
    default: return "";
    }
}

/* torch 2.11 cpp_extension.py: supported_arches and named_arches (combined
 * names first, as torch replaces them in this order). */
static const char *const torch_supported[] = {
    "3.5", "3.7", "5.0", "5.2", "5.3", "6.0", "6.1", "6.2", "7.0", "7.2", "7.5", "8.0", "8.6", "8.7",
    "8.9", "9.0", "9.0a", "10.0", "10.0a", "11.0", "11.0a", "10.3", "10.3a", "12.0", "12.0a", "12.1", "12.1a",
};
static const char *const torch_named[][2] = {
    {"Kepler+Tesla", "3.7"},      {"Kepler", "3.5+PTX"},   {"Maxwell+Tegra", "5.3"},
    {"Maxwell", "5.0;5.2+PTX"},   {"Pascal", "6.0;6.1+PTX"}, {"Volta+Tegra", "7.2"},
    {"Volta", "7.0+PTX"},         {"Turing", "7.5+PTX"},   {"Ampere+Tegra", "8.7"},
    {"Ampere", "8.0;8.6+PTX"},    {"Ada", "8.9+PTX"},      {"Hopper", "9.0+PTX"},
    {"Blackwell+Tegra", "11.0"},  {"Blackwell", "10.0;10.3;12.0;12.1+PTX"},
};

/* str.replace(old, new) for every occurrence, as Python does. */
static char *replace_all(const char *s, const char *old, const char *new_)
{
    size_t ol = strlen(old), nl = strlen(new_), count = 0;
    for (const char *p = strstr(s, old); p; p = strstr(p + ol, old))
        count++;
    char *out = pf_xmalloc(strlen(s) + count * nl + 1), *w = out;
    for (const char *p = s;;) {
        const char *hit = strstr(p, old);
        if (!hit) {
            strcpy(w, p);
            break;
        }
        memcpy(w, p, (size_t)(hit - p));
        w += hit - p;
        memcpy(w, new_, nl);
        w += nl;
        p = hit + ol;
    }
    return out;
}

static bool torch_item_valid(const char *item)
{
    size_t n = strlen(item);
    char base[16];
    if (n >= 4 && strcmp(item + n - 4, "+PTX") == 0)
        n -= 4;
    if (n == 0 || n >= sizeof base)
        return false;
    memcpy(base, item, n);
    base[n] = '\0';
    for (size_t i = 0; i < sizeof torch_supported / sizeof torch_supported[0]; i++)
        if (strcmp(base, torch_supported[i]) == 0)
            return true;
    return false;
}

int pf_arch_torch_list_parse(const char *value, pf_torch_arch_list *out)
{
    memset(out, 0, sizeof *out);
    if (!value || !*value || strcmp(value, "native") == 0) {
        out->native = true;
        return 0;
    }
    char *s = replace_all(value, " ", ";");
    for (size_t i = 0; i < sizeof torch_named / sizeof torch_named[0]; i++) {
        char *t = replace_all(s, torch_named[i][0], torch_named[i][1]);
        free(s);
        s = t;
    }
    int rc = 0;
    char *cur = s;
    /* split(';') keeps empty items ("9.0;" -> ["9.0", ""]), which torch
     * rejects, so walk separators by hand instead of strtok. */
    for (;;) {
        char *sep = strchr(cur, ';');
        if (sep)
            *sep = '\0';
        if (!torch_item_valid(cur)) {
            const char *why = strchr(cur, 'f') && !strstr(cur, "PTX")
                                  ? "; torch 2.11 does not accept family ('f') targets"
                                  : "";
            snprintf(out->error, sizeof out->error,
                     "torch rejects it: ValueError: Unknown CUDA arch (%s) or GPU not supported%s", cur, why);
            rc = -1;
            break;
        }
        if (out->n < PF_TORCH_ARCH_MAX) {
            pf_torch_arch *a = &out->item[out->n++];
            int maj = 0, min = 0;
            char rest[8] = "";
            sscanf(cur, "%d.%d%7s", &maj, &min, rest);
            a->arch = maj * 10 + min;
            a->variant = rest[0] == 'a' ? 'a' : 0;
            a->ptx = strstr(cur, "+PTX") != NULL;
        }
        if (!sep)
            break;
        cur = sep + 1;
    }
    free(s);
    return rc;
}

pf_cover pf_arch_torch_list_covers(const pf_torch_arch_list *l, int dev)
{
    pf_cover best = PF_COVER_NONE;
    for (size_t i = 0; i < l->n; i++) {
        const pf_torch_arch *a = &l->item[i];
        if (pf_arch_sass_runs(a->arch, a->variant, dev))
            return PF_COVER_NATIVE;
        if (a->ptx && pf_arch_ptx_arch_ok(a->arch, a->variant, dev))
            best = PF_COVER_JIT;
    }
    return best;
}
