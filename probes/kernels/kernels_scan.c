/* kernels_scan.c -- walk and scan (see kernels_scan.h). */
#include "probes/kernels/kernels_scan.h"
#include "core/sig.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 40

typedef struct kfile_priv {
    pf_kfile pub;
    char *path, *package, *error, *arch_dir, *alt_key;
    pf_fatbin *fb;
    bool explicit_;
} kfile_priv;

struct pf_kscan {
    kfile_priv *files;
    size_t n, cap;
    pf_karch_dir *dirs; /* paths owned */
    size_t ndirs, cap_dirs;
    /* (dev, ino) of every file read, open addressing; 0/0 = empty slot */
    uint64_t (*seen)[2];
    size_t seen_n, seen_cap;
    size_t skipped;
    double seconds;
    uint64_t bytes;
};

pf_kscan *pf_kscan_new(void) { return pf_xcalloc(1, sizeof(pf_kscan)); }

void pf_kscan_free(pf_kscan *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++) {
        kfile_priv *f = &ks->files[i];
        free(f->path);
        free(f->package);
        free(f->error);
        free(f->arch_dir);
        free(f->alt_key);
        pf_fatbin_free(f->fb);
    }
    for (size_t i = 0; i < ks->ndirs; i++)
        free((char *)ks->dirs[i].path);
    free(ks->files);
    free(ks->dirs);
    free(ks->seen);
    free(ks);
}

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t h = a * 0x9e3779b97f4a7c15ull ^ (b + 0x7f4a7c159e3779b9ull + (a << 6) + (a >> 2));
    return h ^ (h >> 31);
}

/* Returns true when (dev, ino) was already seen; records it otherwise. */
static bool seen_before(pf_kscan *ks, uint64_t dev, uint64_t ino)
{
    if (ks->seen_n * 2 >= ks->seen_cap) {
        size_t ncap = ks->seen_cap ? ks->seen_cap * 2 : 1024;
        uint64_t(*nt)[2] = pf_xcalloc(ncap, sizeof *nt);
        for (size_t i = 0; i < ks->seen_cap; i++) {
            if (!ks->seen[i][0] && !ks->seen[i][1])
                continue;
            size_t j = mix(ks->seen[i][0], ks->seen[i][1]) & (ncap - 1);
            while (nt[j][0] || nt[j][1])
                j = (j + 1) & (ncap - 1);
            nt[j][0] = ks->seen[i][0];
            nt[j][1] = ks->seen[i][1];
        }
        free(ks->seen);
        ks->seen = nt;
        ks->seen_cap = ncap;
    }
    uint64_t k0 = dev + 1, k1 = ino; /* +1: never the empty marker */
    size_t j = mix(k0, k1) & (ks->seen_cap - 1);
    while (ks->seen[j][0] || ks->seen[j][1]) {
        if (ks->seen[j][0] == k0 && ks->seen[j][1] == k1)
            return true;
        j = (j + 1) & (ks->seen_cap - 1);
    }
    ks->seen[j][0] = k0;
    ks->seen[j][1] = k1;
    ks->seen_n++;
    return false;
}

bool pf_kscan_is_arch_name(const char *name)
{
    const char *p = name;
    if ((p[0] != 's' && p[0] != 'S') || (p[1] != 'm' && p[1] != 'M'))
        return false;
    p += 2;
    if (*p == '_')
        p++;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        p++;
        digits++;
    }
    if (digits < 2 || digits > 3)
        return false;
    if (*p == 'a' || *p == 'f')
        p++;
    return *p == '\0';
}

static bool wanted_name(const char *name)
{
    if (pf_str_endswith(name, ".so") || pf_str_endswith(name, ".cubin") || pf_str_endswith(name, ".fatbin"))
        return true;
    /* libfoo.so.12, libfoo.so.13.0.88 */
    const char *so = strstr(name, ".so.");
    if (!so)
        return false;
    for (const char *p = so + 4; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.'))
            return false;
    return true;
}

static kfile_priv *push_file(pf_kscan *ks)
{
    if (ks->n == ks->cap) {
        ks->cap = ks->cap ? ks->cap * 2 : 64;
        ks->files = pf_xrealloc(ks->files, ks->cap * sizeof *ks->files);
    }
    kfile_priv *f = &ks->files[ks->n++];
    memset(f, 0, sizeof *f);
    return f;
}

static void set_arch_info(kfile_priv *f)
{
    char *copy = pf_xstrdup(f->path);
    char *slash = strrchr(copy, '/');
    if (slash && slash != copy) {
        *slash = '\0';
        const char *base = slash + 1;
        char *pslash = strrchr(copy, '/');
        const char *parent = pslash ? pslash + 1 : copy;
        if (pf_kscan_is_arch_name(parent)) {
            f->arch_dir = pf_xstrdup(parent);
            if (pslash) {
                *pslash = '\0';
                f->alt_key = pf_xasprintf("%s/(arch)/%s", copy, base);
            }
        }
    }
    free(copy);
}

static void scan_one(pf_kscan *ks, const char *path, const char *package, bool explicit_path)
{
    pf_err err = {{0}};
    double t0 = pf_now();
    pf_fatbin *fb = pf_fatbin_scan_file(path, &err);
    ks->seconds += pf_now() - t0;
    if (fb && pf_fatbin_kind(fb) == PF_FB_FILE_OTHER && !explicit_path) {
        ks->skipped++; /* lib*.so linker scripts and the like */
        pf_fatbin_free(fb);
        return;
    }
    kfile_priv *f = push_file(ks);
    f->path = pf_xstrdup(path);
    f->package = pf_xstrdup(package ? package : path);
    f->explicit_ = explicit_path;
    if (fb && pf_fatbin_kind(fb) == PF_FB_FILE_OTHER) {
        f->error = pf_xasprintf("%s is %s", path, pf_fatbin_describe_other(fb));
        pf_fatbin_free(fb);
    } else if (fb) {
        f->fb = fb;
        ks->bytes += pf_fatbin_file_size(fb);
    } else {
        f->error = pf_xstrdup(err.msg);
    }
    set_arch_info(f);
}

static pf_karch_dir *note_arch_dir(pf_kscan *ks, const char *path)
{
    if (ks->ndirs == ks->cap_dirs) {
        ks->cap_dirs = ks->cap_dirs ? ks->cap_dirs * 2 : 16;
        ks->dirs = pf_xrealloc(ks->dirs, ks->cap_dirs * sizeof *ks->dirs);
    }
    pf_karch_dir *d = &ks->dirs[ks->ndirs++];
    d->path = pf_xstrdup(path);
    d->binaries = 0;
    return d;
}

/* A file found by a walk: follow a symlink only to a regular file, and read
 * each file once. */
static size_t scan_walked(pf_kscan *ks, const char *path, const char *package)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        ks->skipped++; /* dangling symlink, or a link to a directory */
        return 0;
    }
    if (seen_before(ks, (uint64_t)st.st_dev, (uint64_t)st.st_ino))
        return 0;
    size_t before = ks->n;
    scan_one(ks, path, package, false);
    return ks->n - before;
}

static size_t walk(pf_kscan *ks, const char *dir, const char *package, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        kfile_priv *f = push_file(ks);
        f->path = pf_xstrdup(dir);
        f->package = pf_xstrdup(package ? package : dir);
        pf_err err;
        pf_err_errno(&err, errno, "cannot read directory %s", dir);
        f->error = pf_xstrdup(err.msg);
        return 0;
    }
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    size_t arch_idx = (size_t)-1;
    if (pf_kscan_is_arch_name(base)) {
        note_arch_dir(ks, dir);
        arch_idx = ks->ndirs - 1;
    }
    size_t added = 0;
    struct dirent *de;
    pf_strv links = {0};
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (pf_sig_count()) /* being stopped (core/sig.h): the caller says so */
            break;
        char *child = pf_path_join(dir, name);
        struct stat lst;
        if (lstat(child, &lst) != 0) {
            free(child);
            continue;
        }
        if (S_ISDIR(lst.st_mode)) {
            if (depth < MAX_DEPTH)
                added += walk(ks, child, package, depth + 1);
        } else if (S_ISLNK(lst.st_mode) && wanted_name(name)) {
            pf_strv_push(&links, child); /* after the real files, so libcublas.so.13 wins over libcublas.so */
        } else if (S_ISREG(lst.st_mode) && wanted_name(name)) {
            added += scan_walked(ks, child, package);
        }
        free(child);
    }
    for (size_t i = 0; i < links.n; i++)
        added += scan_walked(ks, links.v[i], package);
    pf_strv_free(&links);
    closedir(d);
    if (arch_idx != (size_t)-1)
        ks->dirs[arch_idx].binaries = added;
    return added;
}

size_t pf_kscan_add(pf_kscan *ks, const char *path, const char *package, bool explicit_path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return walk(ks, path, package, 0);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && seen_before(ks, (uint64_t)st.st_dev, (uint64_t)st.st_ino))
        return 0;
    size_t before = ks->n;
    /* Missing files, FIFOs, devices: pf_fatbin_scan_file names the problem. */
    scan_one(ks, path, package, explicit_path);
    return ks->n - before;
}

size_t pf_kscan_count(const pf_kscan *ks) { return ks->n; }

const pf_kfile *pf_kscan_file(const pf_kscan *ks, size_t i)
{
    if (i >= ks->n)
        return NULL;
    kfile_priv *f = &ks->files[i];
    f->pub.path = f->path;
    f->pub.package = f->package;
    f->pub.fb = f->fb;
    f->pub.error = f->error;
    f->pub.arch_dir = f->arch_dir;
    f->pub.alt_key = f->alt_key;
    f->pub.explicit_path = f->explicit_;
    return &f->pub;
}

size_t pf_kscan_arch_dir_count(const pf_kscan *ks) { return ks->ndirs; }

const pf_karch_dir *pf_kscan_arch_dir(const pf_kscan *ks, size_t i)
{
    return i < ks->ndirs ? &ks->dirs[i] : NULL;
}

size_t pf_kscan_skipped(const pf_kscan *ks) { return ks->skipped; }
double pf_kscan_seconds(const pf_kscan *ks) { return ks->seconds; }
uint64_t pf_kscan_bytes(const pf_kscan *ks) { return ks->bytes; }
