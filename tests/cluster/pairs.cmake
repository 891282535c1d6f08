# Pair tests and cross-node deciders (docs/cluster.md, "## Checks", "## The plan").
add_executable(pair_driver ${CMAKE_CURRENT_LIST_DIR}/pair_driver.c)
target_link_libraries(pair_driver PRIVATE pfcore)
