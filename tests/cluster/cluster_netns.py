#!/usr/bin/env python3
"""`preflight cluster` end to end on a simulated cluster of network namespaces.

Four nodes named and wired like 2x DGX Spark + 2x Jetson Thor, plus a
"switch" namespace holding two bridges (brA, brB):

  spark1  enp1s0f0np0 10.40.0.1/24 (brA)  enP2p1s0f1np1 10.41.0.1/24 (brB)  docker0 172.17.0.1/16
  spark2  enp1s0f0np0 10.40.0.2/24 (brA)  enP2p1s0f1np1 10.41.0.2/24 (brB)  docker0 172.17.0.1/16
  thor1   eno1 10.40.0.3/24 (brA)         mgbe0_0 (brB, fe80 only)
  thor2   eno1 10.40.0.4/24 (brA)         mgbe0_0 (brB, fe80 only)

The coordinator runs on spark1 (as a user would, on the head node); the
agents start through `--launcher exec --exec-template 'ip netns exec {host}
{cmd}'`.  Faults, all in the first run:

  - thor2's firewall drops 6379 and rejects 8265 from spark2 only (nftables)
  - spark2's second port loses its link (the switch side is set down)
  - thor1's eno1 has MTU 9000 on a 1500 network (frames dropped silently)
  - thor2's hostname resolves to 127.0.1.1 (/etc/netns/<ns>/hosts): the Gloo trap
  - a fifth node, ghost, has no namespace: it never joins

Second run: an agent killed (SIGKILL) and one hung (SIGSTOP) mid-run.
Third run: the coordinator killed mid-run: every agent must exit by itself.
Fourth run: --launcher ssh through a real OpenSSH sshd in every namespace
(keys made here): thor2 does not authorize our key (Permission denied under
BatchMode), spark2 has no preflight at its bin= path; both named.
Fifth run: --launcher mpirun (Open MPI, through the same sshd).
With --ray, instead: a real Ray cluster (head on spark1, worker on thor1; PyPI ray,
found as PF_TEST_RAY_PYTHON or a python3 that imports ray) and
`preflight cluster --ray`: the nodes come from ray.nodes(), the agents run
as Ray tasks pinned to their nodes and judge the workers' environment, and
cluster.ray compares.  Skipped with the reason when Ray is not installed.
(ssh/mpirun runs are skipped, with the reason printed, when sshd or mpirun
is not installed.)

Each fault must come out named, within its deadline, with the other
results kept.  Needs root, iproute2 and nftables; exits 77 (skip) without.
usage: cluster_netns.py PATH/TO/preflight [--ray]   (--ray: only the Ray run,
which takes ~30 s because Ray itself starts slowly: a test of its own)
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
PF = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
TAG = "%d" % os.getpid()
SW = "pfsw" + TAG
NODES = {  # name -> namespace
    "spark1": "pfs1-" + TAG, "spark2": "pfs2-" + TAG,
    "thor1": "pft1-" + TAG, "thor2": "pft2-" + TAG,
}
IP = {"spark1": "10.40.0.1", "spark2": "10.40.0.2", "thor1": "10.40.0.3", "thor2": "10.40.0.4"}
HOSTNAME = socket.gethostname()
failures = []
tmp = tempfile.mkdtemp(prefix="pfcluster")


def run(*args, check=True, timeout=20, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def ns(n, *args, **kw):
    return run("ip", "netns", "exec", n, *args, **kw)


def expect(cond, what, evidence=None):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what + ("\n     " + json.dumps(evidence)[:3000] if evidence is not None else ""))
        failures.append(what)


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(SKIP)


def preconditions():
    if not PF or not os.access(PF, os.X_OK):
        print("usage: cluster_netns.py PATH/TO/preflight")
        sys.exit(2)
    if os.geteuid() != 0:
        skip("needs root (network namespaces)")
    for tool in ("ip", "nft", "bash"):
        if not shutil.which(tool):
            skip("%s not installed (scripts/install-deps-cluster.sh)" % tool)
    r = run("ip", "netns", "add", SW, check=False)
    if r.returncode != 0:
        skip("cannot create network namespaces here: " + r.stderr.strip())


def link(node, ifname, port, bridge, mtu=None):
    nsn = NODES[node]
    run("ip", "link", "add", ifname, "netns", nsn, "type", "veth", "peer", "name", port, "netns", SW)
    ns(SW, "ip", "link", "set", port, "master", bridge)
    if mtu:
        ns(nsn, "ip", "link", "set", ifname, "mtu", str(mtu))
        ns(SW, "ip", "link", "set", port, "mtu", str(mtu))
    ns(SW, "ip", "link", "set", port, "up")
    ns(nsn, "ip", "link", "set", ifname, "up")


def setup():
    for b in ("brA", "brB"):
        ns(SW, "ip", "link", "add", b, "type", "bridge")
        ns(SW, "ip", "link", "set", b, "up")
    for name, nsn in NODES.items():
        run("ip", "netns", "add", nsn)
        ns(nsn, "ip", "link", "set", "lo", "up")
        # ip netns exec bind-mounts /etc/netns/<ns>/hosts over /etc/hosts
        os.makedirs("/etc/netns/" + nsn, exist_ok=True)
        with open("/etc/netns/%s/hosts" % nsn, "w") as f:
            addr = "127.0.1.1" if name == "thor2" else IP[name]
            f.write("127.0.0.1 localhost\n%s %s\n" % (addr, HOSTNAME))
    for i, s in enumerate(("spark1", "spark2"), 1):
        link(s, "enp1s0f0np0", "s%da" % i, "brA")
        link(s, "enP2p1s0f1np1", "s%db" % i, "brB")
        ns(NODES[s], "ip", "addr", "add", "%s/24" % IP[s], "dev", "enp1s0f0np0")
        ns(NODES[s], "ip", "addr", "add", "10.41.0.%d/24" % i, "dev", "enP2p1s0f1np1")
        ns(NODES[s], "ip", "link", "add", "docker0", "type", "bridge")
        ns(NODES[s], "ip", "addr", "add", "172.17.0.1/16", "dev", "docker0")
        ns(NODES[s], "ip", "link", "set", "docker0", "up")
    for i, t in enumerate(("thor1", "thor2"), 1):
        link(t, "eno1", "t%da" % i, "brA", mtu=9000 if t == "thor1" else None)
        link(t, "mgbe0_0", "t%db" % i, "brB")
        ns(NODES[t], "ip", "addr", "add", "%s/24" % IP[t], "dev", "eno1")
    # Faults.
    ns(SW, "ip", "link", "set", "s2b", "down")  # spark2's second port: no link
    rules = """table inet pfc {
  chain in {
    type filter hook input priority 0;
    ip saddr %s tcp dport 6379 drop
    ip saddr %s tcp dport 8265 reject with tcp reset
  }
}
""" % (IP["spark2"], IP["spark2"])
    path = os.path.join(tmp, "thor2.nft")
    with open(path, "w") as f:
        f.write(rules)
    ns(NODES["thor2"], "nft", "-f", path)


SSHD = []


def start_sshd():
    """One sshd per node namespace on port 22 of its 10.40.0.x address."""
    sshd = "/usr/sbin/sshd"
    if not os.path.exists(sshd) or not shutil.which("ssh-keygen"):
        return "sshd not installed (scripts/install-deps-cluster.sh)"
    os.makedirs("/run/sshd", exist_ok=True)
    d = os.path.join(tmp, "ssh")
    os.makedirs(d)
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(d, "hostkey"))
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(d, "id"))
    with open(os.path.join(d, "id.pub")) as f, open(os.path.join(d, "authorized_keys"), "w") as g:
        g.write(f.read())
    open(os.path.join(d, "nobody_keys"), "w").close()
    for name, nsn in NODES.items():
        cfg = os.path.join(d, "sshd_%s" % name)
        with open(cfg, "w") as f:
            f.write("Port 22\nListenAddress %s\nHostKey %s/hostkey\nPidFile none\nUsePAM no\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
                    "StrictModes no\nAuthorizedKeysFile %s/%s\n"
                    % (IP[name], d, d, "nobody_keys" if name == "thor2" else "authorized_keys"))
        SSHD.append(subprocess.Popen(["ip", "netns", "exec", nsn, sshd, "-D", "-e", "-f", cfg],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    # Wait until each listens.
    for name, nsn in NODES.items():
        for _ in range(100):
            r = ns(nsn, "bash", "-c", "exec 3<>/dev/tcp/%s/22" % IP[name], check=False)
            if r.returncode == 0:
                break
            time.sleep(0.05)
    return None


def ssh_opts():
    d = os.path.join(tmp, "ssh")
    return ["-o", "IdentityFile=%s/id" % d, "-o", "UserKnownHostsFile=%s/known_hosts" % d]


def run_ssh():
    why = start_sshd()
    if why:
        print("skip ssh and mpirun runs: " + why)
        return False
    out = os.path.join(tmp, "ssh.json")
    hf = os.path.join(tmp, "hosts-ssh")
    with open(hf, "w") as f:
        f.write("root@%s name=spark1\n" % IP["spark1"])
        f.write("root@%s name=spark2 bin=/nonexistent/preflight\n" % IP["spark2"])
        f.write("%s name=thor1\n" % IP["thor1"])
        f.write("root@%s name=thor2\n" % IP["thor2"])
    cmd = ["ip", "netns", "exec", NODES["spark1"], PF, "cluster", "--hostfile", hf, "--agent-path", PF,
           "--only", "net.interfaces", "--no-pairs", "--join-timeout", "10", "--json", out] + ssh_opts()
    t0 = time.monotonic()
    r = run(*cmd, check=False, timeout=60)
    took = time.monotonic() - t0
    print(r.stderr[-2500:])
    rec = json.load(open(out))
    names = [n["name"] for n in rec["nodes"]]
    expect(names == ["spark1", "thor1"], "ssh: spark1 and thor1 joined through sshd", names)
    expect(rec["cluster"]["launcher"] == "ssh", "ssh: the record names the launcher")
    je = rec["cluster"]["join_errors"]
    expect("Permission denied" in je.get("thor2", "") and "BatchMode" in je.get("thor2", ""),
           "ssh: thor2's refused key is reported as such (BatchMode, no password asked)", je)
    expect("not installed on spark2" in je.get("spark2", ""), "ssh: spark2 without preflight is named, with the fix", je)
    expect(took < 15, "ssh: the run took %.1f s" % took)
    env = [n["facts"].get("env_source") for n in rec["nodes"]]
    expect(env == ["login-shell", "login-shell"], "ssh: the environment judged is a login shell's", env)
    return True


def run_mpirun():
    if not shutil.which("mpirun"):
        print("skip mpirun run: mpirun not installed (scripts/install-deps-cluster.sh)")
        return
    out = os.path.join(tmp, "mpi.json")
    hf = os.path.join(tmp, "hosts-mpi")
    with open(hf, "w") as f:
        for n in ("spark1", "spark2", "thor1"):
            f.write("%s name=%s\n" % (IP[n], n))
    d = os.path.join(tmp, "ssh")
    env = dict(os.environ)
    env["OMPI_MCA_plm_rsh_args"] = "-i %s/id -o UserKnownHostsFile=%s/known_hosts -l root" % (d, d)
    env["OMPI_MCA_oob_tcp_if_include"] = "10.40.0.0/24"
    env["OMPI_MCA_plm_rsh_no_tree_spawn"] = "1"
    cmd = ["ip", "netns", "exec", NODES["spark1"], PF, "cluster", "--hostfile", hf, "--launcher", "mpirun",
           "--agent-path", PF, "--only", "net.interfaces", "--no-pairs", "--join-timeout", "15", "--json", out]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # While it runs: mpirun holds the secret in its environment (exported
    # with -x by name); no process may have it on its command line -- not
    # mpirun, not the ssh to each node, not orted, not the agents.
    secret, leaked, scans = None, set(), 0
    while p.poll() is None and time.monotonic() - t0 < 30:
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    cl = f.read()
                if secret is None and cl.startswith(b"mpirun\0") and b"--node-names" in cl:
                    with open("/proc/%s/environ" % d, "rb") as f:
                        for kv in f.read().split(b"\0"):
                            if kv.startswith(b"PREFLIGHT_AGENT_SECRET="):
                                secret = kv.split(b"=", 1)[1]
                if secret and secret in cl:
                    leaked.add(cl.replace(b"\0", b" ")[:200].decode(errors="replace"))
            except OSError:
                pass
        scans += 1
        time.sleep(0.02)
    err = p.communicate(timeout=60)[1]
    took = time.monotonic() - t0
    print(err[-2500:])
    expect(secret and len(secret) == 64, "mpirun: the secret travels in mpirun's environment")
    expect(not leaked, "mpirun: the secret is on no command line (%d scans of every process)" % scans, sorted(leaked))
    rec = json.load(open(out))
    names = [n["name"] for n in rec["nodes"]]
    expect(names == ["spark1", "spark2", "thor1"], "mpirun: one agent per node, named by rank", names)
    addrs = {n["name"]: n.get("control_address") for n in rec["cluster"]["nodes"]}
    expect(addrs == {"spark1": IP["spark1"], "spark2": IP["spark2"], "thor1": IP["thor1"]},
           "mpirun: each agent ran on its own node (rank i on host i)", addrs)
    expect(took < 20, "mpirun: the run took %.1f s" % took)


def ray_python():
    cands = [os.environ.get("PF_TEST_RAY_PYTHON"), "/opt/pf-ray-venv/bin/python", shutil.which("python3")]
    for py in cands:
        if py and os.path.exists(py) and run(py, "-c", "import ray", check=False, timeout=60).returncode == 0:
            return py
    return None


def run_ray():
    py = ray_python()
    if not py:
        print("skip ray run: Ray is not installed (scripts/install-deps-cluster.sh installs it into /opt/pf-ray-venv)")
        return
    rayb = os.path.join(os.path.dirname(py), "ray")
    tmpdir = os.path.join(tmp, "ray")
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", NCCL_SOCKET_IFNAME="=eno1")
    started = []
    try:
        r = ns(NODES["spark1"], rayb, "start", "--head", "--node-ip-address", IP["spark1"], "--port", "6379",
               "--num-cpus", "1", "--num-gpus", "0", "--include-dashboard=false", "--temp-dir", tmpdir,
               "--disable-usage-stats", check=False, timeout=90, env=env)
        started.append("spark1")
        if r.returncode != 0:
            expect(False, "ray: head started", r.stderr[-1500:])
            return
        r = ns(NODES["thor1"], rayb, "start", "--address", "%s:6379" % IP["spark1"], "--node-ip-address", IP["thor1"],
               "--num-cpus", "1", "--num-gpus", "0", check=False, timeout=90, env=env)
        started.append("thor1")
        if r.returncode != 0:
            expect(False, "ray: worker started", r.stderr[-1500:])
            return
        out = os.path.join(tmp, "ray.json")
        cmd = ["ip", "netns", "exec", NODES["spark1"], PF, "cluster", "--ray", "%s:6379" % IP["spark1"],
               "--python", py, "--agent-path", PF, "--only", "net.", "--no-pairs", "--join-timeout", "30",
               "--json", out]
        t0 = time.monotonic()
        r = run(*cmd, check=False, timeout=120,
                env=dict(os.environ, PF_RAY_HELPER=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                                 "scripts", "preflight-ray-agents.py")
                         if not os.environ.get("PF_RAY_HELPER") else os.environ["PF_RAY_HELPER"]))
        took = time.monotonic() - t0
        print(r.stderr[-3000:])
        rec = json.load(open(out))
        names = [n["name"] for n in rec["nodes"]]
        expect(names == [IP["spark1"], IP["thor1"]], "ray: the nodes come from Ray, head first", names)
        expect(rec["cluster"]["launcher"] == "ray" and rec["cluster"]["node_source"] == "ray",
               "ray: launcher and node source are ray", rec["cluster"])
        addrs = [n.get("control_address") for n in rec["cluster"]["nodes"]]
        expect(addrs == [IP["spark1"], IP["thor1"]], "ray: each agent ran on its own Ray node", addrs)
        envs = [n["facts"].get("env_source") for n in rec["nodes"]]
        expect(envs == ["launcher", "launcher"], "ray: the workers' environment is judged", envs)
        ray_sec = rec.get("ray", {}).get("nodes", [])
        expect(len([n for n in ray_sec if n.get("Alive")]) == 2, "ray: ray.nodes() is in the record", ray_sec)
        cr = one(rec, "cluster.ray")
        expect(cr and cr["status"] != "skip", "ray: cluster.ray judged", cr)
        print("ray run took %.1f s" % took)
    finally:
        for n in reversed(started):
            ns(NODES[n], rayb, "stop", "--force", check=False, timeout=60)


def teardown():
    for p in SSHD:
        p.terminate()
    for p in SSHD:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
    for nsn in list(NODES.values()) + [SW]:
        run("ip", "netns", "del", nsn, check=False)
        shutil.rmtree("/etc/netns/" + nsn, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


def hostfile(names, extra=""):
    path = os.path.join(tmp, "hosts-%d" % len(os.listdir(tmp)))
    with open(path, "w") as f:
        for n in names:
            f.write("%s name=%s\n" % (NODES.get(n, "pfnone-" + TAG), n))
        f.write(extra)
    return path


def coordinator(hf, out, *extra):
    return ["ip", "netns", "exec", NODES["spark1"], PF, "cluster", "--hostfile", hf,
            "--launcher", "exec", "--exec-template", "ip netns exec {host} {cmd}",
            "--agent-path", PF, "--listen", IP["spark1"], "--only", "net.", "--json", out] + list(extra)


def agents_of(join_port):
    """pids of agent processes of this run (their argv names the port)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 3 and argv[1] == b"agent" and argv[3].endswith(b":%d" % join_port):
            pids.append(int(d))
    # A child the agent forked and has not exec'd yet (bash -lc env) shows
    # the agent's command line too: count agents, not their children.
    def ppid(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return -1
    return [p for p in pids if ppid(p) not in pids]


def checks(rec, cid):
    return [c for c in rec["checks"] if c["id"] == cid]


def one(rec, cid, node=None, peer=None):
    for c in rec["checks"]:
        if c["id"] == cid and c["node"] == node and c["peer"] == peer:
            return c
    return None


def run_faults():
    out = os.path.join(tmp, "faults.json")
    hf = hostfile(["spark1", "spark2", "thor1", "thor2", "ghost"])
    t0 = time.monotonic()
    r = run(*coordinator(hf, out, "--ports", "6379,8265", "--join-timeout", "5"), check=False, timeout=60)
    took = time.monotonic() - t0
    print(r.stderr[-3000:])
    expect(r.returncode == 1, "faults: exit 1 (a check failed), got %d" % r.returncode)
    rec = json.load(open(out))
    names = [n["name"] for n in rec["nodes"]]
    expect(names == ["spark1", "spark2", "thor1", "thor2"], "faults: the four joined nodes, in pipeline order", names)
    cn = one(rec, "cluster.nodes")
    expect(cn and cn["status"] == "fail" and "ghost" in cn["summary"] and "Cannot open network namespace" in cn["summary"],
           "faults: cluster.nodes fails naming ghost with ip's own words", cn)
    expect(took < 20, "faults: the run ended in %.1f s (ghost fails at once, not at the join deadline)" % took)
    # Node checks from every joined node are kept.
    for n in names:
        expect(one(rec, "net.interfaces", n) is not None, "faults: %s's node checks are in the record" % n)
    # The Gloo trap on thor2.
    g = one(rec, "net.gloo", "thor2")
    expect(g and g["status"] == "fail" and "127.0.1.1" in g["summary"], "faults: net.gloo on thor2 names 127.0.1.1", g)
    gl = [c for c in checks(rec, "cluster.gloo") if c["status"] == "fail"]
    expect(any("thor2" in (c["node"], c["peer"]) for c in gl), "faults: cluster.gloo fails on a pair with thor2",
           checks(rec, "cluster.gloo"))
    expect(all("thor2" in (c["node"], c["peer"]) for c in gl), "faults: cluster.gloo fails only on pairs with thor2", gl)
    # Ports: dropped and rejected from spark2 to thor2 only.
    p = one(rec, "cluster.ports", "spark2", "thor2")
    txt = json.dumps(p)
    expect(p and p["status"] == "fail" and "filtered" in txt and "refused" in txt,
           "faults: cluster.ports spark2->thor2 fails with 6379 filtered and 8265 refused", p)
    p1 = one(rec, "cluster.ports", "spark1", "thor2")
    expect(p1 and p1["status"] == "pass", "faults: cluster.ports spark1->thor2 passes", p1)
    # Link down: spark2's second port has no link, so spark2 cannot reach
    # spark1's 10.41.0.1 (and spark2 does not offer its own 10.41.0.2).
    rc = one(rec, "cluster.reach", "spark2", "spark1")
    expect(rc and rc["status"] in ("fail", "warn") and "10.41.0.1" in rc["summary"],
           "faults: cluster.reach spark2->spark1 names 10.41.0.1 behind the dead link", rc)
    rc = one(rec, "cluster.reach", "spark1", "spark2")
    expect(rc and "10.41.0.2" not in json.dumps(rc["evidence"]),
           "faults: spark2 does not offer the address of its dead link", rc)
    # MTU: thor1's 9000-byte frames are dropped on the 1500 network; the
    # fix names thor1's interface.
    mt = [c for c in checks(rec, "cluster.mtu") if "thor1" in (c["node"], c["peer"]) and c["remedy"]]
    expect(mt and all("eno1" in c["remedy"] and "thor1" in c["remedy"] for c in mt),
           "faults: cluster.mtu names thor1's eno1 (MTU 9000 on a 1500 network)", checks(rec, "cluster.mtu"))
    ok = one(rec, "cluster.mtu", "spark1", "thor2")
    expect(ok and ok["status"] == "pass", "faults: cluster.mtu spark1->thor2 passes", ok)
    bw = checks(rec, "cluster.bandwidth")
    expect(len(bw) == 3 and sorted((c["node"], c["peer"]) for c in bw) == [("spark1", "spark2"), ("spark2", "thor1"), ("thor1", "thor2")],
           "faults: bandwidth between pipeline neighbours only", [(c["node"], c["peer"], c["status"]) for c in bw])
    cl = rec.get("cluster", {})
    expect(cl.get("join_errors", {}).get("ghost"), "faults: the cluster section names ghost's join error", cl.get("join_errors"))
    expect(not agents_of(cl.get("port", -1)), "faults: no agent left running")
    return rec, took


def run_unreachable_coordinator():
    """--listen on an address thor1 has no route to: thor1's agent says so,
    naming --listen, and the coordinator reports it at once."""
    out = os.path.join(tmp, "unreach.json")
    hf = hostfile(["spark1", "thor1"])
    cmd = coordinator(hf, out, "--no-pairs")
    cmd[cmd.index("--listen") + 1] = "172.17.0.1"  # spark1's docker0
    t0 = time.monotonic()
    r = run(*cmd, check=False, timeout=60)
    took = time.monotonic() - t0
    rec = json.load(open(out))
    why = rec["cluster"]["join_errors"].get("thor1", "")
    expect(r.returncode == 1 and "cannot connect to the coordinator at 172.17.0.1" in why and "--listen" in why,
           "unreachable coordinator: thor1's own words name the address and --listen", why)
    expect([n["name"] for n in rec["nodes"]] == ["spark1"] and took < 10,
           "unreachable coordinator: spark1 kept, the run ended in %.1f s" % took)


def run_killed_and_hung():
    out = os.path.join(tmp, "kill.json")
    hf = hostfile(["spark1", "spark2", "thor1"])
    # --env inherit: an agent killed inside its login shell (bash -lc) could
    # leave that shell's profile half done (pyenv's rehash lock, say).
    p = subprocess.Popen(coordinator(hf, out, "--checks-timeout", "3", "--no-pairs", "--env", "inherit"), stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, text=True)
    port, joined, log = None, set(), []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if not line:
            break
        log.append(line)
        m = re.search(r"coordinator on [0-9.]+:(\d+)", line)
        if m:
            port = int(m.group(1))
        m = re.search(r"\] (\w+) joined from", line)
        if m:
            joined.add(m.group(1))
        if joined >= {"spark2", "thor1"}:
            break
    victims = {}
    for pid in agents_of(port or -1):
        argv = open("/proc/%d/cmdline" % pid, "rb").read().split(b"\0")
        name = argv[argv.index(b"--node-name") + 1].decode()
        victims[name] = pid
    if "spark2" in victims:
        os.kill(victims["spark2"], signal.SIGKILL)
    if "thor1" in victims:
        os.kill(victims["thor1"], signal.SIGSTOP)
    t0 = time.monotonic()
    rest = p.communicate(timeout=30)[1]
    took = time.monotonic() - t0
    print("".join(log) + rest[-2000:])
    expect(set(victims) >= {"spark2", "thor1"}, "kill: found the agents of spark2 and thor1", sorted(victims))
    rec = json.load(open(out))
    cn = one(rec, "cluster.nodes")
    s = cn["summary"] if cn else ""
    expect(cn and cn["status"] == "fail" and "spark2" in s and "signal 9" in s,
           "kill: cluster.nodes names spark2, killed by signal 9", cn)
    expect("thor1" in s and "did not answer run_checks within 3 s" in s,
           "kill: cluster.nodes names thor1 as hung in run_checks (3 s deadline)", cn)
    expect(took < 10, "kill: the run ended %.1f s after the faults (deadline 3 s)" % took)
    expect(one(rec, "net.interfaces", "spark1") is not None, "kill: spark1's results are kept")
    expect(not agents_of(port or -1), "kill: no agent left running (the hung one was killed)")
    for pid in victims.values():  # in case
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def run_coordinator_killed():
    out = os.path.join(tmp, "ckill.json")
    hf = hostfile(["spark1", "spark2", "thor1", "thor2"])
    p = subprocess.Popen(coordinator(hf, out, "--keepalive", "1", "--env", "inherit"), stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, text=True)
    port, n = None, 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if not line:
            break
        m = re.search(r"coordinator on [0-9.]+:(\d+)", line)
        if m:
            port = int(m.group(1))
        if " joined from " in line:
            n += 1
        if n == 4:
            break
    before = agents_of(port or -1)
    # ip netns exec runs the coordinator itself (exec): kill it.
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    t0 = time.monotonic()
    while agents_of(port or -1) and time.monotonic() - t0 < 5:
        time.sleep(0.05)
    left = agents_of(port or -1)
    took = time.monotonic() - t0
    expect(len(before) == 4, "ckill: four agents ran before the coordinator was killed (%d joined)" % n, before)
    expect(not left, "ckill: every agent exited by itself %.2f s after the coordinator died" % took, left)
    for pid in left:
        os.kill(pid, signal.SIGKILL)


def main():
    preconditions()
    ray_only = "--ray" in sys.argv[2:]
    if ray_only and not ray_python():
        teardown()
        skip("Ray is not installed (scripts/install-deps-cluster.sh installs it into /opt/pf-ray-venv, or PF_TEST_RAY_PYTHON)")
    try:
        setup()
        if ray_only:
            run_ray()
        else:
            run_faults()
            run_unreachable_coordinator()
            run_killed_and_hung()
            run_coordinator_killed()
            if run_ssh():
                run_mpirun()
    finally:
        teardown()
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("all passed")


if __name__ == "__main__":
    main()
