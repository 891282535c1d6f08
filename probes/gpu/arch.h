/* arch.h -- NVIDIA's rules for which compiled code runs on which GPU.
 *
 * Pure functions, no I/O: facts in, verdict out, so each rule is unit-tested
 * from real cases.  Architectures are decimal "major*10+minor" numbers as the
 * fatbin stores them (90 = sm_90 / CC 9.0, 121 = sm_121 / CC 12.1); a device
 * is the same number for its compute capability.  A variant is 0 (plain),
 * 'a' (arch-specific, sm_90a) or 'f' (family-specific, sm_120f).
 *
 * Sources (reference/cuda-fatbin.md sec. 8): CUDA Programming Guide
 * sec. 1.3.4 (binary/PTX compatibility), sec. 5.1.2 and Table 28
 * (family-specific compatibility), ptxas 13.0 --help, and NVIDIA/cuda-python
 * _ptx_utils.py for the PTX ISA -> CUDA release table.
 */
#ifndef PF_ARCH_H
#define PF_ARCH_H

#include <stdbool.h>
#include <stddef.h>

/* Plain SASS sm_XY runs on X.Z with Z >= Y (same major only); 'a' runs on
 * exactly X.Y; 'f' on the members of its family (Table 28). */
bool pf_arch_sass_runs(int arch, char variant, int dev);
/* PTX compute_XY can be JIT-compiled for dev as far as architecture goes:
 * plain when arch <= dev, 'a' when equal, 'f' for family members. */
bool pf_arch_ptx_arch_ok(int arch, char variant, int dev);
/* Whether `dev` belongs to the family of arch `fam` (100 -> {100, 103}, ...). */
bool pf_arch_family_has(int fam, int dev);

/* Minimum CUDA driver (1000*major + 10*minor) that can JIT PTX of ISA
 * major.minor: 9.0 -> 13000, 8.8 -> 12090.  -1 for an ISA newer than any
 * release in the table (or not a real ISA). */
int pf_arch_ptx_min_driver(int isa_major, int isa_minor);

typedef enum pf_ptx_jit {
    PF_PTX_JIT_OK = 0,       /* driver can JIT it for dev */
    PF_PTX_JIT_ARCH,         /* wrong architecture for dev (no driver helps) */
    PF_PTX_JIT_DRIVER_OLD,   /* right arch, but the driver does not know this PTX ISA */
} pf_ptx_jit;

/* Full PTX verdict.  driver_version 0 = unknown: the driver is assumed new
 * enough (callers say so in their evidence). */
pf_ptx_jit pf_arch_ptx_jit(int arch, char variant, int isa_major, int isa_minor, int dev, int driver_version);

/* "sm_110a", "compute_90", "sm_120f". */
void pf_arch_code_name(int arch, char variant, bool ptx, char *buf, size_t len);
/* "11.0" from 110. */
void pf_arch_cc_str(int dev, char *buf, size_t len);
/* What GPU a compute capability is, with naming caveats; "" when nothing
 * worth saying.  110 -> "Jetson Thor", 101 -> a note that 10.1 is Thor under
 * the CUDA 12.8/12.9 numbering. */
const char *pf_arch_device_note(int dev);

/* TORCH_CUDA_ARCH_LIST as torch 2.11's cpp_extension._get_cuda_arch_flags
 * reads it: ' ' becomes ';', named aliases expand, each item must be one of
 * the supported "X.Y", "X.Ya" (optionally "+PTX"); anything else raises
 * ValueError there, so it is an error here. */
typedef struct pf_torch_arch {
    int arch;
    char variant; /* 0 or 'a' */
    bool ptx;     /* "+PTX": also embeds compute_XY PTX */
} pf_torch_arch;

#define PF_TORCH_ARCH_MAX 64

typedef struct pf_torch_arch_list {
    pf_torch_arch item[PF_TORCH_ARCH_MAX];
    size_t n;
    bool native;      /* unset-equivalent "native": torch picks the visible GPUs */
    char error[256];  /* set when the parse fails: torch's own message and why */
} pf_torch_arch_list;

/* 0 on success, -1 with out->error set. */
int pf_arch_torch_list_parse(const char *value, pf_torch_arch_list *out);

typedef enum pf_cover {
    PF_COVER_NONE = 0,
    PF_COVER_JIT,     /* only through PTX JIT */
    PF_COVER_NATIVE,  /* SASS that runs as is */
} pf_cover;

/* What an extension built with this list would carry for dev (driver
 * assumed new enough for its own PTX). */
pf_cover pf_arch_torch_list_covers(const pf_torch_arch_list *l, int dev);

#endif
