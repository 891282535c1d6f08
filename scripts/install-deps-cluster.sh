#!/usr/bin/env bash
# What the cluster runtime tests (tests/cluster/runtime.cmake) need on Debian
# 12, as root or with sudo.  Idempotent.  The simulated cluster wires network
# namespaces (`ip`), injects faults with nftables, runs a real OpenSSH sshd in
# the namespaces for --launcher ssh and Open MPI's mpirun for --launcher
# mpirun, Slurm (slurmctld, slurmd, munge on this host) for --launcher srun;
# libssl-dev gives libcrypto (HMAC) to the build.  Without root the
# namespace tests report SKIPPED (exit 77).
#   PF_WITH_RAY=1 scripts/install-deps-cluster.sh   also PyPI `ray` for the
#   --launcher ray test (large; without it that test is skipped).
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

if [ "${PF_WITH_RAY:-0}" = 1 ] && ! python3 -c 'import ray' 2>/dev/null; then
    echo "install-deps-cluster: installing ray (PyPI)"
    python3 -m pip install -q 'ray[default]' 2>/dev/null ||
        python3 -m pip install -q --break-system-packages 'ray[default]'
fi
