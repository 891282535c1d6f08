/* elf.c -- bounds-checked ELF64 reader (see elf.h). */
#include "probes/kernels/elf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define EHDR_SIZE 64u
#define SHDR_SIZE 64u
#define SHN_XINDEX 0xffffu

struct pf_elf {
    char *label;
    const uint8_t *data;
    size_t size;
    bool mapped;
    bool is_elf;
    uint16_t type, machine;
    uint32_t flags;
    uint8_t osabi, abiversion;
    pf_elf_section *secs;
    size_t nsecs;
};

/* Little-endian loads that never assume alignment. */
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v; /* preflight only runs on little-endian hosts (x86-64, aarch64) */
}
static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* off+len inside [0,size) without overflow. */
static bool range_ok(uint64_t off, uint64_t len, size_t size)
{
    return off <= size && len <= size - off;
}

static int parse_sections(pf_elf *e, pf_err *err)
{
    const uint8_t *h = e->data;
    uint64_t shoff = rd64(h + 0x28);
    uint16_t shentsize = rd16(h + 0x3a);
    uint64_t shnum = rd16(h + 0x3c);
    uint32_t shstrndx = rd16(h + 0x3e);

    if (shoff == 0)
        return 0; /* no section table (stripped to program headers only) */
    if (shentsize < SHDR_SIZE)
        return pf_err_set(err, "%s: ELF section header size %u is smaller than 64", e->label, shentsize);
    if (!range_ok(shoff, shentsize, e->size))
        return pf_err_set(err, "%s: ELF section header table at offset 0x%llx lies beyond the end of the file (%zu bytes); truncated?",
                          e->label, (unsigned long long)shoff, e->size);
    /* Extended numbering: counts that do not fit 16 bits live in section 0. */
    if (shnum == 0)
        shnum = rd64(e->data + shoff + 0x20);
    if (shstrndx == SHN_XINDEX)
        shstrndx = rd32(e->data + shoff + 0x28);
    if (shnum == 0)
        return 0;
    if (shnum > (e->size - shoff) / shentsize)
        return pf_err_set(err, "%s: ELF section header table (%llu entries at offset 0x%llx) runs past the end of the file (%zu bytes); truncated?",
                          e->label, (unsigned long long)shnum, (unsigned long long)shoff, e->size);
    if (shstrndx >= shnum)
        return pf_err_set(err, "%s: ELF section-name table index %u is out of range (%llu sections)",
                          e->label, shstrndx, (unsigned long long)shnum);

    const uint8_t *strhdr = e->data + shoff + (uint64_t)shstrndx * shentsize;
    uint64_t str_off = rd64(strhdr + 0x18), str_size = rd64(strhdr + 0x20);
    if (rd32(strhdr + 4) == PF_ELF_SHT_NOBITS || !range_ok(str_off, str_size, e->size))
        return pf_err_set(err, "%s: ELF section-name table (offset 0x%llx, %llu bytes) lies outside the file (%zu bytes); truncated?",
                          e->label, (unsigned long long)str_off, (unsigned long long)str_size, e->size);
    const char *strtab = (const char *)e->data + str_off;

    e->secs = pf_xcalloc((size_t)shnum, sizeof *e->secs);
    e->nsecs = (size_t)shnum;
    for (size_t i = 0; i < e->nsecs; i++) {
        const uint8_t *s = e->data + shoff + (uint64_t)i * shentsize;
        pf_elf_section *sec = &e->secs[i];
        uint32_t name = rd32(s);
        sec->name = "";
        if (name < str_size && memchr(strtab + name, '\0', str_size - name))
            sec->name = strtab + name;
        sec->type = rd32(s + 4);
        sec->flags = rd64(s + 8);
        sec->offset = rd64(s + 0x18);
        sec->size = rd64(s + 0x20);
        sec->in_bounds = sec->type == PF_ELF_SHT_NOBITS || range_ok(sec->offset, sec->size, e->size);
    }
    return 0;
}

static int parse(pf_elf *e, pf_err *err)
{
    const uint8_t *h = e->data;
    if (e->size < 4 || memcmp(h, "\177ELF", 4) != 0)
        return 0; /* not ELF: a valid view, just without ELF structure */
    if (e->size < EHDR_SIZE)
        return pf_err_set(err, "%s: truncated ELF header (%zu bytes, need 64)", e->label, e->size);
    if (h[4] != 2)
        return pf_err_set(err, "%s: %s ELF is not supported (CUDA libraries are 64-bit)", e->label,
                          h[4] == 1 ? "32-bit" : "unknown-class");
    if (h[5] != 1)
        return pf_err_set(err, "%s: big-endian ELF is not supported", e->label);
    e->osabi = h[7];
    e->abiversion = h[8];
    e->type = rd16(h + 0x10);
    e->machine = rd16(h + 0x12);
    e->flags = rd32(h + 0x30);
    if (parse_sections(e, err) < 0)
        return -1;
    e->is_elf = true;
    return 0;
}

static pf_elf *finish(pf_elf *e, pf_err *err)
{
    if (parse(e, err) < 0) {
        pf_elf_close(e);
        return NULL;
    }
    return e;
}

pf_elf *pf_elf_open(const char *path, pf_err *err)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        pf_err_errno(err, errno, "cannot open %s", path);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        pf_err_errno(err, errno, "cannot stat %s", path);
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        pf_err_set(err, "%s is not a regular file (%s)", path,
                   S_ISDIR(st.st_mode)    ? "a directory"
                   : S_ISFIFO(st.st_mode) ? "a FIFO"
                   : S_ISCHR(st.st_mode)  ? "a character device"
                   : S_ISBLK(st.st_mode)  ? "a block device"
                   : S_ISSOCK(st.st_mode) ? "a socket"
                                          : "not a file");
        close(fd);
        return NULL;
    }
    if (st.st_size == 0) {
        pf_err_set(err, "%s is empty (0 bytes)", path);
        close(fd);
        return NULL;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (m == MAP_FAILED) {
        pf_err_errno(err, map_errno, "cannot map %s (%lld bytes)", path, (long long)st.st_size);
        return NULL;
    }
    pf_elf *e = pf_xcalloc(1, sizeof *e);
    e->label = pf_xstrdup(path);
    e->data = m;
    e->size = (size_t)st.st_size;
    e->mapped = true;
    return finish(e, err);
}

pf_elf *pf_elf_from_memory(const void *data, size_t size, const char *label, pf_err *err)
{
    if (!data || size == 0) {
        pf_err_set(err, "%s is empty (0 bytes)", label ? label : "buffer");
        return NULL;
    }
    pf_elf *e = pf_xcalloc(1, sizeof *e);
    e->label = pf_xstrdup(label ? label : "buffer");
    e->data = data;
    e->size = size;
    return finish(e, err);
}

void pf_elf_close(pf_elf *e)
{
    if (!e)
        return;
    if (e->mapped)
        munmap((void *)e->data, e->size);
    free(e->secs);
    free(e->label);
    free(e);
}

const char *pf_elf_label(const pf_elf *e) { return e->label; }
const uint8_t *pf_elf_bytes(const pf_elf *e, size_t *size)
{
    if (size)
        *size = e->size;
    return e->data;
}
void pf_elf_advise_sequential(const pf_elf *e)
{
    if (e->mapped)
        (void)madvise((void *)e->data, e->size, MADV_SEQUENTIAL);
}
bool pf_elf_is_elf(const pf_elf *e) { return e->is_elf; }
uint16_t pf_elf_machine(const pf_elf *e) { return e->machine; }
uint32_t pf_elf_flags(const pf_elf *e) { return e->flags; }
uint8_t pf_elf_abiversion(const pf_elf *e) { return e->abiversion; }
size_t pf_elf_section_count(const pf_elf *e) { return e->nsecs; }
const pf_elf_section *pf_elf_section_at(const pf_elf *e, size_t i) { return i < e->nsecs ? &e->secs[i] : NULL; }

const pf_elf_section *pf_elf_section_by_name(const pf_elf *e, const char *name)
{
    for (size_t i = 0; i < e->nsecs; i++)
        if (strcmp(e->secs[i].name, name) == 0)
            return &e->secs[i];
    return NULL;
}

const uint8_t *pf_elf_section_bytes(const pf_elf *e, const pf_elf_section *s)
{
    if (!s || !s->in_bounds || s->type == PF_ELF_SHT_NOBITS)
        return NULL;
    return e->data + s->offset;
}

bool pf_elf_has_kernel_text(const pf_elf *e)
{
    for (size_t i = 0; i < e->nsecs; i++)
        if (pf_str_startswith(e->secs[i].name, ".text."))
            return true;
    return false;
}

/* .nv.compat holds .nv.info-style records: u8 format, u8 attribute, then a
 * u16 that is the value (formats 1-3) or the byte count of data that follows
 * (format 4).  Attribute 0x09 is 1 for 'a' targets (reference sec. 3/7). */
static int compat_arch_specific(const uint8_t *p, uint64_t n)
{
    uint64_t off = 0;
    while (off + 4 <= n) {
        uint8_t fmt = p[off], attr = p[off + 1];
        uint16_t val = rd16(p + off + 2);
        if (attr == 0x09 && (fmt == 2 || fmt == 3))
            return fmt == 2 ? (val & 0xff) : val;
        off += 4;
        if (fmt == 4)
            off += val;
        else if (fmt < 1 || fmt > 4)
            break; /* unknown record layout: stop rather than guess */
    }
    return -1;
}

static void copy_str(char *dst, size_t cap, const char *tab, uint64_t tab_len, uint32_t off)
{
    dst[0] = '\0';
    if (off >= tab_len || !memchr(tab + off, '\0', tab_len - off))
        return;
    pf_strlcpy(dst, tab + off, cap);
    pf_str_trim(dst);
}

/* .note.nv.tkinfo (owner "NVIDIA Corp", type 0x7d0): desc = one u32 and
 * five string offsets (object, tool, toolkit, build, options) into the
 * string table that follows the six words. */
static void parse_tkinfo(const uint8_t *p, uint64_t n, pf_elf_cubin *out)
{
    uint64_t off = 0;
    while (off + 12 <= n) {
        uint32_t namesz = rd32(p + off), descsz = rd32(p + off + 4), type = rd32(p + off + 8);
        uint64_t name_off = off + 12;
        uint64_t desc_off = name_off + (((uint64_t)namesz + 3) & ~3ull);
        if (desc_off > n || descsz > n - desc_off)
            return;
        /* The first word is 2 in CUDA 13.0 output and 0x81 in CUDA 12.9's;
         * the offsets after it have the same layout in both. */
        if (type == 0x7d0 && descsz >= 24) {
            const uint8_t *d = p + desc_off;
            const char *tab = (const char *)d + 24;
            uint64_t tab_len = descsz - 24;
            copy_str(out->producer, sizeof out->producer, tab, tab_len, rd32(d + 8));
            copy_str(out->toolkit, sizeof out->toolkit, tab, tab_len, rd32(d + 12));
            copy_str(out->options, sizeof out->options, tab, tab_len, rd32(d + 20));
            return;
        }
        off = desc_off + (((uint64_t)descsz + 3) & ~3ull);
    }
}

/* "-arch sm_110f -m 64" -> 'f'; "-arch=sm_90a" -> 'a'. */
static char variant_from_options(const char *opt)
{
    const char *s = strstr(opt, "sm_");
    if (!s)
        return 0;
    s += 3;
    while (*s >= '0' && *s <= '9')
        s++;
    return (*s == 'a' || *s == 'f') ? *s : 0;
}

int pf_elf_cubin_info(const pf_elf *e, pf_elf_cubin *out, pf_err *err)
{
    memset(out, 0, sizeof *out);
    if (!e->is_elf || e->machine != PF_ELF_EM_CUDA)
        return pf_err_set(err, "%s is not a CUDA cubin (e_machine %u, need 190)", e->label, e->machine);
    out->abi_version = e->abiversion;
    out->relocatable = e->type == 1;
    /* ABI 8 (CUDA 13) moved the SM to bits 8-15; ABI 7 keeps it in the low
     * byte and marks 'a' with EF_CUDA_ACCELERATORS (0x800). */
    if (e->abiversion >= 8) {
        out->sm = (int)((e->flags >> 8) & 0xff);
        /* Observed, not documented: CUDA 12.9 ABI-8 cubins for sm_100a and
         * sm_103a (flashinfer-cubin 0.6.13) set 0x08 in the low byte, also
         * when .nv.compat and tkinfo are silent (nvasm output); CUDA 13.0
         * never sets it (its 'a' cubins show 0x02 too). */
        if (e->flags & 0x08)
            out->variant = 'a';
    } else {
        out->sm = (int)(e->flags & 0xff);
        if (e->flags & 0x800)
            out->variant = 'a';
    }
    const pf_elf_section *compat = pf_elf_section_by_name(e, ".nv.compat");
    const uint8_t *cb = pf_elf_section_bytes(e, compat);
    if (cb && compat_arch_specific(cb, compat->size) == 1)
        out->variant = 'a';
    const pf_elf_section *tk = pf_elf_section_by_name(e, ".note.nv.tkinfo");
    const uint8_t *tb = pf_elf_section_bytes(e, tk);
    if (tb)
        parse_tkinfo(tb, tk->size, out);
    if (!out->variant)
        out->variant = variant_from_options(out->options);
    out->has_code = pf_elf_has_kernel_text(e);
    return 0;
}
