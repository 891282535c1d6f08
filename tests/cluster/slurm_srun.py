#!/usr/bin/env python3
"""`preflight cluster --launcher srun` inside a real Slurm allocation.

Brings up, in a private directory, munged (own key and socket), slurmctld
and one slurmd for this host (Debian's slurm-wlm; own config via
SLURM_CONF, own ports), then runs `salloc -N1 preflight cluster --launcher
srun`: the node list comes from SLURM_JOB_NODELIST (scontrol show
hostnames), the agent starts as a job step (srun gives it the secret on
stdin) and joins.  Then the same without preflight on the step's PATH: the
node is named with slurmstepd's own words.  One host only: several slurmd
per host need a slurm built with --enable-multiple-slurmd.

Needs root, slurm-wlm and munge; exits 77 (skip) without them.
usage: slurm_srun.py PATH/TO/preflight
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
PF = os.path.abspath(sys.argv[1])
failures = []


def expect(cond, what, evidence=None):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what + ("\n     " + json.dumps(evidence)[:2000] if evidence is not None else ""))
        failures.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def started_here(pid, d):
    """A process this test started: slurmd/slurmstepd/munged carry our
    private directory in their environment or command line."""
    try:
        with open("/proc/%s/environ" % pid, "rb") as f:
            if ("SLURM_CONF=%s/slurm.conf" % d).encode() in f.read():
                return True
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return d.encode() in f.read()
    except OSError:
        return False


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root (slurmd, munged)")
        return SKIP
    for t in ("munged", "slurmctld", "slurmd", "salloc", "srun", "scontrol", "sinfo"):
        if not shutil.which(t) and not os.path.exists("/usr/sbin/" + t):
            print("SKIP: %s not installed (scripts/install-deps-cluster.sh)" % t)
            return SKIP
    d = tempfile.mkdtemp(prefix="pfslurm")
    host = socket.gethostname().split(".")[0]
    pids = []
    try:
        for sub in ("spool", "state", "log"):
            os.makedirs(os.path.join(d, sub))
        with open(os.path.join(d, "munge.key"), "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(os.path.join(d, "munge.key"), 0o600)
        sock = os.path.join(d, "munge.sock")
        subprocess.run(["munged", "-f", "--key-file=%s/munge.key" % d, "--socket=%s" % sock,
                        "--log-file=%s/log/munged.log" % d, "--pid-file=%s/munged.pid" % d,
                        "--seed-file=%s/munged.seed" % d], check=True, timeout=20)
        conf = os.path.join(d, "slurm.conf")
        with open(conf, "w") as f:
            f.write("""ClusterName=pf
SlurmctldHost={host}(127.0.0.1)
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool/%n
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
SlurmctldPort={p1}
SlurmdPort={p2}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=1000 State=UNKNOWN
PartitionName=pf Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""".format(host=host, sock=sock, d=d, p1=free_port(), p2=free_port(), cpus=os.cpu_count() or 1))
        env = dict(os.environ, SLURM_CONF=conf)
        subprocess.run(["slurmctld", "-f", conf], check=True, timeout=20, env=env)
        subprocess.run(["slurmd", "-f", conf], check=True, timeout=20, env=env)
        up = False
        for _ in range(100):
            r = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=env, timeout=10)
            if r.stdout.strip() == "idle":
                up = True
                break
            time.sleep(0.1)
        if not up:
            print("SKIP: slurm did not come up here: " + open(os.path.join(d, "log", "slurmctld.log")).read()[-500:])
            return SKIP
        out = os.path.join(d, "rec.json")
        t0 = time.monotonic()
        r = subprocess.run(["salloc", "-N1", PF, "cluster", "--launcher", "srun", "--agent-path", PF, "--only", "net.",
                            "--no-pairs", "--listen", "127.0.0.1", "--json", out], capture_output=True, text=True,
                           env=env, timeout=60)
        took = time.monotonic() - t0
        rec = json.load(open(out))
        cl = rec["cluster"]
        expect(cl["launcher"] == "srun" and cl["node_source"] == "SLURM_JOB_NODELIST",
               "srun: nodes from SLURM_JOB_NODELIST, agents as a job step", cl)
        expect([n["name"] for n in rec["nodes"]] == [host] and not cl["join_errors"],
               "srun: the allocated node joined", [rec["nodes"], cl["join_errors"], r.stderr[-800:]])
        expect(any(c["id"] == "net.interfaces" and c["node"] == host for c in rec["checks"]),
               "srun: its node checks are in the record")
        expect(took < 15, "srun: %.1f s" % took)
        # Without preflight on the step's PATH: named with slurmstepd's words.
        out2 = os.path.join(d, "rec2.json")
        env2 = dict(env, PATH="/usr/bin:/bin:/usr/sbin:/sbin")
        subprocess.run(["salloc", "-N1", PF, "cluster", "--launcher", "srun", "--only", "net.interfaces",
                        "--no-pairs", "--listen", "127.0.0.1", "--json", out2], capture_output=True, text=True,
                       env=env2, timeout=60)
        je = json.load(open(out2))["cluster"]["join_errors"]
        expect("preflight" in je.get(host, "") and "No such file" in je.get(host, ""),
               "srun: a node without preflight is named", je)
    finally:
        env = dict(os.environ, SLURM_CONF=os.path.join(d, "slurm.conf"))
        # Let the steps finish reporting to slurmctld before it goes.
        for _ in range(50):
            r = subprocess.run(["squeue", "-h"], capture_output=True, text=True, env=env, timeout=10)
            if r.returncode != 0 or not r.stdout.strip():
                break
            time.sleep(0.1)
        ours = lambda: [p for p in os.listdir("/proc") if p.isdigit() and started_here(p, d)]
        for pidf in ("slurmd.pid", "slurmctld.pid", "munged.pid"):
            try:
                pid = int(open(os.path.join(d, pidf)).read().strip())
                os.kill(pid, signal.SIGTERM)
                pids.append(pid)
            except (OSError, ValueError):
                pass
            for _ in range(30):
                try:
                    os.kill(pids[-1], 0) if pids else None
                    time.sleep(0.1)
                except OSError:
                    break
        # Whatever of ours is still there (a slurmstepd still reporting):
        # identified by the SLURM_CONF of this test in its environment.
        for p in ours():
            try:
                os.kill(int(p), signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
