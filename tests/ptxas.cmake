# toolchain.ptxas (probes/ptxas.c, probes/ptxas_collect.c)
pf_add_unit(test_ptxas_rules test_ptxas_rules.c)
