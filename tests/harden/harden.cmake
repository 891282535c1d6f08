# Hardening (issue 13): outputs, inputs, signals, terminal safety.
add_test(NAME harden_files
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/harden_files.sh $<TARGET_FILE:preflight>)
set_tests_properties(harden_files PROPERTIES TIMEOUT 120 LABELS harden)
add_test(NAME harden_signals
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/harden_signals.sh $<TARGET_FILE:preflight> $<TARGET_FILE:sse_server>)
set_tests_properties(harden_signals PROPERTIES TIMEOUT 120 LABELS harden)
add_test(NAME harden_cli
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/harden_cli.sh $<TARGET_FILE:preflight> $<TARGET_FILE:ptxas_mkfixture>)
set_tests_properties(harden_cli PROPERTIES TIMEOUT 120 LABELS harden)
add_test(NAME harden_faults
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/harden_faults.sh $<TARGET_FILE:preflight> $<TARGET_FILE:sse_server>)
set_tests_properties(harden_faults PROPERTIES TIMEOUT 120 LABELS harden)

# ThreadSanitizer: scripts/test.sh builds with -DPF_TSAN=ON and runs the tests
# labelled tsan: the threaded bench client, and the cluster runtime's
# threads (the pair-test listener serving while probes run, in one process).
foreach(t test_bench_mt test_bench_mt_stop bench_mt_cli test_pair_requests)
  if(TEST ${t})
    set_property(TEST ${t} APPEND PROPERTY LABELS tsan)
  endif()
endforeach()
# report/compare keep the immediate exit on a signal: a kill at a random
# moment never leaves an output half-written (temp + rename).
add_test(NAME harden_sig_files
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/harden_sig_files.sh $<TARGET_FILE:preflight> $<TARGET_FILE:pf_mkrecord>
                 ${PROJECT_SOURCE_DIR}/tests/cluster/data)
set_tests_properties(harden_sig_files PROPERTIES TIMEOUT 60 LABELS harden)
