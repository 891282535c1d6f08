# Reports (reports/): renderers of the run record, `preflight report` and
# `preflight compare`, checked with their real consumers.
add_executable(pf_mkrecord ${CMAKE_CURRENT_LIST_DIR}/mkrecord.c)
target_link_libraries(pf_mkrecord PRIVATE pfcore)

# The same binary as a build without libjs-chart.js: an empty chart library
# object, linked before the library's own (objects come before archive members).
add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/pf_chartjs_none.c
  COMMAND ${CMAKE_COMMAND} -DIN= -DOUT=${CMAKE_CURRENT_BINARY_DIR}/pf_chartjs_none.c -DSYM=pf_chartjs
          -DVERSION= -P ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
  DEPENDS ${CMAKE_SOURCE_DIR}/cmake/embed.cmake)
add_executable(pf_nocharts ${CMAKE_SOURCE_DIR}/core/main.c ${CMAKE_CURRENT_BINARY_DIR}/pf_chartjs_none.c)
target_link_libraries(pf_nocharts PRIVATE pfcore)

pf_add_unit(test_reports ${CMAKE_CURRENT_LIST_DIR}/test_reports.c)

# Every renderer on real records: JUnit against the XSD and junitparser,
# Markdown and annotations against golden files, benchmark JSON and
# Prometheus read back, the regression gate's exit codes, bad input, speed.
add_test(NAME reports_outputs
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/reports_outputs.sh $<TARGET_FILE:preflight>
                 $<TARGET_FILE:pf_mkrecord> $<TARGET_FILE:sse_server> ${CMAKE_CURRENT_LIST_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/reports_outputs ${PF_SANITIZE} $<TARGET_FILE:pf_nocharts>)
set_tests_properties(reports_outputs PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)

# The HTML in headless Chromium with no network: no console error, no
# request, grid and charts drawn, screenshots; and an HTML validator.
add_test(NAME reports_html_browser
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/reports_browser.sh $<TARGET_FILE:preflight>
                 $<TARGET_FILE:pf_mkrecord> $<TARGET_FILE:sse_server> ${CMAKE_CURRENT_LIST_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/reports_browser)
set_tests_properties(reports_html_browser PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)

# A benchmark against a real llama.cpp server, every report flag on the live
# command; SKIPPED with the reason when scripts/install-deps-llama.sh has not run.
add_test(NAME reports_llama
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/reports_llama.sh $<TARGET_FILE:preflight>
                 ${CMAKE_CURRENT_LIST_DIR} ${CMAKE_CURRENT_BINARY_DIR}/reports_llama)
set_tests_properties(reports_llama PROPERTIES LABELS "real-server" SKIP_RETURN_CODE 77 TIMEOUT 300
                     RESOURCE_LOCK llama_server) # one llama-server at a time (launch.cmake)
