/* elf.h -- read-only view of an ELF64 file: its header and its sections by
 * name, plus what a bare CUDA cubin (e_machine 190) says about its target.
 *
 * The file is mapped read-only and never written.  Every offset and size
 * taken from the file is checked against the mapping before use, so a
 * truncated or hostile file yields an error naming the file and the field
 * at fault, never a read outside the mapping.  (A file truncated by another
 * process *while* mapped can still raise SIGBUS; we do not guard that.)
 *
 * A view can also be built over bytes already in memory (an uncompressed
 * cubin inside a fatbin entry); then nothing is mapped and nothing copied.
 */
#ifndef PF_ELF_H
#define PF_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#define PF_ELF_EM_CUDA 190

/* ELF section types we look at (elf.h names, without depending on it). */
#define PF_ELF_SHT_NOBITS 8u
#define PF_ELF_SHF_ALLOC 0x2u
#define PF_ELF_SHF_EXECINSTR 0x4u

typedef struct pf_elf pf_elf;

typedef struct pf_elf_section {
    const char *name;   /* "" when unnamed or the name is out of bounds */
    uint32_t type;
    uint64_t flags;
    uint64_t offset;    /* file range; only valid when in_bounds */
    uint64_t size;
    bool in_bounds;     /* offset+size lies inside the file (NOBITS: always) */
} pf_elf_section;

/* Map `path` read-only.  Fails (NULL, err names the file) when it cannot be
 * opened, is not a regular file, is empty, or cannot be mapped.  A file that
 * is not ELF is NOT an error: pf_elf_is_elf() says false and the bytes are
 * still available (raw .fatbin files are scanned that way).  An ELF file
 * whose header or section table is malformed IS an error. */
pf_elf *pf_elf_open(const char *path, pf_err *err);
/* The same over caller-owned memory, which must outlive the view. */
pf_elf *pf_elf_from_memory(const void *data, size_t size, const char *label, pf_err *err);
void pf_elf_close(pf_elf *e);

const char *pf_elf_label(const pf_elf *e);
const uint8_t *pf_elf_bytes(const pf_elf *e, size_t *size);
/* Hint the kernel that the file will be read front to back (mapped files). */
void pf_elf_advise_sequential(const pf_elf *e);

bool pf_elf_is_elf(const pf_elf *e);      /* 64-bit little-endian ELF with a valid header */
uint16_t pf_elf_machine(const pf_elf *e); /* e_machine: 62 x86-64, 183 aarch64, 190 CUDA */
uint32_t pf_elf_flags(const pf_elf *e);   /* e_flags */
uint8_t pf_elf_abiversion(const pf_elf *e);

size_t pf_elf_section_count(const pf_elf *e);
const pf_elf_section *pf_elf_section_at(const pf_elf *e, size_t i);
/* First section with that exact name, or NULL. */
const pf_elf_section *pf_elf_section_by_name(const pf_elf *e, const char *name);
/* Bytes of a section (NULL when out of bounds or NOBITS). */
const uint8_t *pf_elf_section_bytes(const pf_elf *e, const pf_elf_section *s);

/* What a bare cubin says about its target (reference: cuda-fatbin.md sec. 7). */
typedef struct pf_elf_cubin {
    int sm;              /* 75, 90, 110, 121 ... (0 when unknown) */
    char variant;        /* 0 plain, 'a' arch-specific, 'f' family-specific */
    int abi_version;     /* EI_ABIVERSION: 7 (CUDA <= 12) or 8 (CUDA 13) */
    bool relocatable;    /* ET_REL (-rdc objects) */
    bool has_code;       /* at least one .text.<kernel> section */
    char producer[16];   /* "ptxas" / "nvlink", from .note.nv.tkinfo */
    char toolkit[96];    /* "Cuda compilation tools, release 13.0, V13.0.88" */
    char options[96];    /* "-arch sm_110f -m 64" */
} pf_elf_cubin;

/* Fill `out` for an ELF with e_machine 190; -1 (err set) otherwise. */
int pf_elf_cubin_info(const pf_elf *e, pf_elf_cubin *out, pf_err *err);
/* True when any section name starts with ".text." (a kernel's code). */
bool pf_elf_has_kernel_text(const pf_elf *e);

#endif
