# toolchain.ptxas (probes/ptxas.c: rules; probes/ptxas_collect.c: collector and probe)
pf_add_unit(test_ptxas_rules test_ptxas_rules.c)
pf_add_unit(test_ptxas_collect test_ptxas_collect.c ptxas_fixtures.c)
pf_add_unit(test_ptxas_probe test_ptxas_probe.c ptxas_fixtures.c)
