# probes/gpu/: the CUDA driver (gpu.driver), arch rules, other GPU processes.
pf_add_unit(test_gpu_driver test_gpu_driver.c)
pf_add_unit(test_arch test_arch.c)

# A stand-in libnvidia-ml for the NVML path of the GPU process listing.
add_library(pf_fake_nvml SHARED ${PF_FIXTURES_DIR}/fake_nvml.c)
set_target_properties(pf_fake_nvml PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/memfix)
pf_add_unit(test_gpuprocs test_gpuprocs.c)
add_dependencies(test_gpuprocs pf_fake_nvml)
target_compile_definitions(test_gpuprocs PRIVATE PF_FAKE_NVML="$<TARGET_FILE:pf_fake_nvml>")
