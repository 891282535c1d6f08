# Pair tests and cross-node deciders (docs/cluster.md, "## Checks", "## The plan").
add_executable(pair_driver ${CMAKE_CURRENT_LIST_DIR}/pair_driver.c)
target_link_libraries(pair_driver PRIVATE pfcore)

# The collectors against real sockets in two network namespaces, faults
# injected with nftables and veth MTUs (root; else skipped).
if(Python3_Interpreter_FOUND)
  add_test(NAME cluster_pairs_netns COMMAND ${Python3_EXECUTABLE}
           ${CMAKE_CURRENT_LIST_DIR}/pairs_netns.py $<TARGET_FILE:pair_driver>)
else()
  add_test(NAME cluster_pairs_netns COMMAND sh -c "echo 'python3 not found: skipped'; exit 77")
endif()
set_tests_properties(cluster_pairs_netns PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)

# The bandwidth sender against scripted receivers on loopback (still
# draining, stalled, lying, truncated, silent; no root).
if(Python3_Interpreter_FOUND)
  add_test(NAME cluster_bw_receivers COMMAND ${Python3_EXECUTABLE}
           ${CMAKE_CURRENT_LIST_DIR}/bw_receivers.py $<TARGET_FILE:pair_driver>)
  set_tests_properties(cluster_bw_receivers PROPERTIES TIMEOUT 60)
endif()

# Cross-node deciders: table tests on captured node records (tests/cluster/data).
pf_add_unit(test_cluster_judge ${CMAKE_CURRENT_LIST_DIR}/test_cluster_judge.c)
# `preflight plan`: golden files under tests/cluster/data/plan-*/.
pf_add_unit(test_cluster_plan ${CMAKE_CURRENT_LIST_DIR}/test_cluster_plan.c)
# Request builders, pure helpers and a loopback round trip (no root).
pf_add_unit(test_pair_requests ${CMAKE_CURRENT_LIST_DIR}/test_pair_requests.c)
