# Tests for mem.headroom and env.fingerprint (issue #3).
pf_add_unit(test_meminfo test_meminfo.c)
pf_add_unit(test_mem_decide test_mem_decide.c)
pf_add_unit(test_safetensors test_safetensors.c)

# A stand-in libnvidia-ml for the NVML path of the GPU process listing.
add_library(pf_fake_nvml SHARED fixtures_mem/fake_nvml.c)
set_target_properties(pf_fake_nvml PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/memfix)
pf_add_unit(test_gpuprocs test_gpuprocs.c)
add_dependencies(test_gpuprocs pf_fake_nvml)
target_compile_definitions(test_gpuprocs PRIVATE PF_FAKE_NVML="$<TARGET_FILE:pf_fake_nvml>")
