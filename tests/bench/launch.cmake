# Launch mode: log signatures, the process lifecycle against stand-in
# servers, and (label real-server) a real llama.cpp server from PyPI.
pf_add_unit(test_launch_logwatch test_launch_logwatch.c)
pf_add_unit(test_launch test_launch.c)

# The real server (llama.cpp's llama-server + SmolLM2-135M from PyPI, see
# scripts/install-deps-llama.sh).  Skipped (77) with the reason when they are
# not installed.
add_executable(launch_driver ${CMAKE_CURRENT_LIST_DIR}/launch_driver.c)
target_link_libraries(launch_driver PRIVATE pfcore)
add_test(NAME real_server
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/real_server_test.sh
                 $<TARGET_FILE:launch_driver> $<TARGET_FILE:preflight> ${CMAKE_CURRENT_BINARY_DIR}/real-server)
# Both real-server tests run llama-server with -t 2: on a 2-core machine two
# at once thrash (each ~3x slower, seen in the 20-run proof), so one at a time.
set_tests_properties(real_server PROPERTIES LABELS "real-server" SKIP_RETURN_CODE 77 TIMEOUT 900
                     RESOURCE_LOCK llama_server)
set_tests_properties(test_launch PROPERTIES LABELS "launch")

# the processes of a multi-node launch (bench/launch_group.c)
pf_add_unit(test_launch_group test_launch_group.c)
set_tests_properties(test_launch_group PROPERTIES LABELS "launch;journey" TIMEOUT 60)
