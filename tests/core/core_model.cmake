# h2-model: the environment as data, reading records back and merging them,
# the registry's scopes and dependencies.
add_executable(record_roundtrip ${CMAKE_CURRENT_LIST_DIR}/record_roundtrip.c)
target_link_libraries(record_roundtrip PRIVATE pfcore)
pf_add_unit(test_env ${CMAKE_CURRENT_LIST_DIR}/test_env.c)
set_tests_properties(test_env PROPERTIES TIMEOUT 30)
pf_add_unit(test_record_load ${CMAKE_CURRENT_LIST_DIR}/test_record_load.c)
set_tests_properties(test_record_load PROPERTIES TIMEOUT 30)
# Records from the real binary (check, kernels, bench) read back and written
# again byte for byte; damaged copies refused.
add_test(NAME record_roundtrip
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/record_roundtrip.sh $<TARGET_FILE:preflight>
                 $<TARGET_FILE:record_roundtrip> $<TARGET_FILE:sse_server>)
set_tests_properties(record_roundtrip PROPERTIES TIMEOUT 60)
