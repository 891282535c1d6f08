#!/usr/bin/env python3
"""Derive the cluster fixtures from records captured on real machines.

vm.json is `preflight check --json` on the development machine (x86-64, no
GPU, eth0 virtio 1400 MTU, Socket transport), captured 2026-12-05.  The GPU
list of h100.json is the one docs/GPU-VERIFICATION.md quotes from the H100
machine.  The other nodes are edited copies, for what no machine here has:
a GB10 DGX Spark (CC 12.1, unified memory, ConnectX-7 200G), a Jetson Thor
(CC 11.0, aarch64), a Spark whose NCCL picks IB, a cloned Spark (same
hostname and boot_id).  Every edit is below; rerun to regenerate:
    python3 tests/cluster/data/make_fixtures.py
"""
import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
base = json.load(open(os.path.join(HERE, "vm.json")))
GIB = 1024 ** 3


def node_record(name, *, host, boot, machine, gpus, ifname, addr, mtu, speed, transport="Socket",
                rdma_ports=0, nccl="2.28.9", build_id="9fcf74d93a8c3605bf7718f594d0a24366e38536",
                torch="2.9.1+cu130", sglang="0.5.5", python="3.12", env=None, free_gib=None,
                stage_bytes=None, gloo_addr=None):
    r = copy.deepcopy(base)
    n = r["nodes"][0]
    n["name"] = name
    f = n["facts"]
    f["cuda"]["gpus"] = gpus
    f["cuda"]["load_error"] = None if gpus else f["cuda"]["load_error"]
    fp = f["fingerprint"]
    fp["hostname"], fp["boot_id"] = host, boot
    fp["nccl_host_hash_input"] = host + boot
    fp["kernel"]["machine"] = machine
    fp["libnccl"]["version"] = nccl
    fp["libnccl"]["build_id"] = build_id
    fp["packages"]["torch"] = torch
    fp["packages"]["sglang"] = sglang
    fp["python"]["version"] = python
    fp["env"] = dict(env or {})
    lo = f["interfaces"][0]
    nic = copy.deepcopy(f["interfaces"][3])
    nic.update(name=ifname, mtu=mtu, speed_mbps=speed, driver="mlx5_core",
               addresses=[{"family": "ipv4", "address": addr, "prefix": 24, "link_local": False,
                           "loopback": False}])
    dock = copy.deepcopy(f["interfaces"][1])
    dock.update(name="docker0", kind="bridge", up=True, running=False, driver="bridge",
                addresses=[{"family": "ipv4", "address": "172.17.0.1", "prefix": 16,
                            "link_local": False, "loopback": False}])
    f["interfaces"] = [lo, nic, dock]
    f["nccl_socket"]["bootstrap"] = {"interface": ifname, "address": addr, "family": "ipv4",
                                     "link_local": False}
    f["nccl_socket"]["socket"] = [dict(f["nccl_socket"]["bootstrap"])]
    f["gloo"]["devices"] = [{"interface": "lo" if gloo_addr else ifname, "address": gloo_addr or addr}]
    f["gloo"]["source"] = "hostname"
    f["nccl_transport"]["transport"] = transport
    f["nccl_transport"]["socket_type"] = 3 if transport == "Socket" else 4
    f["nccl_transport"]["rdma_active_ports"] = rdma_ports
    for c in r["checks"]:
        c["node"] = name
        if c["id"] == "mem.headroom" and free_gib is not None:
            ev = c["evidence"]
            free = int(free_gib * GIB)
            ev["devices"] = [{"ordinal": 0, "name": gpus[0]["name"], "integrated": gpus[0]["integrated"],
                              "free_bytes": free, "total_bytes": gpus[0]["total_bytes"],
                              "static_pool_bytes": int(free * ev["mem_fraction_static"])}]
            if stage_bytes:
                ev["model"] = {"pp": len(stage_bytes), "stage_bytes": stage_bytes}
            c["status"], c["summary"] = "pass", "edited fixture"
    return r


GB10 = [{"compute_capability": "12.1", "integrated": True, "name": "NVIDIA GB10", "ordinal": 0,
         "pci_bus_id": "000f:01:00.0", "sm_count": 48, "total_bytes": 128 * GIB}]
THOR = [{"compute_capability": "11.0", "integrated": True, "name": "NVIDIA Thor", "ordinal": 0,
         "pci_bus_id": None, "sm_count": 20, "total_bytes": 128 * GIB}]
# Quoted from docs/GPU-VERIFICATION.md (gpu.driver evidence on the H100 machine).
H100 = [{"compute_capability": "9.0", "integrated": False, "name": "NVIDIA H100 80GB HBM3", "ordinal": 0,
         "pci_bus_id": "0000:00:06.0", "sm_count": 132, "total_bytes": 85017493504}]

# Qwen3-32B-like: 64 layers, ~61 GiB bf16, pp=4 -> 16 layers a stage.
STAGES = [int(15.6 * GIB), int(15.2 * GIB), int(15.2 * GIB), int(15.6 * GIB)]

fixtures = {
    "spark1": dict(host="spark1", boot="1b9c-spark1", machine="aarch64", gpus=GB10, ifname="enp1s0f0np0",
                   addr="192.168.100.1", mtu=9000, speed=200000, free_gib=110, stage_bytes=STAGES),
    "spark2": dict(host="spark2", boot="77d0-spark2", machine="aarch64", gpus=GB10, ifname="enp1s0f0np0",
                   addr="192.168.100.2", mtu=9000, speed=200000, free_gib=108, stage_bytes=STAGES),
    "thor1": dict(host="thor1", boot="a3e1-thor1", machine="aarch64", gpus=THOR, ifname="mgbe0_0",
                  addr="192.168.100.3", mtu=1500, speed=10000, free_gib=96, stage_bytes=STAGES),
    "thor2": dict(host="thor2", boot="c4f2-thor2", machine="aarch64", gpus=THOR, ifname="mgbe0_0",
                  addr="192.168.100.4", mtu=1500, speed=10000, free_gib=14, stage_bytes=STAGES),
    # Edited copies for cases no machine here has:
    "spark1-ib": dict(host="spark1", boot="1b9c-spark1", machine="aarch64", gpus=GB10, ifname="enp1s0f0np0",
                      addr="192.168.100.1", mtu=9000, speed=200000, transport="IB", rdma_ports=2),
    "spark2-clone": dict(host="spark1", boot="1b9c-spark1", machine="aarch64", gpus=GB10,
                         ifname="enp1s0f0np0", addr="192.168.100.2", mtu=9000, speed=200000),
    "thor1-drift": dict(host="thor1", boot="a3e1-thor1", machine="aarch64", gpus=THOR, ifname="mgbe0_0",
                        addr="192.168.100.3", mtu=1500, speed=10000, nccl="2.27.7", torch="2.9.0+cu130",
                        env={"NCCL_PROTO": "Simple"}),
    "thor1-trap": dict(host="thor1", boot="a3e1-thor1", machine="aarch64", gpus=THOR, ifname="mgbe0_0",
                       addr="192.168.100.3", mtu=1500, speed=10000, gloo_addr="127.0.1.1"),
    "h100": dict(host="gpu", boot="5e5e-gpu", machine="x86_64", gpus=H100, ifname="eth0", addr="192.168.100.9",
                 mtu=1500, speed=100000),
}
for fname, kw in fixtures.items():
    name = fname.split("-")[0]
    with open(os.path.join(HERE, fname + ".json"), "w") as fh:
        json.dump(node_record(name, **kw), fh, indent=1)
        fh.write("\n")
print("wrote", ", ".join(sorted(fixtures)))

# Pair-test results in the shape pf_pair_probe writes (keys as in the
# namespace test's output), for spark1, spark2, thor1, thor2 on 192.168.100.1-4.
ADDR = {"spark1": "192.168.100.1", "spark2": "192.168.100.2", "thor1": "192.168.100.3", "thor2": "192.168.100.4"}
IF = {"spark1": "enp1s0f0np0", "spark2": "enp1s0f0np0", "thor1": "mgbe0_0", "thor2": "mgbe0_0"}
MTU = {"spark1": 9000, "spark2": 9000, "thor1": 1500, "thor2": 1500}
SPEED = {"spark1": 200000, "spark2": 200000, "thor1": 10000, "thor2": 10000}


def probe(a, b, reach="ok", port_result="ok", gbit=9.4, path=None, gloo_result="ok", gloo_peer=None, self_gloo=None,
          draining=0):
    pa, pb = ADDR[a], ADDR[b]
    r = {"node": a, "peer": b, "elapsed_s": 1.2}
    item = {"addr": pb, "port": 40001, "result": reach, "src": pa, "ifname": IF[a]}
    if reach == "ok":
        item.update(rtt_ms={"min": 0.21, "median": 0.25}, connects=3)
    else:
        item.update(errno={"refused": 111, "filtered": 110, "unreachable": 113}[reach],
                    error={"refused": "Connection refused", "filtered": "no answer before the deadline",
                           "unreachable": "No route to host"}[reach])
    r["reach"] = [item]
    r["ports"] = [{"addr": pb, "port": 6379, "name": "ray-gcs", "result": port_result}]
    pm = path if path is not None else min(MTU[a], MTU[b])
    r["mtu"] = [{"addr": pb, "local_ifname": IF[a], "local_mtu": MTU[a], "peer_ifname": IF[b],
                 "peer_mtu": MTU[b], "probes": [], "path_mtu": pm}]
    r["bandwidth"] = {"addr": pb, "streams": 1, "bytes_sent": 1 << 30, "bytes_received": 1 << 30,
                      "seconds": 0.9, "gbit_s": gbit, "local_speed_mbps": SPEED[a],
                      "peer_speed_mbps": SPEED[b]}
    if draining:
        # as measured under 10 % loss on a veth pair (pairs_netns.py): the
        # second stream's count still growing when the deadline came
        r["bandwidth"].update(streams=2, bytes_sent=100061688, bytes_received=35025424 + 21233664,
                              per_stream_bytes=[35025424, 21233664], seconds=3.4,
                              gbit_s=(35025424 + 21233664) * 8 / 3.4 / 1e9, draining_streams=draining)
    gp = gloo_peer or pb
    ga = self_gloo or pa
    import ipaddress
    role = "connect" if ipaddress.ip_address(ga) > ipaddress.ip_address(gp) else "accept"
    g = {"self": ga, "peer": gp, "peer_port": 40100, "self_loopback": ga.startswith("127."),
         "peer_loopback": gp.startswith("127."), "role": role}
    if role == "connect":
        g["result"] = gloo_result
        if gloo_result == "ok":
            g["reached_node"] = b
    else:
        g["result"] = "peer_connects"
    r["gloo"] = g
    return r


names = ["spark1", "spark2", "thor1", "thor2"]
listen = {n: {"node": n, "endpoints": [{"addr": ADDR[n], "tcp": 40001, "udp": 40002, "ifname": IF[n],
                                         "mtu": MTU[n], "speed_mbps": SPEED[n]}],
              "errors": [], "ports": [{"port": 6379, "state": "listening"}],
              "gloo": {"addr": ADDR[n], "port": 40100}} for n in names}
ok = {"listen": listen, "probes": [probe(a, b) for a in names for b in names if a != b]}
json.dump(ok, open(os.path.join(HERE, "pairs-ok.json"), "w"), indent=1)

# Faults: thor2 drops spark1's SYNs on its address and rejects 6379 from
# spark2; spark1 <-> spark2 lose 9000-byte frames on the switch (path 1500);
# thor1 advertises 127.0.1.1 to Gloo; spark1 -> thor1 runs at 2 Gbit/s;
# thor2 -> thor1 loses packets (a stream still draining at the deadline).
faults = []
listen_f = copy.deepcopy(listen)
listen_f["thor1"]["gloo"] = {"addr": "127.0.1.1", "port": 40100}
for a in names:
    for b in names:
        if a == b:
            continue
        kw = {}
        if (a, b) == ("spark1", "thor2"):
            kw["reach"] = "filtered"
        if (a, b) == ("spark2", "thor2"):
            kw["port_result"] = "refused"
        if {a, b} == {"spark1", "spark2"}:
            kw["path"] = 1500
        if (a, b) == ("spark1", "thor1"):
            kw["gbit"] = 2.0
        if (a, b) == ("thor2", "thor1"):
            kw["draining"] = 1
        if b == "thor1":
            kw["gloo_peer"] = "127.0.1.1"
            kw["gloo_result"] = "refused"
        if a == "thor1":
            kw["self_gloo"] = "127.0.1.1"
        faults.append(probe(a, b, **kw))
json.dump({"listen": listen_f, "probes": faults}, open(os.path.join(HERE, "pairs-faults.json"), "w"), indent=1)
print("wrote pairs-ok, pairs-faults")

# `preflight check --only net.interfaces` on a GPU machine: gpu.driver did not
# run, so the record has no facts.cuda and no gpu.driver check.  cluster.nodes
# must say that, not "no GPU visible" (seen on the H100 machine, 2026-12-05).
only = copy.deepcopy(base)
only["nodes"][0]["name"] = "gpu1"
only["nodes"][0]["facts"] = {k: v for k, v in only["nodes"][0]["facts"].items() if k in ("interfaces",)}
only["checks"] = [c for c in only["checks"] if c["id"] == "net.interfaces"]
for c in only["checks"]:
    c["node"] = "gpu1"
json.dump(only, open(os.path.join(HERE, "gpu1-net-only.json"), "w"), indent=1)
print("wrote gpu1-net-only")
