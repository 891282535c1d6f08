# Network probes (docs/network.md).
add_executable(net_probe_driver net_probe_driver.c)
target_link_libraries(net_probe_driver PRIVATE pfcore)
