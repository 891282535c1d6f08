pf_add_unit(test_record test_record.c)
pf_add_unit(test_proc test_proc.c)
pf_add_unit(test_gpu_driver test_gpu_driver.c)
pf_add_unit(test_pyenv test_pyenv.c)
