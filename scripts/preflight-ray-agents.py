#!/usr/bin/env python3
"""preflight's helper for `preflight cluster --launcher ray` (and --ray).

Uses Ray's own API (the clusters preflight targets already run Ray):

  preflight-ray-agents.py --address ADDR --list
      prints one line "NODE <name> <ip>" per alive node, head first, then by
      IP (the pipeline order preflight uses), and one line "RAYNODES <json>"
      with ray.nodes() for the cluster.ray check.

  preflight-ray-agents.py --address ADDR -- AGENT ARGV...
      reads the run's secret (one line) from stdin and starts AGENT ARGV on
      every alive node, each as a Ray task pinned with
      NodeAffinitySchedulingStrategy(node_id, soft=False) and num_cpus=0 (so
      it schedules beside a server's placement group).  The task runs the
      agent with the worker's environment -- the one Ray gives the server --
      plus PF_AGENT_RANK=i, writes the secret to the agent's stdin (a task
      argument is no command line), and returns the agent's exit code and
      the tail of its stderr.  The agent reports to the coordinator over TCP
      itself; this process only waits.  It exits when the coordinator ends it
      (SIGTERM); Ray kills the tasks' children with their workers.

Nothing else is executed: the agent argv comes from preflight cluster.
"""
import json
import sys


def fail(msg, code=2):
    sys.stderr.write("preflight-ray-agents: %s\n" % msg)
    sys.exit(code)


def alive_nodes(ray):
    nodes = [n for n in ray.nodes() if n.get("Alive")]

    def key(n):
        head = "node:__internal_head__" in (n.get("Resources") or {})
        ip = tuple(int(x) if x.isdigit() else 0 for x in str(n.get("NodeManagerAddress", "")).split("."))
        return (0 if head else 1, ip)

    nodes.sort(key=key)
    hosts = [n.get("NodeManagerHostname", "") for n in nodes]
    unique = len(set(hosts)) == len(hosts)
    out = []
    for n in nodes:
        name = n.get("NodeManagerHostname", "") if unique else ""
        if not name or not all(c.isalnum() or c in "._-" for c in name):
            name = n.get("NodeManagerAddress", "")
        out.append((name, n.get("NodeManagerAddress", ""), n))
    return out


def main():
    argv = sys.argv[1:]
    address = "auto"
    listing = False
    agent = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--address" and i + 1 < len(argv):
            address = argv[i + 1]
            i += 2
        elif a == "--list":
            listing = True
            i += 1
        elif a == "--":
            agent = argv[i + 1:]
            break
        else:
            fail("unknown argument %r" % a)
    if not listing and not agent:
        fail("give --list or -- AGENT ARGV")
    if address != "auto":
        # Ray itself retries a missing GCS for a minute; say it in 3 s.
        import socket
        host, _, port = address.rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=3).close()
        except (OSError, ValueError) as e:
            fail("no Ray cluster at %s: nothing answers there (%s); start one with `ray start --head` "
                 "or give the head's GCS address (port 6379)" % (address, e), 4)
    try:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    except ImportError as e:
        fail("Ray is not installed for %s (%s): pip install ray, or run preflight cluster with the "
             "python that has it" % (sys.executable, e), 3)
    secret = None
    if agent:
        secret = sys.stdin.readline().strip()
        if len(secret) != 64:
            fail("no secret on stdin")
    try:
        ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    except Exception as e:  # ConnectionError, RuntimeError: no cluster there
        fail("cannot connect to Ray at %s: %s" % (address, e), 4)
    nodes = alive_nodes(ray)
    if listing:
        for name, ip, _ in nodes:
            print("NODE %s %s" % (name, ip))
        clean = []
        for n in ray.nodes():
            clean.append({k: n.get(k) for k in ("NodeID", "Alive", "NodeManagerAddress", "NodeManagerHostname",
                                                "NodeManagerPort", "ObjectManagerPort", "Resources")})
        print("RAYNODES " + json.dumps({"nodes": clean}))
        return 0

    @ray.remote(num_cpus=0, max_retries=0)
    def run_agent(argv, rank, secret_line):
        import os
        import subprocess
        env = dict(os.environ)
        env["PF_AGENT_RANK"] = str(rank)
        p = subprocess.run(argv, input=secret_line, capture_output=True, text=True, env=env)
        return p.returncode, p.stderr[-2000:]

    refs = []
    for rank, (name, ip, n) in enumerate(nodes):
        strat = NodeAffinitySchedulingStrategy(node_id=n["NodeID"], soft=False)
        refs.append(run_agent.options(scheduling_strategy=strat).remote(agent, rank, secret + "\n"))
    rc = 0
    for (name, ip, _), ref in zip(nodes, refs):
        try:
            code, err = ray.get(ref)
        except Exception as e:
            code, err = 1, str(e)
        if code != 0:
            rc = 1
            sys.stderr.write("agent on %s (%s) exited %s: %s\n" % (name, ip, code, err.strip()[-500:]))
    return rc


if __name__ == "__main__":
    sys.exit(main())
