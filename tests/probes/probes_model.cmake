# h2-model: the registry (scopes, needs, the runner) and checks judging the
# environment they are given, not the process's.
pf_add_unit(test_registry ${CMAKE_CURRENT_LIST_DIR}/test_registry.c)
set_tests_properties(test_registry PROPERTIES TIMEOUT 30)
add_test(NAME env_judged COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/env_judged.sh $<TARGET_FILE:preflight>)
set_tests_properties(env_judged PROPERTIES TIMEOUT 60)
