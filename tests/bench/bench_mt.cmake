# Multi-threaded load driver (`preflight bench --threads N`): the driver with
# several event-loop threads against the scripted server (tests/sse_server),
# and the flag through the real client binary.
pf_add_unit(test_bench_mt test_bench_mt.c bench_mt_fixture.c)
add_dependencies(test_bench_mt sse_server)
pf_add_unit(test_bench_mt_stop test_bench_mt_stop.c bench_mt_fixture.c)
add_dependencies(test_bench_mt_stop sse_server)

# `--threads` through the real client: bad values exit 2, per-level thread
# counts and auto in the record, a real Ctrl-C over 4 threads.
add_test(NAME bench_mt_cli
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/bench_mt_cli.sh $<TARGET_FILE:pf_bench>
                 $<TARGET_FILE:sse_server> ${CMAKE_CURRENT_BINARY_DIR}/bench_mt_cli)
set_tests_properties(bench_mt_cli PROPERTIES TIMEOUT 180)
