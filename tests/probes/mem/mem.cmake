# probes/mem/: /proc/meminfo, safetensors headers, mem.headroom (issue #3).
pf_add_unit(test_meminfo test_meminfo.c)
pf_add_unit(test_mem_decide test_mem_decide.c)
pf_add_unit(test_safetensors test_safetensors.c)
pf_add_unit(test_mem_probe test_mem_probe.c)
