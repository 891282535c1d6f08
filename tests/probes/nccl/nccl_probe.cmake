# Tests of the NCCL probe (issue #9).  No GPU here: the parser and the
# classifier run on real NCCL logs (tests/probes/nccl/data), the orchestration on a
# stand-in libnccl over TCP and a stand-in libcuda (host memory).
set(PF_NCCLFAKE ${CMAKE_CURRENT_BINARY_DIR}/ncclfake)
add_library(pf_nccl_fake_cuda SHARED ${CMAKE_CURRENT_LIST_DIR}/fake_cuda.c)
set_target_properties(pf_nccl_fake_cuda PROPERTIES OUTPUT_NAME cuda SUFFIX ".so.1" PREFIX "lib"
                      LIBRARY_OUTPUT_DIRECTORY ${PF_NCCLFAKE})
target_compile_options(pf_nccl_fake_cuda PRIVATE -Wno-missing-prototypes)
add_library(pf_nccl_fake_tcp SHARED ${CMAKE_CURRENT_LIST_DIR}/fake_nccl_tcp.c)
set_target_properties(pf_nccl_fake_tcp PROPERTIES OUTPUT_NAME nccl SUFFIX ".so.2" PREFIX "lib"
                      LIBRARY_OUTPUT_DIRECTORY ${PF_NCCLFAKE})
target_compile_options(pf_nccl_fake_tcp PRIVATE -Wno-missing-prototypes -Wno-shadow)
target_link_libraries(pf_nccl_fake_tcp PRIVATE pthread)
add_library(pf_nccl_fake_old SHARED ${CMAKE_CURRENT_LIST_DIR}/fake_nccl_tcp.c)
set_target_properties(pf_nccl_fake_old PROPERTIES OUTPUT_NAME nccl SUFFIX ".so.2" PREFIX "lib"
                      LIBRARY_OUTPUT_DIRECTORY ${PF_NCCLFAKE}/old)
target_compile_definitions(pf_nccl_fake_old PRIVATE FAKE_NCCL_CODE=21300)
target_compile_options(pf_nccl_fake_old PRIVATE -Wno-missing-prototypes -Wno-shadow)
target_link_libraries(pf_nccl_fake_old PRIVATE pthread)

pf_add_unit(test_nccl_log test_nccl_log.c)
pf_add_unit(test_nccl_sweep test_nccl_sweep.c)
pf_add_unit(test_nccl_judge test_nccl_judge.c)
pf_add_unit(test_nccl_orch test_nccl_orch.c)
add_dependencies(test_nccl_orch pf_nccl_fake_cuda pf_nccl_fake_tcp pf_nccl_fake_old)
target_compile_definitions(test_nccl_orch PRIVATE PF_NCCLFAKE="${PF_NCCLFAKE}")
set_tests_properties(test_nccl_orch PROPERTIES TIMEOUT 60)
add_executable(test_nccl_pcap ${CMAKE_CURRENT_LIST_DIR}/test_nccl_pcap.c)
target_link_libraries(test_nccl_pcap PRIVATE pfcore)
add_test(NAME test_nccl_pcap COMMAND test_nccl_pcap)
set_tests_properties(test_nccl_pcap PROPERTIES TIMEOUT 30 SKIP_RETURN_CODE 77)
add_test(NAME nccl_cli COMMAND ${CMAKE_CURRENT_LIST_DIR}/nccl_cli.sh $<TARGET_FILE:preflight> ${PF_NCCLFAKE})
set_tests_properties(nccl_cli PROPERTIES TIMEOUT 60)
