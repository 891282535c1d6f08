# A capture interface deleted mid-run (root; skips 77 without).
add_test(NAME nccl_pcap_vanish COMMAND ${CMAKE_CURRENT_LIST_DIR}/pcap_vanish.sh $<TARGET_FILE:preflight> ${PF_NCCLFAKE})
set_tests_properties(nccl_pcap_vanish PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77)
