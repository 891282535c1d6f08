/* fatbin.c -- container search and entry-header parsing (see fatbin.h). */
#include "probes/kernels/fatbin.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/kernels/elf.h"

#define CONTAINER_HDR 16u
#define ENTRY_HDR_MIN 0x40u
#define ENTRY_HDR_MAX 0x1000u /* seen: 0x40..0x80; anything near 4 KiB is not a header */
#define ARCH_MIN 10u          /* sm_10 */
#define ARCH_MAX 299u         /* leaves room for CC 29.x; larger is garbage */
#define MAX_CONTAINERS 2000000u
#define MAX_ENTRIES 8000000u
#define PROBLEMS_KEPT 8u

/* The 8 bytes every container we accept starts with: magic, version 1,
 * header size 0x10 (little-endian). */
static const uint8_t container_sig[8] = {0x50, 0xed, 0x55, 0xba, 0x01, 0x00, 0x10, 0x00};

static const char *const named_sections[] = {".nv_fatbin", "__nv_relfatbin", "__nv_fatbin"};

struct pf_fatbin {
    char *path;
    pf_fatbin_file_kind kind;
    uint64_t file_size;
    uint64_t searched;
    char toolkit[96];
    char other[96];
    pf_fatbin_container *cont;
    size_t ncont, cap_cont;
    pf_fatbin_entry *ent;
    size_t nent, cap_ent;
    pf_strv sections;
    pf_strv problems;
    size_t nproblems;
    bool limit_hit;
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void problem(pf_fatbin *fb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(pf_fatbin *fb, const char *fmt, ...)
{
    fb->nproblems++;
    if (fb->problems.n >= PROBLEMS_KEPT)
        return;
    va_list ap;
    va_start(ap, fmt);
    pf_strv_push_owned(&fb->problems, pf_xvasprintf(fmt, ap));
    va_end(ap);
}

static uint32_t section_index(pf_fatbin *fb, const char *name)
{
    for (size_t i = 0; i < fb->sections.n; i++)
        if (strcmp(fb->sections.v[i], name) == 0)
            return (uint32_t)i;
    pf_strv_push(&fb->sections, name);
    return (uint32_t)(fb->sections.n - 1);
}

static pf_fatbin_entry *push_entry(pf_fatbin *fb)
{
    if (fb->nent == fb->cap_ent) {
        fb->cap_ent = fb->cap_ent ? fb->cap_ent * 2 : 64;
        fb->ent = pf_xrealloc(fb->ent, fb->cap_ent * sizeof *fb->ent);
    }
    pf_fatbin_entry *e = &fb->ent[fb->nent++];
    memset(e, 0, sizeof *e);
    return e;
}

static pf_fatbin_container *push_container(pf_fatbin *fb)
{
    if (fb->ncont == fb->cap_cont) {
        fb->cap_cont = fb->cap_cont ? fb->cap_cont * 2 : 16;
        fb->cont = pf_xrealloc(fb->cont, fb->cap_cont * sizeof *fb->cont);
    }
    pf_fatbin_container *c = &fb->cont[fb->ncont++];
    memset(c, 0, sizeof *c);
    return c;
}

/* Whether an uncompressed cubin payload has any kernel code.  Reading its
 * section table costs a page or two and tells a device-link stub (no
 * kernels) from real code without decompressing anything. */
static int8_t payload_has_code(const uint8_t *p, uint64_t n)
{
    if (n < 64 || memcmp(p, "\177ELF", 4) != 0)
        return -1;
    pf_elf *e = pf_elf_from_memory(p, (size_t)n, "cubin", NULL);
    if (!e)
        return -1;
    int8_t r = -1;
    if (pf_elf_machine(e) == PF_ELF_EM_CUDA && pf_elf_section_count(e) > 0)
        r = pf_elf_has_kernel_text(e) ? 1 : 0;
    pf_elf_close(e);
    return r;
}

/* Validate the entry at d+q (container ends at cend) and append it.
 * Returns the offset of the next entry, or 0 with *why set. */
static uint64_t parse_entry(pf_fatbin *fb, const uint8_t *d, uint64_t q, uint64_t cend, const char **why)
{
    if (cend - q < ENTRY_HDR_MIN) {
        *why = "entry header runs past the container end";
        return 0;
    }
    const uint8_t *h = d + q;
    uint16_t kind = rd16(h), version = rd16(h + 2);
    uint32_t hsize = rd32(h + 4);
    uint64_t psize = rd64(h + 8);
    uint32_t arch = rd32(h + 0x1c);
    uint64_t flags = rd64(h + 0x28);
    if (kind != PF_FB_KIND_PTX && kind != PF_FB_KIND_ELF && kind != PF_FB_KIND_OLDCUBIN && kind != PF_FB_KIND_LTOIR) {
        *why = "unknown entry kind";
        return 0;
    }
    if ((version >> 8) != 1) {
        *why = "unknown entry header version";
        return 0;
    }
    if (hsize < ENTRY_HDR_MIN || hsize > ENTRY_HDR_MAX || hsize % 8 != 0) {
        *why = "implausible entry header size";
        return 0;
    }
    if (hsize > cend - q || psize > cend - q - hsize) {
        *why = "entry payload runs past the container end";
        return 0;
    }
    if (arch < ARCH_MIN || arch > ARCH_MAX) {
        *why = "implausible architecture number";
        return 0;
    }
    bool lz4 = flags & PF_FB_FLAG_LZ4, zstd = flags & PF_FB_FLAG_ZSTD;
    uint32_t csize = rd32(h + 0x10);
    if ((lz4 && zstd) || ((lz4 || zstd) && csize > psize)) {
        *why = "inconsistent compression fields";
        return 0;
    }
    if ((flags & PF_FB_FLAG_ARCH_A) && (flags & PF_FB_FLAG_FAMILY_F)) {
        *why = "entry claims both 'a' and 'f'";
        return 0;
    }
    pf_fatbin_entry *e = push_entry(fb);
    e->offset = q;
    e->kind = kind;
    e->header_size = hsize;
    e->payload_size = psize;
    e->compressed_size = (lz4 || zstd) ? csize : 0;
    e->uncompressed_size = (lz4 || zstd) ? rd64(h + 0x38) : 0;
    e->ver_minor = rd16(h + 0x18);
    e->ver_major = rd16(h + 0x1a);
    e->arch = (uint16_t)arch;
    e->flags = flags;
    e->variant = (flags & PF_FB_FLAG_ARCH_A) ? 'a' : (flags & PF_FB_FLAG_FAMILY_F) ? 'f' : 0;
    e->codec = lz4 ? PF_FB_LZ4 : zstd ? PF_FB_ZSTD : PF_FB_RAW;
    e->debug = flags & PF_FB_FLAG_DEBUG;
    e->has_code = (kind == PF_FB_KIND_ELF && e->codec == PF_FB_RAW) ? payload_has_code(h + hsize, psize) : -1;
    return q + hsize + psize;
}

/* Try a container at offset p (signature already matched) inside a region
 * ending at `end`.  Returns its end offset, or 0 when rejected. */
static uint64_t try_container(pf_fatbin *fb, const uint8_t *d, uint64_t p, uint64_t end, uint32_t sec,
                              bool named)
{
    uint64_t fat = rd64(d + p + 8);
    const char *why = NULL;
    size_t ent0 = fb->nent;
    uint64_t cend = 0;
    if (fat == 0)
        why = "it is empty";
    else if (fat > end - p - CONTAINER_HDR)
        why = "its size runs past the end of its section";
    else if (fb->ncont >= MAX_CONTAINERS || fb->nent >= MAX_ENTRIES)
        why = "too many containers in one file; stopped";
    else {
        cend = p + CONTAINER_HDR + fat;
        uint64_t q = p + CONTAINER_HDR;
        uint32_t idx = 0;
        while (q < cend) {
            uint64_t at = q;
            q = parse_entry(fb, d, q, cend, &why);
            if (!q) {
                if (named)
                    problem(fb, "container at 0x%" PRIx64 " in %s: entry %u at 0x%" PRIx64 ": %s", p,
                            fb->sections.v[sec], idx, at, why);
                break;
            }
            idx++;
        }
        if (q == cend) {
            pf_fatbin_container *c = push_container(fb);
            c->offset = p;
            c->size = CONTAINER_HDR + fat;
            c->first = (uint32_t)ent0;
            c->count = (uint32_t)(fb->nent - ent0);
            c->section = sec;
            c->named = named;
            for (size_t i = ent0; i < fb->nent; i++)
                fb->ent[i].container = (uint32_t)(fb->ncont - 1);
            return cend;
        }
        fb->nent = ent0; /* roll back a partly parsed container */
        return 0;
    }
    if (named)
        problem(fb, "container at 0x%" PRIx64 " in %s rejected: %s", p, fb->sections.v[sec], why);
    if (fb->ncont >= MAX_CONTAINERS || fb->nent >= MAX_ENTRIES)
        fb->limit_hit = true;
    return 0;
}

/* Search [start, end) for containers at start + 8k.  memmem finds the
 * 8-byte signature with glibc's vectorised search; a hit off the 8-byte
 * grid is ignored.  Valid containers are skipped whole, so payload bytes
 * (most of a CUDA library) are never searched. */
static void scan_region(pf_fatbin *fb, const uint8_t *d, uint64_t start, uint64_t end, uint32_t sec, bool named)
{
    uint64_t pos = start;
    size_t before = fb->ncont;
    while (end - pos >= CONTAINER_HDR && !fb->limit_hit) {
        const uint8_t *hit = memmem(d + pos, (size_t)(end - pos), container_sig, sizeof container_sig);
        if (!hit) {
            fb->searched += end - pos;
            break;
        }
        uint64_t h = (uint64_t)(hit - d);
        fb->searched += h - pos;
        if (end - h < CONTAINER_HDR) {
            pos = h + 1;
            continue;
        }
        uint64_t next = try_container(fb, d, h, end, sec, named);
        pos = next ? next : h + 8;
    }
    if (named && fb->ncont == before && end - start >= CONTAINER_HDR)
        problem(fb, "section %s (%" PRIu64 " bytes) holds no valid fatbin container", fb->sections.v[sec],
                end - start);
}

static bool is_named(const char *name)
{
    for (size_t i = 0; i < sizeof named_sections / sizeof named_sections[0]; i++)
        if (strcmp(name, named_sections[i]) == 0)
            return true;
    return false;
}

static void scan_elf_sections(pf_fatbin *fb, const pf_elf *e)
{
    size_t n = pf_elf_section_count(e), size = 0;
    const uint8_t *d = pf_elf_bytes(e, &size);
    if (n == 0) {
        /* No section table: search the whole file so nothing is missed. */
        scan_region(fb, d, 0, size, section_index(fb, "(no section table)"), false);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const pf_elf_section *s = pf_elf_section_at(e, i);
        bool named = is_named(s->name);
        if (s->type == PF_ELF_SHT_NOBITS || s->size < CONTAINER_HDR)
            continue;
        /* Only what the loader maps can be registered with the CUDA runtime,
         * and fatbins are data: code sections (.text, 110 MB in cuBLASLt)
         * are skipped, which cuts the warm scan of CUDA 13.0's lib64 from
         * 0.31 s to 0.19 s (docs/PERFORMANCE.md).  A stripped file without
         * a section table is searched whole.  Named sections are read
         * regardless of flags (relocatable objects). */
        if (!named && (!(s->flags & PF_ELF_SHF_ALLOC) || (s->flags & PF_ELF_SHF_EXECINSTR)))
            continue;
        if (!s->in_bounds) {
            problem(fb, "section %s (offset 0x%" PRIx64 ", %" PRIu64 " bytes) lies outside the file (%zu bytes); truncated?",
                    s->name[0] ? s->name : "(unnamed)", s->offset, s->size, size);
            continue;
        }
        scan_region(fb, d, s->offset, s->offset + s->size, section_index(fb, s->name[0] ? s->name : "(unnamed)"),
                    named);
    }
}

static void add_bare_cubin(pf_fatbin *fb, const pf_elf *e)
{
    pf_elf_cubin cu;
    size_t size = 0;
    pf_elf_bytes(e, &size);
    if (pf_elf_cubin_info(e, &cu, NULL) < 0 || cu.sm < (int)ARCH_MIN || cu.sm > (int)ARCH_MAX) {
        problem(fb, "cubin header names no plausible architecture (e_flags 0x%x, ABI %u)", pf_elf_flags(e),
                pf_elf_abiversion(e));
        return;
    }
    pf_strlcpy(fb->toolkit, cu.toolkit, sizeof fb->toolkit);
    pf_fatbin_entry *en = push_entry(fb);
    en->kind = PF_FB_KIND_ELF;
    en->arch = (uint16_t)cu.sm;
    en->variant = cu.variant;
    en->payload_size = size;
    en->ver_major = 1;
    en->ver_minor = (uint16_t)cu.abi_version;
    en->flags = PF_FB_FLAG_64BIT | (cu.variant == 'a' ? PF_FB_FLAG_ARCH_A : 0) |
                (cu.variant == 'f' ? PF_FB_FLAG_FAMILY_F : 0);
    en->has_code = cu.has_code ? 1 : 0;
    pf_fatbin_container *c = push_container(fb);
    c->size = size;
    c->count = 1;
    c->section = section_index(fb, "(cubin)");
    c->named = true;
}

static pf_fatbin *scan_view(pf_elf *e)
{
    size_t size = 0;
    const uint8_t *d = pf_elf_bytes(e, &size);
    pf_fatbin *fb = pf_xcalloc(1, sizeof *fb);
    fb->path = pf_xstrdup(pf_elf_label(e));
    fb->file_size = size;
    if (pf_elf_is_elf(e)) {
        if (pf_elf_machine(e) == PF_ELF_EM_CUDA) {
            fb->kind = PF_FB_FILE_CUBIN;
            add_bare_cubin(fb, e);
        } else {
            fb->kind = PF_FB_FILE_ELF;
            pf_elf_advise_sequential(e);
            scan_elf_sections(fb, e);
        }
    } else if (size >= CONTAINER_HDR && memcmp(d, container_sig, 4) == 0) {
        fb->kind = PF_FB_FILE_FATBIN;
        scan_region(fb, d, 0, size, section_index(fb, "(fatbin file)"), true);
    } else {
        fb->kind = PF_FB_FILE_OTHER;
        snprintf(fb->other, sizeof fb->other, "neither an ELF file nor a CUDA fatbin (starts with %02x %02x %02x %02x)",
                 d[0], size > 1 ? d[1] : 0, size > 2 ? d[2] : 0, size > 3 ? d[3] : 0);
    }
    if (fb->limit_hit)
        problem(fb, "stopped after %zu containers / %zu entries (limit)", fb->ncont, fb->nent);
    return fb;
}

pf_fatbin *pf_fatbin_scan_file(const char *path, pf_err *err)
{
    pf_elf *e = pf_elf_open(path, err);
    if (!e)
        return NULL;
    pf_fatbin *fb = scan_view(e);
    pf_elf_close(e);
    return fb;
}

pf_fatbin *pf_fatbin_scan_memory(const void *data, size_t size, const char *label, pf_err *err)
{
    pf_elf *e = pf_elf_from_memory(data, size, label, err);
    if (!e)
        return NULL;
    pf_fatbin *fb = scan_view(e);
    pf_elf_close(e);
    return fb;
}

void pf_fatbin_free(pf_fatbin *fb)
{
    if (!fb)
        return;
    free(fb->path);
    free(fb->cont);
    free(fb->ent);
    pf_strv_free(&fb->sections);
    pf_strv_free(&fb->problems);
    free(fb);
}

pf_fatbin_file_kind pf_fatbin_kind(const pf_fatbin *fb) { return fb->kind; }
uint64_t pf_fatbin_file_size(const pf_fatbin *fb) { return fb->file_size; }
const char *pf_fatbin_cubin_toolkit(const pf_fatbin *fb) { return fb->toolkit; }
const char *pf_fatbin_describe_other(const pf_fatbin *fb) { return fb->other; }
size_t pf_fatbin_container_count(const pf_fatbin *fb) { return fb->ncont; }
const pf_fatbin_container *pf_fatbin_container_at(const pf_fatbin *fb, size_t i)
{
    return i < fb->ncont ? &fb->cont[i] : NULL;
}
size_t pf_fatbin_entry_count(const pf_fatbin *fb) { return fb->nent; }
const pf_fatbin_entry *pf_fatbin_entry_at(const pf_fatbin *fb, size_t i) { return i < fb->nent ? &fb->ent[i] : NULL; }
const char *pf_fatbin_section_name(const pf_fatbin *fb, uint32_t section)
{
    return section < fb->sections.n ? fb->sections.v[section] : "?";
}
size_t pf_fatbin_problem_count(const pf_fatbin *fb) { return fb->nproblems; }
size_t pf_fatbin_problem_kept(const pf_fatbin *fb) { return fb->problems.n; }
const char *pf_fatbin_problem(const pf_fatbin *fb, size_t i) { return i < fb->problems.n ? fb->problems.v[i] : NULL; }

void pf_fatbin_entry_name(const pf_fatbin_entry *e, char *buf, size_t len)
{
    const char *pre = e->kind == PF_FB_KIND_PTX     ? "compute"
                      : e->kind == PF_FB_KIND_ELF   ? "sm"
                      : e->kind == PF_FB_KIND_LTOIR ? "lto"
                                                    : "oldcubin";
    if (e->variant)
        snprintf(buf, len, "%s_%u%c", pre, e->arch, e->variant);
    else
        snprintf(buf, len, "%s_%u", pre, e->arch);
}

const char *pf_fatbin_codec_name(uint8_t codec)
{
    return codec == PF_FB_LZ4 ? "lz4" : codec == PF_FB_ZSTD ? "zstd" : "raw";
}

bool pf_fatbin_container_is_empty(const pf_fatbin *fb, const pf_fatbin_container *c)
{
    bool any_elf = false;
    for (uint32_t i = 0; i < c->count; i++) {
        const pf_fatbin_entry *e = &fb->ent[c->first + i];
        if (e->kind == PF_FB_KIND_PTX)
            return false;
        if (e->kind == PF_FB_KIND_ELF) {
            if (e->has_code != 0)
                return false;
            any_elf = true;
        }
    }
    return any_elf;
}
