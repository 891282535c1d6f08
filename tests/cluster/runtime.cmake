# Cluster runtime: control plane, launchers, coordinator (docs/cluster.md,
# "## Running it", "## Launchers", "## Control plane").

# The simulated cluster: four namespaces wired like 2x Spark + 2x Thor,
# agents through --launcher exec, faults via nftables and ip (root; else skipped).
if(Python3_Interpreter_FOUND)
  add_test(NAME cluster_runtime_netns COMMAND ${Python3_EXECUTABLE}
           ${CMAKE_CURRENT_LIST_DIR}/cluster_netns.py $<TARGET_FILE:preflight>)
else()
  add_test(NAME cluster_runtime_netns COMMAND sh -c "echo 'python3 not found: skipped'; exit 77")
endif()
set_tests_properties(cluster_runtime_netns PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 90 RUN_SERIAL TRUE)

# The control plane against strangers (garbage, oversized, not JSON, unknown
# type, wrong secret, slowloris) and the agent against a lying or silent
# coordinator; loopback, no root.
if(Python3_Interpreter_FOUND)
  add_test(NAME cluster_control_plane COMMAND ${Python3_EXECUTABLE}
           ${CMAKE_CURRENT_LIST_DIR}/control_plane.py $<TARGET_FILE:preflight>)
  set_tests_properties(cluster_control_plane PROPERTIES TIMEOUT 60)
endif()

# Frames, HMAC, node lists and launcher command lines (unit tables).
pf_add_unit(test_cluster_proto ${CMAKE_CURRENT_LIST_DIR}/test_cluster_proto.c)
pf_add_unit(test_cluster_nodelist ${CMAKE_CURRENT_LIST_DIR}/test_cluster_nodelist.c)
# nccl_start frames the agent refuses before forking (cluster/ncclop.h).
pf_add_unit(test_cluster_ncclop ${CMAKE_CURRENT_LIST_DIR}/test_cluster_ncclop.c)

# --launcher ray and cluster.ray against a real Ray head + worker in two
# namespaces (~30 s: Ray starts slowly).  Skipped when Ray is not installed
# (scripts/install-deps-cluster.sh puts it in /opt/pf-ray-venv, or PF_TEST_RAY_PYTHON=py).
if(Python3_Interpreter_FOUND)
  add_test(NAME cluster_runtime_ray COMMAND ${Python3_EXECUTABLE}
           ${CMAKE_CURRENT_LIST_DIR}/cluster_netns.py $<TARGET_FILE:preflight> --ray)
  set_tests_properties(cluster_runtime_ray PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 RUN_SERIAL TRUE)
endif()

# Bad input: exit codes and messages (no root).
add_test(NAME cluster_cli COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cluster_cli.sh $<TARGET_FILE:preflight>)
set_tests_properties(cluster_cli PROPERTIES TIMEOUT 60)

# --launcher srun inside a real Slurm allocation: munged, slurmctld and one
# slurmd brought up privately for this host (root; else skipped).
if(Python3_Interpreter_FOUND)
  add_test(NAME cluster_runtime_slurm COMMAND ${Python3_EXECUTABLE}
           ${CMAKE_CURRENT_LIST_DIR}/slurm_srun.py $<TARGET_FILE:preflight>)
  set_tests_properties(cluster_runtime_slurm PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60 RUN_SERIAL TRUE)
endif()

# cluster.nccl (preflight cluster --nccl) over the stand-in libnccl/libcuda of
# tests/probes/nccl: a passing 3-node run, a rank that dies, a rank that hangs
# past its deadline, bad flags.  Agents on this host (loopback), no root, ~8 s.
if(Python3_Interpreter_FOUND)
  add_test(NAME cluster_nccl COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cluster_nccl.sh $<TARGET_FILE:preflight>
           $<TARGET_FILE_DIR:pf_nccl_fake_tcp>)
  set_tests_properties(cluster_nccl PROPERTIES TIMEOUT 60)
  add_test(NAME cluster_signals COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cluster_signals.sh $<TARGET_FILE:preflight>
           $<TARGET_FILE_DIR:pf_nccl_fake_tcp>)
  set_tests_properties(cluster_signals PROPERTIES TIMEOUT 90)
  # --fallback-env (a second round; refused variables; a failing one) and
  # --capture (libpcap in each agent; root or CAP_NET_RAW, else skipped).
  add_test(NAME cluster_nccl_fallback COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cluster_nccl_more.sh
           $<TARGET_FILE:preflight> $<TARGET_FILE_DIR:pf_nccl_fake_tcp> fallback)
  set_tests_properties(cluster_nccl_fallback PROPERTIES TIMEOUT 60)
  add_test(NAME cluster_nccl_capture COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cluster_nccl_more.sh
           $<TARGET_FILE:preflight> $<TARGET_FILE_DIR:pf_nccl_fake_tcp> capture)
  set_tests_properties(cluster_nccl_capture PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77)
endif()
