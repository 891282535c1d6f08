#!/usr/bin/env python3
"""The control plane of `preflight cluster` against strangers, on loopback.

A coordinator (--launcher manual, two nodes) waits for its agents.  Before
they come, strangers connect: an HTTP request (garbage), a 5 MiB length
prefix (oversized), a frame that is not JSON, a frame of an unknown type
({"type":"exec",...}), an auth frame with a MAC from the wrong secret, and a
slow client that sends two bytes and stalls (slowloris).  Then the real
agents join with --secret-file.  Expected: every stranger refused with its
reason in the record's cluster.refused, the run unaffected (both nodes
joined, node checks present), the secret on no command line and not in the
record, the secret file mode 0600.

The agent side: a fake coordinator that answers auth_ok with a wrong MAC
must be refused by the agent (exit 1, "could not prove"), and one that never
says hello must be given up on within --connect-timeout.

No root needed.  usage: control_plane.py PATH/TO/preflight
"""
import hashlib
import hmac
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

PF = os.path.abspath(sys.argv[1])
failures = []
tmp = tempfile.mkdtemp(prefix="pfctl")


def expect(cond, what, evidence=None):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what + ("\n     " + json.dumps(evidence)[:3000] if evidence is not None else ""))
        failures.append(what)


def frame(obj):
    b = json.dumps(obj).encode()
    return struct.pack(">I", len(b)) + b


def recv_frame(s, timeout=5):
    s.settimeout(timeout)
    hdr = b""
    while len(hdr) < 4:
        chunk = s.recv(4 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    n = struct.unpack(">I", hdr)[0]
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return json.loads(body)


def closed_by_peer(s, timeout=6):
    """True when the coordinator closes the connection within timeout."""
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def coordinator_side():
    secret_file = os.path.join(tmp, "secret")
    out = os.path.join(tmp, "run.json")
    p = subprocess.Popen([PF, "cluster", "--hosts", "alpha,beta", "--launcher", "manual", "--secret-file", secret_file,
                          "--listen", "127.0.0.1", "--only", "net.interfaces", "--no-pairs", "--join-timeout", "10", "--auth-timeout", "1",
                          "--json", out], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    port = None
    log = []
    while port is None:
        line = p.stderr.readline()
        if not line:
            break
        log.append(line)
        m = re.search(r"coordinator on 127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
    expect(port is not None, "the coordinator printed its address", log)
    addr = ("127.0.0.1", port)
    # Drain the rest of stderr in the background (the manual lines, progress).
    rest = []
    threading.Thread(target=lambda: rest.extend(p.stderr), daemon=True).start()

    strangers = {}
    s = socket.create_connection(addr); s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"); strangers["garbage"] = s
    s = socket.create_connection(addr); s.sendall(struct.pack(">I", 5 << 20) + b"{" * 1000); strangers["oversized"] = s
    s = socket.create_connection(addr); s.sendall(struct.pack(">I", 10) + b"not json!!"); strangers["notjson"] = s
    s = socket.create_connection(addr)
    s.sendall(frame({"type": "exec", "cmd": "touch %s/pwned" % tmp})); strangers["unknown"] = s
    s = socket.create_connection(addr)
    hello = recv_frame(s)
    na = os.urandom(32)
    msg = b"pf1|agent|alpha|" + bytes.fromhex(hello["nonce"]) + na
    mac = hmac.new(os.urandom(32), msg, hashlib.sha256).hexdigest()
    s.sendall(frame({"type": "auth", "node": "alpha", "nonce": na.hex(), "mac": mac})); strangers["wrongsecret"] = s
    s = socket.create_connection(addr); s.sendall(b"\x00\x00"); strangers["slowloris"] = s
    t_slow = time.monotonic()

    # A flood of silent connections: at most 64 wait to authenticate, the
    # rest are closed at once; the run does not notice.
    flood = [socket.create_connection(addr) for _ in range(80)]
    time.sleep(0.3)
    closed = sum(1 for f in flood if closed_by_peer(f, 0.05))
    expect(closed >= 80 - 64 - 1, "a flood of 80 silent connections: the ones beyond 64 waiting are closed at once (%d)" % closed)
    for k in ("garbage", "oversized", "notjson", "unknown", "wrongsecret"):
        expect(closed_by_peer(strangers[k], 2), "stranger '%s' disconnected at once" % k)
    expect(hello and hello.get("type") == "hello" and len(hello.get("nonce", "")) == 64,
           "a stranger gets only a hello with a 32-byte nonce", hello)

    # The agents come after the slow client's deadline, so it is refused
    # while the run waits, not swept up at the end.
    expect(closed_by_peer(strangers["slowloris"], 3), "the slow client is dropped")
    slow_took = time.monotonic() - t_slow
    expect(0.8 <= slow_took <= 2, "... after the 1 s auth deadline (%.1f s)" % slow_took)
    st = os.stat(secret_file)
    expect(st.st_mode & 0o777 == 0o600, "the secret file is mode 0600 (%o)" % (st.st_mode & 0o777))
    secret = open(secret_file).read().strip()
    agents = [subprocess.Popen([PF, "agent", "--join", "127.0.0.1:%d" % port, "--node-name", n, "--secret-file",
                                secret_file, "--env", "inherit"], stderr=subprocess.PIPE, text=True)
              for n in ("alpha", "beta")]
    # While the run is on: the secret is on no command line.
    time.sleep(0.3)
    leaked = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if secret.encode() in open("/proc/%s/cmdline" % d, "rb").read():
                    leaked.append(d)
            except OSError:
                pass
    expect(not leaked, "the secret is on no process's command line", leaked)
    p.wait(timeout=30)
    for a in agents:
        a.wait(timeout=10)
        expect(a.returncode == 0, "an agent exited 0 after bye (%s)" % a.returncode, a.stderr.read())
    rec = json.load(open(out))
    expect([n["name"] for n in rec["nodes"]] == ["alpha", "beta"], "both agents joined despite the strangers",
           [n["name"] for n in rec["nodes"]])
    expect(any(c["id"] == "net.interfaces" and c["node"] == "beta" for c in rec["checks"]), "beta's checks are in")
    cn = [c for c in rec["checks"] if c["id"] == "cluster.nodes"]
    expect(cn and cn[0]["status"] != "fail", "cluster.nodes does not fail", cn)
    refused = rec["cluster"]["refused"]
    reasons = " | ".join(r["reason"] for r in refused)
    expect(rec["cluster"]["refused_total"] == 6 + 80 and len(refused) == 86,
           "every stranger and the flood refused and listed (%d)" % rec["cluster"]["refused_total"])
    expect("connections are already authenticating" in reasons, "refused: the flood beyond the limit", reasons)
    for want in ("exceeds the limit", "not valid JSON", "\"exec\" is not part of the protocol",
                 "wrong secret", "did not authenticate within 1 s"):
        expect(want in reasons, "refused: %s" % want, reasons)
    expect(secret not in json.dumps(rec), "the secret is not in the record")
    expect(not os.path.exists(os.path.join(tmp, "pwned")), "nothing a stranger sent was executed")
    for s in list(strangers.values()) + flood:
        s.close()


def fake_coordinator(behaviour):
    """Listen once; play a coordinator that misbehaves."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    port = ls.getsockname()[1]
    secret = os.urandom(32)

    def serve():
        c, _ = ls.accept()
        if behaviour == "silent":
            time.sleep(4)
            c.close()
            return
        nc = os.urandom(32)
        c.sendall(frame({"type": "hello", "v": 1, "nonce": nc.hex(), "keepalive_s": 5}))
        auth = recv_frame(c)
        if behaviour == "late_abort":
            # A coordinator that proves the secret, then sends what a real
            # one sends when a rank's nccl_wait reply and its nccl_abort
            # cross on the wire: an nccl_abort with no nccl_wait pending.
            # The agent must stay, answer the next request and leave on bye.
            na = bytes.fromhex(auth["nonce"])
            mac = hmac.new(secret, b"pf1|coord||" + nc + na, hashlib.sha256).hexdigest()
            c.sendall(frame({"type": "auth_ok", "mac": mac}))
            c.sendall(frame({"type": "nccl_abort", "peer": "n1"}))
            c.sendall(frame({"type": "unlisten", "id": 7}))
            reply = recv_frame(c)
            results[behaviour] = reply
            c.sendall(frame({"type": "bye"}))
            time.sleep(2)
            c.close()
            return
        c.sendall(frame({"type": "auth_ok", "mac": os.urandom(32).hex()}))
        time.sleep(2)
        c.close()

    threading.Thread(target=serve, daemon=True).start()
    return port, secret.hex()


results = {}


def agent_side():
    port, secret = fake_coordinator("late_abort")
    r = subprocess.run([PF, "agent", "--join", "127.0.0.1:%d" % port, "--node-name", "alpha"], input=secret + "\n",
                       capture_output=True, text=True, timeout=10)
    reply = results.get("late_abort") or {}
    expect(r.returncode == 0 and reply.get("type") == "reply" and reply.get("id") == 7,
           "an nccl_abort that crossed its rank's reply is ignored: the agent answers the next request",
           {"rc": r.returncode, "stderr": r.stderr, "reply": reply})
    port, secret = fake_coordinator("badmac")
    t0 = time.monotonic()
    r = subprocess.run([PF, "agent", "--join", "127.0.0.1:%d" % port, "--node-name", "alpha"], input=secret + "\n",
                       capture_output=True, text=True, timeout=10)
    expect(r.returncode == 1 and "could not prove" in r.stderr,
           "the agent refuses a coordinator that cannot prove the secret", r.stderr)
    expect(time.monotonic() - t0 < 1.5, "... at once")
    port, secret = fake_coordinator("silent")
    t0 = time.monotonic()
    r = subprocess.run([PF, "agent", "--join", "127.0.0.1:%d" % port, "--node-name", "alpha", "--connect-timeout", "1"],
                       input=secret + "\n", capture_output=True, text=True, timeout=10)
    took = time.monotonic() - t0
    expect(r.returncode == 1 and "no hello" in r.stderr and took < 2.5,
           "the agent gives up on a silent coordinator within --connect-timeout (%.1f s)" % took, r.stderr)
    r = subprocess.run([PF, "agent", "--join", "127.0.0.1:1", "--node-name", "alpha"], input="zz\n",
                       capture_output=True, text=True, timeout=10)
    expect(r.returncode == 1 and "hex digits" in r.stderr, "a malformed secret is refused before connecting", r.stderr)


def main():
    coordinator_side()
    agent_side()
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("all passed")


if __name__ == "__main__":
    main()
