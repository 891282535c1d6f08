/* ELF and fatbin parsing (probes/kernels): any bytes, as a library file. */
#include <stddef.h>
#include <stdint.h>

#include "probes/kernels/elf.h"
#include "probes/kernels/fatbin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pf_err err;
    pf_fatbin *fb = pf_fatbin_scan_memory(data, size, "fuzz", &err);
    if (fb) {
        for (size_t i = 0; i < pf_fatbin_entry_count(fb); i++) {
            char name[128];
            pf_fatbin_entry_name(pf_fatbin_entry_at(fb, i), name, sizeof name);
        }
        for (size_t i = 0; i < pf_fatbin_problem_kept(fb); i++)
            (void)pf_fatbin_problem(fb, i);
        pf_fatbin_free(fb);
    }
    pf_elf *e = pf_elf_from_memory(data, size, "fuzz", &err);
    if (e) {
        if (pf_elf_is_elf(e)) {
            for (size_t i = 0; i < pf_elf_section_count(e); i++)
                (void)pf_elf_section_bytes(e, pf_elf_section_at(e, i));
            pf_elf_cubin cub;
            (void)pf_elf_cubin_info(e, &cub, &err);
            (void)pf_elf_has_kernel_text(e);
        }
        pf_elf_close(e);
    }
    return 0;
}
