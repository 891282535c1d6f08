# Network probes (docs/network.md).
add_executable(net_probe_driver net_probe_driver.c)
target_link_libraries(net_probe_driver PRIVATE pfcore)

pf_add_unit(test_net_ifsel test_net_ifsel.c)
pf_add_unit(test_net_judge test_net_judge.c)
