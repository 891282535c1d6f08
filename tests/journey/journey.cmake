# The user journey (issue #12): a launch of several processes across nodes
# (bench/launch_group.c), and the whole path check cluster -> plan -> launch
# a real multi-node llama.cpp server -> bench -> report in network namespaces.
pf_add_unit(test_launch_group ${CMAKE_CURRENT_LIST_DIR}/../test_launch_group.c)
set_tests_properties(test_launch_group PROPERTIES LABELS "launch;journey" TIMEOUT 60)
