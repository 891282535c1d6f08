# probes/: the node-check framework (flags shared by check/kernels/agent).
pf_add_unit(test_probe_flags test_probe_flags.c)
