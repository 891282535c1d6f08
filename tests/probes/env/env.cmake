# probes/env/: the Python environment and env.fingerprint.
pf_add_unit(test_pyenv test_pyenv.c)
pf_add_unit(test_fingerprint test_fingerprint.c)
add_dependencies(test_fingerprint pf_mem_fixtures)
target_compile_definitions(test_fingerprint PRIVATE PF_MEMFIX="${PF_MEMFIX}")
