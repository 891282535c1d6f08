/* elfso.c -- read loader-relevant facts from an ELF64 shared library (see elfso.h). */
#include "probes/kernels/elfso.h"
#include "core/file.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct map {
    const unsigned char *p;
    size_t len;
} map;

static int map_open(const char *path, map *m, pf_err *err)
{
    struct stat st;
    int fd = pf_file_open_read(path, NULL, &st, err); /* a FIFO is refused, never waited on */
    if (fd < 0)
        return -1;
    if ((size_t)st.st_size < sizeof(Elf64_Ehdr)) {
        close(fd);
        return pf_err_set(err, "%s is too short to be an ELF file (%lld bytes)", path, (long long)st.st_size);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return pf_err_errno(err, e, "cannot map %s", path);
    m->p = p;
    m->len = (size_t)st.st_size;
    return 0;
}

static void map_close(map *m)
{
    if (m->p)
        munmap((void *)m->p, m->len);
    m->p = NULL;
}

static bool in_range(const map *m, uint64_t off, uint64_t len)
{
    return off <= m->len && len <= m->len - off;
}

static int check_header(const map *m, const char *path, pf_err *err)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m->p;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
        return pf_err_set(err, "%s is not an ELF file", path);
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
        return pf_err_set(err, "%s is not a little-endian 64-bit ELF file", path);
    if (eh->e_phoff && (eh->e_phentsize != sizeof(Elf64_Phdr) ||
                        !in_range(m, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr))))
        return pf_err_set(err, "%s: program headers lie outside the file (truncated?)", path);
    if (eh->e_shoff && (eh->e_shentsize != sizeof(Elf64_Shdr) ||
                        !in_range(m, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr))))
        return pf_err_set(err, "%s: section headers lie outside the file (truncated?)", path);
    return 0;
}

static const Elf64_Phdr *phdr(const map *m, int i)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m->p;
    return (const Elf64_Phdr *)(m->p + eh->e_phoff) + i;
}

static const Elf64_Shdr *shdr_named(const map *m, const char *name)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m->p;
    if (!eh->e_shoff || eh->e_shstrndx >= eh->e_shnum)
        return NULL;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(m->p + eh->e_shoff);
    const Elf64_Shdr *strs = &sh[eh->e_shstrndx];
    if (!in_range(m, strs->sh_offset, strs->sh_size))
        return NULL;
    size_t nl = strlen(name) + 1;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_name >= strs->sh_size || strs->sh_size - sh[i].sh_name < nl)
            continue;
        if (memcmp(m->p + strs->sh_offset + sh[i].sh_name, name, nl) == 0 &&
            in_range(m, sh[i].sh_offset, sh[i].sh_type == SHT_NOBITS ? 0 : sh[i].sh_size))
            return &sh[i];
    }
    return NULL;
}

/* Walk the notes in [off, off+len) for NT_GNU_BUILD_ID. */
static bool build_id_in(const map *m, uint64_t off, uint64_t len, char *hex)
{
    uint64_t end = off + len;
    while (off + sizeof(Elf64_Nhdr) <= end) {
        const Elf64_Nhdr *n = (const Elf64_Nhdr *)(m->p + off);
        uint64_t name_off = off + sizeof *n;
        uint64_t desc_off = name_off + ((n->n_namesz + 3u) & ~3u);
        uint64_t next = desc_off + ((n->n_descsz + 3u) & ~3u);
        if (next > end)
            return false;
        if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(m->p + name_off, "GNU", 4) == 0 &&
            n->n_descsz > 0 && n->n_descsz <= 32) {
            for (unsigned i = 0; i < n->n_descsz; i++)
                snprintf(hex + 2 * i, 3, "%02x", m->p[desc_off + i]);
            return true;
        }
        off = next;
    }
    return false;
}

static void find_build_id(const map *m, char *hex)
{
    hex[0] = '\0';
    const Elf64_Shdr *s = shdr_named(m, ".note.gnu.build-id");
    if (s && s->sh_type == SHT_NOTE && build_id_in(m, s->sh_offset, s->sh_size, hex))
        return;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m->p;
    for (int i = 0; eh->e_phoff && i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = phdr(m, i);
        if (ph->p_type == PT_NOTE && in_range(m, ph->p_offset, ph->p_filesz) &&
            build_id_in(m, ph->p_offset, ph->p_filesz, hex))
            return;
    }
}

/* File offset of a virtual address, through the PT_LOAD segments. */
static bool vaddr_to_off(const map *m, uint64_t va, uint64_t *off)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m->p;
    for (int i = 0; eh->e_phoff && i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = phdr(m, i);
        if (ph->p_type == PT_LOAD && va >= ph->p_vaddr && va - ph->p_vaddr < ph->p_filesz) {
            *off = va - ph->p_vaddr + ph->p_offset;
            return true;
        }
    }
    return false;
}

static int read_dynamic(const map *m, const char *path, pf_elfso *out, pf_err *err)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m->p;
    const Elf64_Phdr *dyn = NULL;
    for (int i = 0; eh->e_phoff && i < eh->e_phnum; i++)
        if (phdr(m, i)->p_type == PT_DYNAMIC)
            dyn = phdr(m, i);
    if (!dyn)
        return 0; /* static object: nothing the loader resolves */
    if (!in_range(m, dyn->p_offset, dyn->p_filesz))
        return pf_err_set(err, "%s: dynamic section lies outside the file (truncated?)", path);
    const Elf64_Dyn *d = (const Elf64_Dyn *)(m->p + dyn->p_offset);
    size_t nd = dyn->p_filesz / sizeof *d;
    uint64_t strtab = 0, strsz = 0;
    for (size_t i = 0; i < nd && d[i].d_tag != DT_NULL; i++) {
        if (d[i].d_tag == DT_STRTAB)
            strtab = d[i].d_un.d_ptr;
        else if (d[i].d_tag == DT_STRSZ)
            strsz = d[i].d_un.d_val;
    }
    uint64_t stroff;
    if (!strtab || !vaddr_to_off(m, strtab, &stroff) || !in_range(m, stroff, strsz))
        return pf_err_set(err, "%s: dynamic string table is missing or outside the file", path);
    for (size_t i = 0; i < nd && d[i].d_tag != DT_NULL; i++) {
        int64_t tag = d[i].d_tag;
        if (tag != DT_NEEDED && tag != DT_SONAME && tag != DT_RPATH && tag != DT_RUNPATH)
            continue;
        uint64_t so = d[i].d_un.d_val;
        if (so >= strsz || !memchr(m->p + stroff + so, '\0', strsz - so))
            return pf_err_set(err, "%s: dynamic entry points outside the string table", path);
        const char *s = (const char *)m->p + stroff + so;
        if (tag == DT_NEEDED)
            pf_strv_push(&out->needed, s);
        else if (tag == DT_SONAME && !out->soname)
            out->soname = pf_xstrdup(s);
        else if (tag == DT_RPATH && !out->rpath)
            out->rpath = pf_xstrdup(s);
        else if (tag == DT_RUNPATH && !out->runpath)
            out->runpath = pf_xstrdup(s);
    }
    return 0;
}

int pf_elfso_read(const char *path, pf_elfso *out, pf_err *err)
{
    memset(out, 0, sizeof *out);
    map m = {0};
    if (map_open(path, &m, err) != 0)
        return -1;
    int rc = check_header(&m, path, err);
    if (rc == 0) {
        out->machine = ((const Elf64_Ehdr *)m.p)->e_machine;
        find_build_id(&m, out->build_id);
        rc = read_dynamic(&m, path, out, err);
    }
    map_close(&m);
    if (rc != 0)
        pf_elfso_free(out);
    return rc;
}

void pf_elfso_free(pf_elfso *e)
{
    if (!e)
        return;
    pf_strv_free(&e->needed);
    free(e->soname);
    free(e->rpath);
    free(e->runpath);
    memset(e, 0, sizeof *e);
}

char *pf_elfso_find_string(const char *path, const char *prefix, pf_elfso_accept_fn accept, pf_err *err)
{
    map m = {0};
    if (map_open(path, &m, err) != 0)
        return NULL;
    if (check_header(&m, path, err) != 0) {
        map_close(&m);
        return NULL;
    }
    const unsigned char *base = m.p;
    size_t len = m.len;
    const Elf64_Shdr *ro = shdr_named(&m, ".rodata");
    if (ro && ro->sh_type == SHT_PROGBITS) {
        base = m.p + ro->sh_offset;
        len = ro->sh_size;
    }
    size_t pl = strlen(prefix);
    char *res = NULL;
    const unsigned char *hit = memmem(base, len, prefix, pl);
    /* A match inside a longer string ("Mismatched NCCL version...") or a
     * printf format ("NCCL version %s") is not the value we look for. */
    while (hit && !res) {
        size_t rest = len - (size_t)(hit - base);
        const unsigned char *nul = memchr(hit, '\0', rest);
        size_t slen = nul ? (size_t)(nul - hit) : rest;
        if ((hit == base || hit[-1] == '\0') && !memchr(hit, '%', slen) && slen < 256) {
            char *cand = pf_xmalloc(slen + 1);
            memcpy(cand, hit, slen);
            cand[slen] = '\0';
            if (!accept || accept(cand))
                res = cand;
            else
                free(cand);
        }
        if (!res)
            hit = rest > 1 ? memmem(hit + 1, rest - 1, prefix, pl) : NULL;
    }
    if (!res)
        pf_err_set(err, "%s contains no string starting with \"%s\"%s", path, prefix,
                   accept ? " in the expected form" : "");
    map_close(&m);
    return res;
}

uint16_t pf_elfso_host_machine(void)
{
#if defined(__x86_64__)
    return EM_X86_64;
#elif defined(__aarch64__)
    return EM_AARCH64;
#else
    return EM_NONE;
#endif
}
