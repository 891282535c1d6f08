/* kernels_scan.h -- collect the files whose device code gpu.kernels judges.
 *
 * The collecting half of gpu.kernels: walk package directories and --scan
 * paths, scan every shared library, cubin and fatbin once, and remember
 * where each came from.  Deciding happens in kernels.c.
 *
 * Walk rules: only *.so, *.so.N..., *.cubin and *.fatbin are read (a
 * site-packages tree holds tens of thousands of other files); directory
 * symlinks are not followed (no loops); a file reached twice through
 * symlinks is read once; depth is capped.  A path the user named
 * explicitly is read whatever its name, and any problem with it is an
 * error item.  Directories named like an architecture ("sm90", "sm_110a",
 * "Sm100f") are recorded: packages such as sgl-kernel ship one build per
 * architecture in such directories and load one of them at run time, and
 * flashinfer-cubin ships raw cubins per architecture.
 */
#ifndef PF_KERNELS_SCAN_H
#define PF_KERNELS_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probes/kernels/fatbin.h"

typedef struct pf_kscan pf_kscan;

typedef struct pf_kfile {
    const char *path;
    const char *package;   /* group label: "torch", "nvidia/cublas", or the --scan root */
    const pf_fatbin *fb;   /* NULL when the file could not be read */
    const char *error;     /* why not; NULL when fb is set */
    const char *arch_dir;  /* "sm100" when the file's parent directory is arch-named, else NULL */
    const char *alt_key;   /* "<grandparent>/(arch)/<name>" for such files: builds that replace one another */
    bool explicit_path;    /* named by the user rather than found by a walk */
} pf_kfile;

typedef struct pf_karch_dir {
    const char *path;
    size_t binaries;       /* .so / .cubin / .fatbin files below it */
} pf_karch_dir;

pf_kscan *pf_kscan_new(void);
void pf_kscan_free(pf_kscan *ks);

/* Add a file or a directory tree under a package label.  Returns the
 * number of files added (0 for an empty tree). */
size_t pf_kscan_add(pf_kscan *ks, const char *path, const char *package, bool explicit_path);

size_t pf_kscan_count(const pf_kscan *ks);
const pf_kfile *pf_kscan_file(const pf_kscan *ks, size_t i);
size_t pf_kscan_arch_dir_count(const pf_kscan *ks);
const pf_karch_dir *pf_kscan_arch_dir(const pf_kscan *ks, size_t i);
/* Files skipped in walks because they are not ELF/fatbin (linker scripts
 * named lib*.so) or are dangling symlinks. */
size_t pf_kscan_skipped(const pf_kscan *ks);
double pf_kscan_seconds(const pf_kscan *ks);
uint64_t pf_kscan_bytes(const pf_kscan *ks);

/* True for "sm90", "sm_100a", "Sm100f", "SM_121" (a whole path component). */
bool pf_kscan_is_arch_name(const char *name);

#endif
