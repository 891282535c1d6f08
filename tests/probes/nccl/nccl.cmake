# probes/nccl/: finding libnccl, nccl.conf, net plugins, interface selection.
pf_add_unit(test_libnccl test_libnccl.c)
add_dependencies(test_libnccl pf_mem_fixtures)
target_compile_definitions(test_libnccl PRIVATE PF_MEMFIX="${PF_MEMFIX}")

pf_add_unit(test_net_ifsel test_net_ifsel.c)
pf_add_unit(test_net_conf test_net_conf.c)
pf_add_unit(test_net_transport test_net_transport.c)
add_dependencies(test_net_transport pf_fake_net_good pf_fake_net_crash pf_fake_net_nosym)

# The bootstrap-interface oracle: a real libnccl.so.2's ncclGetUniqueId (run
# by tests/probes/net/net_netns.py --oracle, test net_nccl_oracle).
add_executable(nccl_bootstrap_oracle ${CMAKE_CURRENT_LIST_DIR}/nccl_bootstrap_oracle.c)
target_link_libraries(nccl_bootstrap_oracle PRIVATE ${CMAKE_DL_LIBS})
