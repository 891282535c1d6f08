# probes/net/: interfaces, RDMA, Gloo's address, the net.* checks (docs/network.md).
add_executable(net_probe_driver ${CMAKE_CURRENT_LIST_DIR}/net_probe_driver.c)
target_link_libraries(net_probe_driver PRIVATE pfcore)
add_dependencies(net_probe_driver ${PF_FAKE_LIBNCCL_TARGETS})

pf_add_unit(test_net_judge test_net_judge.c)
pf_add_unit(test_net_sysfs test_net_sysfs.c)

# End to end in a network namespace (root, iproute2, util-linux; else skipped).
if(Python3_Interpreter_FOUND)
  add_test(NAME net_netns COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/net_netns.py
                                  $<TARGET_FILE:net_probe_driver> ${CMAKE_BINARY_DIR}/tests/fakenccl)
else()
  add_test(NAME net_netns COMMAND sh -c "echo 'python3 not found: skipped'; exit 77")
endif()
set_tests_properties(net_netns PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)

# The same namespace, with a real libnccl.so.2 as the oracle: for each
# environment the predicted bootstrap interface must equal the one NCCL's own
# ncclGetUniqueId picks.  Skipped when no libnccl.so.2 is installed
# (PF_TEST_LIBNCCL=path overrides the search).
if(Python3_Interpreter_FOUND)
  add_test(NAME net_nccl_oracle COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/net_netns.py
                                        $<TARGET_FILE:net_probe_driver> ${CMAKE_BINARY_DIR}/tests/fakenccl
                                        --oracle $<TARGET_FILE:nccl_bootstrap_oracle>)
else()
  add_test(NAME net_nccl_oracle COMMAND sh -c "echo 'python3 not found: skipped'; exit 77")
endif()
set_tests_properties(net_nccl_oracle PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
