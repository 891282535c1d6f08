# toolchain.ptxas (probes/toolchain/ptxas.c: rules; probes/toolchain/ptxas_collect.c: collector and probe)
pf_add_unit(test_ptxas_rules test_ptxas_rules.c)
pf_add_unit(test_ptxas_collect test_ptxas_collect.c ptxas_fixtures.c)
pf_add_unit(test_ptxas_probe test_ptxas_probe.c ptxas_fixtures.c)

# The same through `preflight check` (skips until the probe is registered).
add_executable(ptxas_mkfixture ${CMAKE_CURRENT_LIST_DIR}/ptxas_mkfixture.c ${CMAKE_CURRENT_LIST_DIR}/ptxas_fixtures.c)
target_link_libraries(ptxas_mkfixture PRIVATE pfcore)
target_include_directories(ptxas_mkfixture PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(ptxas_mkfixture PRIVATE PF_BINARY_DIR="${CMAKE_BINARY_DIR}")
add_test(NAME ptxas_cli
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/ptxas_cli.sh $<TARGET_FILE:preflight> $<TARGET_FILE:ptxas_mkfixture>)
set_tests_properties(ptxas_cli PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)

# Against the real Triton 3.6.0 wheel (skips without scripts/install-deps-ptxas.sh).
add_test(NAME ptxas_triton
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/ptxas_triton.sh $<TARGET_FILE:preflight>
                 ${CMAKE_SOURCE_DIR}/scripts/ptxas-triton-crosscheck.py)
set_tests_properties(ptxas_triton PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
