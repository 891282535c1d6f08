#!/usr/bin/env python3
"""Write fuzz/corpus/proto/: the frames of one cluster run as the
coordinator and an agent exchange them (docs/cluster.md, cluster/coord.c,
cluster/agent.c), encoded as pf_proto_encode does: a 4-byte big-endian
length + compact JSON.  Each seed is byte 0 (piece size - 1), byte 1
(bit 0: start at the full frame limit), then the frames (fuzz_proto.c)."""
import json, os, struct

def frame(o):
    b = json.dumps(o, separators=(",", ":")).encode()
    return struct.pack(">I", len(b)) + b

nc, na, mac = "ab" * 32, "cd" * 32, "ef" * 32
hello = {"type": "hello", "v": 1, "nonce": nc, "keepalive_s": 5.0}
auth = {"type": "auth", "node": "thor1", "nonce": na, "mac": mac, "hostname": "thor1",
        "machine": "aarch64", "version": "0.9.0"}
auth_ok = {"type": "auth_ok", "mac": mac}
run_checks = {"type": "run_checks", "flags": {"arch": "sm_110", "model": "/models/qwen"}, "env": "login"}
listen = {"type": "listen", "req": {"node": "thor1", "addresses": ["10.0.0.2", "192.168.1.12"],
          "tests": ["reach", "bandwidth", "mtu", "gloo", "ports"], "gloo_address": "10.0.0.2",
          "ports": [6379, 8265, 10001]}}
probe = {"type": "probe", "req": {"node": "spark1", "peer": "thor1",
         "endpoints": [{"address": "10.0.0.2", "port": 40123}], "deadline_s": 8.0,
         "connect_timeout_s": 1.0, "connects": 3, "tests": ["reach", "mtu", "ports", "gloo"],
         "ports": [{"port": 6379, "name": "ray-gcs"}, {"port": 9000, "name": "port 9000"}],
         "gloo": {"self": "10.0.0.1", "peer": {"port": 40124}, "peer_node": "thor1"}}}
bw = {"type": "probe", "req": {"node": "spark1", "peer": "thor1",
      "endpoints": [{"address": "10.0.0.2", "port": 40123}], "deadline_s": 7.0,
      "connect_timeout_s": 1.0, "connects": 3, "tests": ["bandwidth"],
      "bandwidth": {"bytes": 268435456.0, "seconds": 2.0, "streams": 4}}}
reply = {"type": "reply", "ok": True, "result": {"rtt_ms": 0.12, "mtu": 9000}}
reply_err = {"type": "reply", "ok": False, "error": "connect 10.0.0.2:40123: Connection refused"}
error = {"type": "error", "message": "unknown node \"thor9\""}

nccl_start = {"type": "nccl_start", "rank": 1, "nranks": 4, "sizes": [1024, 4096, 268435456],
              "p2p": [{"name": "prefill", "bytes": 67108864}, {"name": "decode", "bytes": 8192}],
              "allgather": True, "iters": 20, "warmup": 2, "init_timeout_s": 20.0, "op_timeout_s": 20.0,
              "deadline_s": 60.0, "libnccl": "/opt/venv/lib/python3.12/site-packages/nvidia/nccl/lib/libnccl.so.2",
              "env": "file:/etc/preflight/thor1.env", "uid": "0a" * 128}
nccl_reply = {"type": "reply", "ok": True, "result": {"rank": 1, "nranks": 4, "ok": False, "phase": "init",
              "failure": {"phase": "init", "kind": "aborted", "message": "stopped by the coordinator"}}}
seeds = {
    "coord-to-agent": (0xff, 1, [hello, auth_ok, run_checks, listen, probe, bw, {"type": "unlisten"},
                                 {"type": "ping"}, {"type": "bye"}]),
    "agent-to-coord": (0x10, 0, [auth, reply, reply_err, {"type": "ping"}]),
    "hello-bytewise": (0x00, 0, [hello]),
    "error": (0x07, 1, [error]),
    "unknown-type": (0x20, 0, [{"type": "exec", "cmd": "id"}]),
    "nccl-ops": (0x3f, 1, [nccl_start, {"type": "nccl_wait"}, {"type": "ping"},
                           {"type": "nccl_abort", "peer": "thor2"}]),
    "agent-stops": (0x0f, 0, [nccl_reply, {"type": "stopped", "signal": "SIGTERM"}]),
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "proto")
os.makedirs(out, exist_ok=True)
for name, (piece, flags, frames) in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([piece, flags]) + b"".join(frame(o) for o in frames))
