# Multi-threaded load driver (`preflight bench --threads N`): the driver with
# several event-loop threads against the scripted server (tests/sse_server),
# and the flag through the real client binary.
pf_add_unit(test_bench_mt test_bench_mt.c)
add_dependencies(test_bench_mt sse_server pf_bench)
set_tests_properties(test_bench_mt PROPERTIES TIMEOUT 300)
