# Launch mode: log signatures, the process lifecycle against stand-in
# servers, and (label real-server) a real llama.cpp server from PyPI.
pf_add_unit(test_launch_logwatch test_launch_logwatch.c)
pf_add_unit(test_launch test_launch.c)
