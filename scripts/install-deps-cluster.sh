#!/usr/bin/env bash
# What the cluster runtime tests (tests/cluster/runtime.cmake) need on Debian
# 12, as root or with sudo.  Idempotent.  The simulated cluster wires network
# namespaces (`ip`), injects faults with nftables, runs a real OpenSSH sshd in
# the namespaces for --launcher ssh and Open MPI's mpirun for --launcher
# mpirun, Slurm (slurmctld, slurmd, munge on this host) for --launcher srun;
# libssl-dev gives libcrypto (HMAC) to the build.  Without root the
# namespace tests report SKIPPED (exit 77).
# PyPI `ray` (2.60.0) goes into its own venv, /opt/pf-ray-venv, for the
# --launcher ray and cluster.ray test (about 1 min once; the test finds it
# there).  PF_WITH_RAY=0 leaves it out, and that one test then says SKIPPED.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

pkgs=(iproute2 nftables openssh-server openssh-client openmpi-bin slurm-wlm munge libssl-dev python3 bash procps)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps-cluster: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# sshd's privilege-separation directory (Debian creates it at boot only).
$SUDO mkdir -p /run/sshd

if [ "${PF_WITH_RAY:-1}" = 1 ] && ! /opt/pf-ray-venv/bin/python -c 'import ray' 2>/dev/null; then
    echo "install-deps-cluster: installing ray 2.60.0 (PyPI) into /opt/pf-ray-venv"
    python3 -c 'import ensurepip' 2>/dev/null || {
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq --no-install-recommends python3-venv
    }
    $SUDO python3 -m venv /opt/pf-ray-venv
    $SUDO /opt/pf-ray-venv/bin/pip install -q 'ray==2.60.0'
fi
