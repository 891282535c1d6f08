# The user journey (issue #12): a launch of several processes across nodes
# (bench/launch_group.c), and the whole path check cluster -> plan -> launch
# a real multi-node llama.cpp server -> bench -> report in network namespaces.

# The scenario (scripts/demo-cluster.sh) and its faults; root only (network
# namespaces) and needs scripts/install-deps-llama.sh: SKIPPED (77) with the
# reason otherwise.
add_test(NAME journey
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/journey_test.sh $<TARGET_FILE:preflight>
                 ${CMAKE_BINARY_DIR}/tests/journey-out)
set_tests_properties(journey PROPERTIES LABELS "journey;real-server;netns" SKIP_RETURN_CODE 77
                     TIMEOUT 240 RUN_SERIAL TRUE)
