# core/: the run record, running tools, and the binary's command line.
pf_add_unit(test_record test_record.c)
pf_add_unit(test_proc test_proc.c)
pf_add_unit(test_dl test_dl.c)
pf_add_unit(test_strbuf test_strbuf.c)
pf_add_unit(test_flags test_flags.c)

# The JSON the real binary writes must match the documented schema, for a
# run on this machine and for a run evaluated for another architecture.
if(Python3_Interpreter_FOUND)
  add_test(NAME record_schema
           COMMAND ${CMAKE_COMMAND} -E env sh -c
             "set -e; d=$(mktemp -d); \
              $<TARGET_FILE:preflight> check --json $d/local.json >/dev/null || [ $? -le 3 ]; \
              $<TARGET_FILE:preflight> check --arch 11.0 --json $d/thor.json >/dev/null || [ $? -le 3 ]; \
              ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/validate-record.py $d/local.json $d/thor.json; \
              sed 's/\"status\": \"[a-z]*\"/\"status\": \"ok\"/' $d/thor.json > $d/bad.json; \
              if ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/validate-record.py $d/bad.json; then \
                echo 'schema accepted a record with status ok'; exit 1; fi; \
              rm -rf $d")
  set_tests_properties(record_schema PROPERTIES TIMEOUT 120)
endif()

# CLI contract: usage errors exit 2 with a message, --help and --version exit 0.
add_test(NAME cli_contract
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli_contract.sh $<TARGET_FILE:preflight>)
