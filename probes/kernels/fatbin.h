/* fatbin.h -- find the CUDA fat binaries in a file and list what they hold.
 *
 * A fatbin "container" (magic 0xBA55ED50, version 1, 16-byte header) holds
 * entries back to back: SASS cubins (ELF), PTX, LTO-IR, each for one
 * architecture, each with a 64..128-byte header that states kind, arch,
 * the 'a'/'f' variant, compression and sizes.  We read those headers only;
 * payloads are never decompressed (reference/cuda-fatbin.md secs. 2-5).
 *
 * Where containers live: nvcc puts them in `.nv_fatbin` (and `__nv_relfatbin`
 * for -rdc code), but real libraries also embed them elsewhere -- CUDA 13's
 * libcufft keeps ~24,000 in `.ldata` and only a one-entry stub in
 * `.nv_fatbin`; libcublasLt and cuDNN have hundreds in `.cask_resource`;
 * libcusparse, libcupti and libcheckpoint have some in `.rodata`.  Reading
 * only `.nv_fatbin` would call cuFFT an sm_75-only library.  So every
 * data section the loader maps (SHF_ALLOC, not NOBITS, not code) is searched for the
 * container magic on 8-byte steps from the section start, every candidate
 * is validated strictly (header fields, entry kinds, sizes that must tile
 * the container exactly, sane arch numbers), and a valid container is
 * skipped whole, so its payload bytes are never searched.  Containers in
 * `.nv_fatbin` / `__nv_relfatbin` are marked `named` (that is what cuobjdump
 * lists; see scripts/compare-cuobjdump.sh).
 *
 * A bare cubin (ELF e_machine 190, e.g. flashinfer-cubin's files) becomes one
 * container with one SASS entry; a raw .fatbin file is searched whole.
 */
#ifndef PF_FATBIN_H
#define PF_FATBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#define PF_FATBIN_MAGIC 0xBA55ED50u

/* Entry kinds (fatbinary.h). */
enum {
    PF_FB_KIND_PTX = 1,
    PF_FB_KIND_ELF = 2,
    PF_FB_KIND_OLDCUBIN = 4,
    PF_FB_KIND_LTOIR = 8, /* NVVM IR for link-time optimisation (nvJitLink); not loadable */
};

/* Entry flags (u64 at entry+0x28). */
#define PF_FB_FLAG_64BIT 0x1ull
#define PF_FB_FLAG_DEBUG 0x2ull
#define PF_FB_FLAG_LZ4 0x2000ull
#define PF_FB_FLAG_ZSTD 0x8000ull
#define PF_FB_FLAG_ARCH_A 0x100000ull
#define PF_FB_FLAG_FAMILY_F 0x200000ull

typedef enum pf_fatbin_codec { PF_FB_RAW = 0, PF_FB_LZ4, PF_FB_ZSTD } pf_fatbin_codec;

typedef struct pf_fatbin_entry {
    uint64_t offset;            /* file offset of the entry header */
    uint64_t payload_size;      /* bytes stored after the header */
    uint64_t uncompressed_size; /* 0 when not compressed */
    uint64_t flags;
    uint32_t header_size;
    uint32_t compressed_size;
    uint32_t container;         /* index of its container */
    uint16_t kind;              /* PF_FB_KIND_* */
    uint16_t arch;              /* 75, 90, 110, 121 ... (virtual arch for PTX) */
    uint16_t ver_major, ver_minor; /* PTX: ISA version (9.0); ELF: code version (1.8) */
    char variant;               /* 0, 'a', 'f' */
    uint8_t codec;              /* pf_fatbin_codec */
    bool debug;
    int8_t has_code;            /* ELF: 1 kernels, 0 empty module, -1 unknown (compressed) */
} pf_fatbin_entry;

typedef struct pf_fatbin_container {
    uint64_t offset;            /* file offset of the container header */
    uint64_t size;              /* header + entries */
    uint32_t first, count;      /* its entries: [first, first+count) */
    uint32_t section;           /* index for pf_fatbin_section_name() */
    bool named;                 /* in .nv_fatbin / __nv_relfatbin (or a raw fatbin / cubin) */
} pf_fatbin_container;

typedef enum pf_fatbin_file_kind {
    PF_FB_FILE_ELF = 0,         /* a host ELF: .so, executable, .o */
    PF_FB_FILE_CUBIN,           /* a bare cubin (e_machine 190) */
    PF_FB_FILE_FATBIN,          /* a raw fatbin file (nvcc -fatbin) */
    PF_FB_FILE_OTHER,           /* neither: no containers; callers decide if that is an error */
} pf_fatbin_file_kind;

typedef struct pf_fatbin pf_fatbin;

/* Scan one file.  NULL (err names the file and what is wrong) when it cannot
 * be read (missing, not a regular file, empty, malformed ELF header or
 * section table).  A readable file that is neither ELF nor a fatbin comes
 * back with kind PF_FB_FILE_OTHER and no containers; pf_fatbin_describe_other
 * says what it starts with.  Damaged containers do not fail the scan: they
 * are skipped and listed as problems. */
pf_fatbin *pf_fatbin_scan_file(const char *path, pf_err *err);
/* The same over bytes in memory (tests, fuzzing). */
pf_fatbin *pf_fatbin_scan_memory(const void *data, size_t size, const char *label, pf_err *err);
void pf_fatbin_free(pf_fatbin *fb);

pf_fatbin_file_kind pf_fatbin_kind(const pf_fatbin *fb);
uint64_t pf_fatbin_file_size(const pf_fatbin *fb);
/* "neither an ELF file nor a CUDA fatbin (starts with 23 21 2f 62)". */
const char *pf_fatbin_describe_other(const pf_fatbin *fb);
/* For a bare cubin: "Cuda compilation tools, release 13.0, V13.0.88" ("" if unknown). */
const char *pf_fatbin_cubin_toolkit(const pf_fatbin *fb);

size_t pf_fatbin_container_count(const pf_fatbin *fb);
const pf_fatbin_container *pf_fatbin_container_at(const pf_fatbin *fb, size_t i);
size_t pf_fatbin_entry_count(const pf_fatbin *fb);
const pf_fatbin_entry *pf_fatbin_entry_at(const pf_fatbin *fb, size_t i);
const char *pf_fatbin_section_name(const pf_fatbin *fb, uint32_t section);

/* Damage found on the way ("container at 0x... in .nv_fatbin: entry 3 ...").
 * At most a few messages are kept; the count is exact. */
size_t pf_fatbin_problem_count(const pf_fatbin *fb);
size_t pf_fatbin_problem_kept(const pf_fatbin *fb);
const char *pf_fatbin_problem(const pf_fatbin *fb, size_t i);

/* "sm_110a", "compute_90", "lto_75", "oldcubin_13". */
void pf_fatbin_entry_name(const pf_fatbin_entry *e, char *buf, size_t len);
const char *pf_fatbin_codec_name(uint8_t codec); /* "raw", "lz4", "zstd" */
/* True when every ELF entry of the container is known to have no kernels
 * and it has no PTX (a device-link stub such as libcufftw's). */
bool pf_fatbin_container_is_empty(const pf_fatbin *fb, const pf_fatbin_container *c);

#endif
