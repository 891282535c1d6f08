# gpu.kernels / preflight kernels: fatbin scanner, arch rules, verdicts.

# The subcommand as a stand-alone tool (tests and scripts/ use it; the
# preflight binary gets it through main.c's command table).
add_executable(pf-kernels ${CMAKE_CURRENT_LIST_DIR}/kernels_tool.c)
target_link_libraries(pf-kernels PRIVATE pfcore)
pf_add_unit(test_fatbin test_fatbin.c)
pf_add_unit(test_kernels test_kernels.c)
# Real nvcc output, built when the test runs; exits 77 (skipped) without
# a CUDA >= 13 nvcc.
pf_add_unit(test_fatbin_nvcc test_fatbin_nvcc.c)
set_tests_properties(test_fatbin_nvcc PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
# The real CUDA 13 libraries of this machine; exits 77 (skipped) without them.
pf_add_unit(test_fatbin_cudalibs test_fatbin_cudalibs.c)
set_tests_properties(test_fatbin_cudalibs PROPERTIES SKIP_RETURN_CODE 77)
add_test(NAME kernels_cli
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/kernels_cli.sh $<TARGET_FILE:pf-kernels>
                 "${Python3_EXECUTABLE}" ${CMAKE_SOURCE_DIR})
set_tests_properties(kernels_cli PROPERTIES TIMEOUT 300)
# Inventory vs cuobjdump on the toolkit's libraries, when cuobjdump exists
# (skipped otherwise: CUDA 13.0's runfile here has no cuobjdump, so scripts/install-deps-kernels.sh
# puts PyPI's in /opt/preflight-test/cuobjdump; CUOBJDUMP overrides).
add_test(NAME kernels_vs_cuobjdump
         COMMAND sh -c "c=\${CUOBJDUMP:-$(command -v cuobjdump || find /usr/local/cuda/bin /opt/preflight-test/cuobjdump -type f -name cuobjdump 2>/dev/null | head -1)}; \
                        [ -x \"$c\" ] && [ -d /usr/local/cuda/lib64 ] || { echo 'SKIP: no cuobjdump or no /usr/local/cuda/lib64'; exit 77; }; \
                        CUOBJDUMP=$c PREFLIGHT=$<TARGET_FILE:pf-kernels> sh ${CMAKE_SOURCE_DIR}/scripts/compare-cuobjdump.sh /usr/local/cuda/lib64")
set_tests_properties(kernels_vs_cuobjdump PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
