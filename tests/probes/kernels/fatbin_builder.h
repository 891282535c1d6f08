/* fatbin_builder.h -- build fatbin containers and ELF64 files byte by byte
 * for the scanner's tests, following the layout in
 * shared/reference/cuda-fatbin.md secs. 2-4 (the same layout nvcc 13.0
 * emits; tests/probes/kernels/test_fatbin_nvcc.c checks the scanner on real nvcc output).
 * Header-only so each test binary stays one file plus this. */
#ifndef PF_TEST_FATBIN_BUILDER_H
#define PF_TEST_FATBIN_BUILDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct fb_buf {
    uint8_t *p;
    size_t n, cap;
} fb_buf;

static inline void fb_put(fb_buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    if (d)
        memcpy(b->p + b->n, d, n);
    else
        memset(b->p + b->n, 0, n);
    b->n += n;
}
static inline void fb_u16(fb_buf *b, uint16_t v) { fb_put(b, &v, 2); }
static inline void fb_u32(fb_buf *b, uint32_t v) { fb_put(b, &v, 4); }
static inline void fb_u64(fb_buf *b, uint64_t v) { fb_put(b, &v, 8); }
static inline void fb_pad(fb_buf *b, size_t align)
{
    while (b->n % align)
        fb_put(b, "\0", 1);
}
static inline void fb_set32(fb_buf *b, size_t off, uint32_t v) { memcpy(b->p + off, &v, 4); }
static inline void fb_set64(fb_buf *b, size_t off, uint64_t v) { memcpy(b->p + off, &v, 8); }

enum { FB_RAW = 0, FB_LZ4 = 1, FB_ZSTD = 2 };

typedef struct fb_ent {
    uint16_t kind;           /* 1 PTX, 2 ELF, 8 LTO-IR */
    uint16_t arch;
    char variant;            /* 0, 'a', 'f' */
    uint8_t isa_major, isa_minor; /* PTX ISA (PTX entries) */
    int codec;               /* FB_RAW, FB_LZ4, FB_ZSTD */
    int debug;
    const uint8_t *payload;  /* NULL: filler bytes */
    size_t payload_len;      /* default 0x100 */
} fb_ent;

/* Append one container with these entries; returns its offset. */
static inline size_t fb_container(fb_buf *b, const fb_ent *e, size_t n)
{
    fb_pad(b, 8);
    size_t start = b->n;
    fb_u32(b, 0xBA55ED50u);
    fb_u16(b, 1);
    fb_u16(b, 0x10);
    fb_u64(b, 0); /* fatSize, patched below */
    for (size_t i = 0; i < n; i++) {
        size_t plen = e[i].payload_len ? e[i].payload_len : 0x100;
        size_t padded = (plen + 7) & ~(size_t)7;
        uint32_t hsize = e[i].kind == 1 ? 0x50 : 0x40;
        uint64_t flags = 0x11 | (e[i].debug ? 0x2 : 0) | (e[i].variant == 'a' ? 0x100000 : 0) |
                         (e[i].variant == 'f' ? 0x200000 : 0) | (e[i].codec == FB_LZ4 ? 0x2000 : 0) |
                         (e[i].codec == FB_ZSTD ? 0x8000 : 0);
        fb_u16(b, e[i].kind);
        fb_u16(b, 0x0101);
        fb_u32(b, hsize);
        fb_u64(b, padded);
        fb_u32(b, e[i].codec ? (uint32_t)plen - 3 : 0);          /* compressed size */
        fb_u32(b, hsize > 0x40 ? 0x40 : 0);                       /* option descriptor */
        fb_u16(b, e[i].kind == 1 ? e[i].isa_minor : 8);
        fb_u16(b, e[i].kind == 1 ? e[i].isa_major : 1);
        fb_u32(b, e[i].arch);
        fb_u32(b, 0);
        fb_u32(b, 0);
        fb_u64(b, flags);
        fb_u64(b, 0);
        fb_u64(b, e[i].codec ? plen * 3 : 0);                    /* uncompressed size */
        if (hsize > 0x40) {                                       /* {off, len} + padding */
            fb_u32(b, 0x48);
            fb_u32(b, 0);
            fb_put(b, NULL, hsize - 0x48);
        }
        if (e[i].payload)
            fb_put(b, e[i].payload, plen);
        else
            for (size_t k = 0; k < plen; k++)
                fb_put(b, (uint8_t[]){(uint8_t)(0x5a ^ k)}, 1);
        fb_put(b, NULL, padded - plen);
    }
    fb_set64(b, start + 8, b->n - start - 16);
    return start;
}

typedef struct fb_sec {
    const char *name;
    uint32_t type;       /* 1 PROGBITS, 8 NOBITS, 7 NOTE, 0x70000086 .nv.compat */
    uint64_t flags;      /* 2 ALLOC */
    const uint8_t *data;
    size_t size;
    size_t misalign;     /* place the section this many bytes off the 8-byte grid */
} fb_sec;

/* An ELF64 little-endian file with these sections (plus the null section
 * and .shstrtab, which comes last). */
static inline fb_buf fb_elf(const fb_sec *s, size_t n, uint16_t type, uint16_t machine, uint8_t abiver,
                            uint32_t eflags)
{
    fb_buf b = {0};
    uint8_t ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1, machine == 190 ? 0x41 : 0, abiver};
    fb_put(&b, ident, 16);
    fb_u16(&b, type);
    fb_u16(&b, machine);
    fb_u32(&b, 1);
    fb_u64(&b, 0);
    fb_u64(&b, 0);
    fb_u64(&b, 0); /* e_shoff, patched */
    fb_u32(&b, eflags);
    fb_u16(&b, 64);
    fb_u16(&b, 56);
    fb_u16(&b, 0);
    fb_u16(&b, 64);
    fb_u16(&b, (uint16_t)(n + 2));
    fb_u16(&b, (uint16_t)(n + 1));
    size_t *off = calloc(n + 1, sizeof *off), *name = calloc(n + 2, sizeof *name);
    fb_buf strtab = {0};
    fb_put(&strtab, "", 1);
    for (size_t i = 0; i < n; i++) {
        name[i] = strtab.n;
        fb_put(&strtab, s[i].name, strlen(s[i].name) + 1);
    }
    name[n] = strtab.n;
    fb_put(&strtab, ".shstrtab", 10);
    for (size_t i = 0; i < n; i++) {
        fb_pad(&b, 8);
        fb_put(&b, NULL, s[i].misalign);
        off[i] = b.n;
        if (s[i].type != 8)
            fb_put(&b, s[i].data, s[i].size);
    }
    off[n] = b.n;
    fb_put(&b, strtab.p, strtab.n);
    fb_pad(&b, 8);
    fb_set64(&b, 0x28, b.n);
    fb_put(&b, NULL, 64); /* null section */
    for (size_t i = 0; i <= n; i++) {
        fb_u32(&b, (uint32_t)name[i]);
        fb_u32(&b, i < n ? s[i].type : 3);
        fb_u64(&b, i < n ? s[i].flags : 0);
        fb_u64(&b, 0);
        fb_u64(&b, off[i]);
        fb_u64(&b, i < n ? s[i].size : strtab.n);
        fb_u32(&b, 0);
        fb_u32(&b, 0);
        fb_u64(&b, 8);
        fb_u64(&b, 0);
    }
    free(off);
    free(name);
    free(strtab.p);
    return b;
}

/* A minimal cubin: ELF e_machine 190 with a .text.<kernel> section (or none,
 * for a device-link stub) and a .nv.compat record saying 'a' or not. */
static inline fb_buf fb_cubin(int sm, int arch_specific, int with_kernel, const char *tkinfo_opts)
{
    uint8_t compat[8] = {2, 9, (uint8_t)(arch_specific ? 1 : 0), 0, 2, 2, 1, 0};
    uint8_t code[16] = {0};
    fb_buf note = {0};
    if (tkinfo_opts) {
        /* "NVIDIA Corp" owner, type 0x7d0, desc {2, 0, 1, 7, t, o} + strings */
        const char *tk = "Cuda compilation tools, release 13.0, V13.0.88";
        fb_buf strs = {0};
        fb_put(&strs, "", 1);
        fb_put(&strs, "ptxas", 6);
        uint32_t o_tk = (uint32_t)strs.n;
        fb_put(&strs, tk, strlen(tk) + 1);
        uint32_t o_opt = (uint32_t)strs.n;
        fb_put(&strs, tkinfo_opts, strlen(tkinfo_opts) + 1);
        fb_pad(&strs, 4);
        fb_u32(&note, 12);
        fb_u32(&note, (uint32_t)(24 + strs.n));
        fb_u32(&note, 0x7d0);
        fb_put(&note, "NVIDIA Corp\0", 12);
        uint32_t desc[6] = {2, 0, 1, o_tk, 0, o_opt};
        fb_put(&note, desc, sizeof desc);
        fb_put(&note, strs.p, strs.n);
        free(strs.p);
    }
    fb_sec secs[3] = {
        {".nv.compat", 0x70000086, 0, compat, sizeof compat, 0},
        {with_kernel ? ".text.k" : ".nv.callgraph", 1, 6, code, sizeof code, 0},
        {".note.nv.tkinfo", 7, 0, note.p, note.n, 0},
    };
    fb_buf b = fb_elf(secs, tkinfo_opts ? 3 : 2, 2, 190, 8, 0x06000002u | ((uint32_t)sm << 8));
    free(note.p);
    return b;
}

#endif
