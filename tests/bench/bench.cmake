# Serving benchmark (bench/): unit tests, the scripted SSE test server, and
# end-to-end runs of the client against it.

add_executable(sse_server ${CMAKE_CURRENT_LIST_DIR}/sse_server.c)
target_link_libraries(sse_server PRIVATE PkgConfig::JANSSON)

# `pf_bench ARGS` == `preflight bench ARGS`
add_executable(pf_bench ${CMAKE_CURRENT_LIST_DIR}/bench_main.c)
target_link_libraries(pf_bench PRIVATE pfcore)
pf_add_unit(test_bench_stats test_bench_stats.c)
pf_add_unit(test_bench_sse test_bench_sse.c)
pf_add_unit(test_bench_request test_bench_request.c)
pf_add_unit(test_bench_metrics test_bench_metrics.c)
pf_add_unit(test_bench_dataset test_bench_dataset.c)
pf_add_unit(test_bench_prom test_bench_prom.c)
pf_add_unit(test_bench_cli test_bench_cli.c)

# End to end: the real client binary against the scripted server.
pf_add_unit(test_bench_e2e test_bench_e2e.c)
add_dependencies(test_bench_e2e sse_server pf_bench)
set_tests_properties(test_bench_e2e PROPERTIES TIMEOUT 600)
pf_add_unit(test_bench_jscan test_bench_jscan.c)

# Against a real llama.cpp server (scripts/install-deps-llama.sh); SKIPPED
# with the reason when it is not installed.
add_test(NAME bench_real_llama
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/bench_real_llama.sh $<TARGET_FILE:pf_bench>
                 ${CMAKE_CURRENT_BINARY_DIR}/bench_real_llama)
# One llama-server at a time: see real_server in launch.cmake.
set_tests_properties(bench_real_llama PROPERTIES LABELS "real-server" SKIP_RETURN_CODE 77 TIMEOUT 900
                     RESOURCE_LOCK llama_server)

# The records it writes match docs/run-record.schema.json.
add_test(NAME bench_record_schema
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/bench_record_schema.sh $<TARGET_FILE:pf_bench>
                 $<TARGET_FILE:sse_server> ${CMAKE_SOURCE_DIR}/scripts/validate-record.py
                 ${CMAKE_CURRENT_BINARY_DIR}/bench_record_schema)
set_tests_properties(bench_record_schema PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)

# The API key on every request bench makes, and in no output (scripted server
# logging each request's Authorization header).
pf_add_unit(test_bench_auth test_bench_auth.c)
add_dependencies(test_bench_auth sse_server pf_bench)
set_tests_properties(test_bench_auth PROPERTIES TIMEOUT 120)
