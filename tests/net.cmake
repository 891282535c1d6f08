# Network probes (docs/network.md).
add_executable(net_probe_driver net_probe_driver.c)
target_link_libraries(net_probe_driver PRIVATE pfcore)

pf_add_unit(test_net_ifsel test_net_ifsel.c)
pf_add_unit(test_net_judge test_net_judge.c)
pf_add_unit(test_net_conf test_net_conf.c)
pf_add_unit(test_net_sysfs test_net_sysfs.c)

# Stand-in NCCL net plugins for the loader-search and plugin-name tests.
set(PF_NETPLUGIN_DIR ${CMAKE_BINARY_DIR}/tests/netplugins)
foreach(v good crash nosym)
  add_library(pf_fake_net_${v} SHARED fixtures/fake_net_plugin.c)
  target_compile_options(pf_fake_net_${v} PRIVATE -Wno-missing-prototypes)
endforeach()
target_compile_definitions(pf_fake_net_good PRIVATE PLUGIN_NAME="FakeIB_v8")
target_compile_definitions(pf_fake_net_crash PRIVATE PLUGIN_NAME="Crash" PLUGIN_CRASH)
target_compile_definitions(pf_fake_net_nosym PRIVATE PLUGIN_NOSYM)
set_target_properties(pf_fake_net_good PROPERTIES OUTPUT_NAME nccl-net
                      LIBRARY_OUTPUT_DIRECTORY ${PF_NETPLUGIN_DIR}/ldpath)
set_target_properties(pf_fake_net_crash PROPERTIES OUTPUT_NAME nccl-net-crash
                      LIBRARY_OUTPUT_DIRECTORY ${PF_NETPLUGIN_DIR}/hpcx)
set_target_properties(pf_fake_net_nosym PROPERTIES OUTPUT_NAME nccl-net-nosym
                      LIBRARY_OUTPUT_DIRECTORY ${PF_NETPLUGIN_DIR}/hpcx)
pf_add_unit(test_net_transport test_net_transport.c)
add_dependencies(test_net_transport pf_fake_net_good pf_fake_net_crash pf_fake_net_nosym)

# Stand-in libnccl.so.2 builds, so the end-to-end test controls which NCCL
# rules apply (2.27 keeps interfaces that are not running, 2.28 skips them).
foreach(v 22707 22809)
  add_library(pf_fake_libnccl_${v} SHARED fixtures/fake_libnccl.c)
  math(EXPR _maj "${v} / 10000")
  math(EXPR _min "(${v} / 100) % 100")
  math(EXPR _pat "${v} % 100")
  target_compile_definitions(pf_fake_libnccl_${v} PRIVATE FAKE_NCCL_CODE=${v}
                             FAKE_NCCL_VERSION="${_maj}.${_min}.${_pat}")
  set_target_properties(pf_fake_libnccl_${v} PROPERTIES OUTPUT_NAME nccl SUFFIX ".so.2"
                        LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/fakenccl/${v})
  add_dependencies(net_probe_driver pf_fake_libnccl_${v})
endforeach()

# End to end in a network namespace (root, iproute2, util-linux; else skipped).
if(Python3_Interpreter_FOUND)
  add_test(NAME net_netns COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/net_netns.py
                                  $<TARGET_FILE:net_probe_driver> ${CMAKE_BINARY_DIR}/tests/fakenccl)
else()
  add_test(NAME net_netns COMMAND sh -c "echo 'python3 not found: skipped'; exit 77")
endif()
set_tests_properties(net_netns PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)

# The same namespace, with a real libnccl.so.2 as the oracle: for each
# environment the predicted bootstrap interface must equal the one NCCL's own
# ncclGetUniqueId picks.  Skipped when no libnccl.so.2 is installed
# (PF_TEST_LIBNCCL=path overrides the search).
add_executable(nccl_bootstrap_oracle nccl_bootstrap_oracle.c)
target_link_libraries(nccl_bootstrap_oracle PRIVATE ${CMAKE_DL_LIBS})
if(Python3_Interpreter_FOUND)
  add_test(NAME net_nccl_oracle COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/net_netns.py
                                        $<TARGET_FILE:net_probe_driver> ${CMAKE_BINARY_DIR}/tests/fakenccl
                                        --oracle $<TARGET_FILE:nccl_bootstrap_oracle>)
else()
  add_test(NAME net_nccl_oracle COMMAND sh -c "echo 'python3 not found: skipped'; exit 77")
endif()
set_tests_properties(net_nccl_oracle PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
