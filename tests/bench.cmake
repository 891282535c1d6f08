# Serving benchmark (bench/): unit tests, the scripted SSE test server, and
# end-to-end runs of the client against it.

add_executable(sse_server sse_server.c)
target_link_libraries(sse_server PRIVATE PkgConfig::JANSSON)

# `pf_bench ARGS` == `preflight bench ARGS`
add_executable(pf_bench bench_main.c)
target_link_libraries(pf_bench PRIVATE pfcore)
pf_add_unit(test_bench_stats test_bench_stats.c)
pf_add_unit(test_bench_sse test_bench_sse.c)
pf_add_unit(test_bench_request test_bench_request.c)
pf_add_unit(test_bench_metrics test_bench_metrics.c)
pf_add_unit(test_bench_dataset test_bench_dataset.c)
pf_add_unit(test_bench_prom test_bench_prom.c)

# End to end: the real client binary against the scripted server.
pf_add_unit(test_bench_e2e test_bench_e2e.c)
add_dependencies(test_bench_e2e sse_server pf_bench)
set_tests_properties(test_bench_e2e PROPERTIES TIMEOUT 600)
pf_add_unit(test_bench_jscan test_bench_jscan.c)
