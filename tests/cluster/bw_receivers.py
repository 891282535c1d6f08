#!/usr/bin/env python3
"""The bandwidth sender (cluster/bandwidth.c) against scripted receivers.

The real listener's behaviour under loss cannot be forced on a veth pair
(10 % loss drains the socket buffers in 1 s one time and leaves a stream
still draining at 5 s another: pairs_netns.py accepts both).  Here a
stand-in receiver on loopback speaks the "PFB2" wire format of
cluster/pairtest.h and plays each case on purpose:

  final     reads everything, reports, closes: every byte counted, a rate
  slow      reads 1 MiB/s and keeps reporting a growing count past the
            deadline: counted from its running count, draining_streams 1,
            no error
  stall     reads and reports for 0.3 s, then stops both (a link gone
            black): an error naming the stream, no rate, the count kept
  liar      reports more bytes than were sent: an error, no rate
  truncated sends 7 bytes of a record and closes: an error, no rate
  silent    reads everything, never reports, closes: an error, no rate

Each probe must end by its deadline.  No root.
usage: bw_receivers.py PATH/TO/pair_driver
"""
import json
import socket
import struct
import subprocess
import sys
import threading
import time

DRIVER = sys.argv[1]
failures = []


def expect(cond, what, evidence=None):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what + ("\n     " + json.dumps(evidence)[:2000] if evidence is not None else ""))
        failures.append(what)


def record(n, us):
    return struct.pack(">QQ", n, us)


def serve(conn, mode):
    conn.settimeout(10)
    tag = b""
    while len(tag) < 4:
        d = conn.recv(4 - len(tag))
        if not d:
            return
        tag += d
    if tag != b"PFB2":
        return
    t0 = time.monotonic()
    n = 0
    try:
        if mode == "slow":
            # a small receive buffer and 100 KiB every 0.1 s: the sender's
            # data is still queued when the deadline comes
            while True:
                d = conn.recv(100 * 1024)
                if not d:
                    break
                n += len(d)
                time.sleep(0.1)
                conn.sendall(record(n, int((time.monotonic() - t0) * 1e6)))
            conn.sendall(record(n, int((time.monotonic() - t0) * 1e6)))
            return
        if mode == "stall":
            # 64 KiB every 20 ms, each reported, for 0.3 s; then nothing
            while time.monotonic() - t0 < 0.3:
                d = conn.recv(65536)
                if not d:
                    break
                n += len(d)
                conn.sendall(record(n, int((time.monotonic() - t0) * 1e6)))
                time.sleep(0.02)
            time.sleep(6)  # past the probe's deadline: it must not wait for us
            return
        while True:
            d = conn.recv(1 << 20)
            if not d:
                break
            n += len(d)
        us = int((time.monotonic() - t0) * 1e6)
        if mode == "final":
            conn.sendall(record(n, us))
        elif mode == "liar":
            conn.sendall(record(n * 10 + 1, us))
        elif mode == "truncated":
            conn.sendall(record(n, us)[:7])
        # silent: nothing
    except OSError:
        pass
    finally:
        conn.close()


def listener(mode):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if mode == "slow":
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)

    def run():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(c, mode), daemon=True).start()

    threading.Thread(target=run, daemon=True).start()
    return ls


def probe(mode, deadline=3):
    ls = listener(mode)
    port = ls.getsockname()[1]
    req = {"node": "a", "peer": "b", "tests": ["bandwidth"], "deadline_s": deadline,
           "endpoints": [{"addr": "127.0.0.1", "tcp": port, "udp": port}],
           "bandwidth": {"bytes": 64 << 20, "seconds": 0.5, "streams": 1}}
    t0 = time.monotonic()
    p = subprocess.run([DRIVER, "probe", json.dumps(req)], capture_output=True, text=True, timeout=20)
    took = time.monotonic() - t0
    ls.close()
    if p.returncode != 0:
        expect(False, "%s: pair_driver probe ran" % mode, p.stderr)
        return {}, took
    bw = json.loads(p.stdout)["bandwidth"]
    print("%-9s %.1f s %s" % (mode, took, json.dumps(bw)))
    expect(took < deadline + 1.0, "%s: the probe ended by its %d s deadline (%.1f s)" % (mode, deadline, took))
    return bw, took


def main():
    bw, _ = probe("final")
    expect("error" not in bw and bw.get("bytes_received") == bw.get("bytes_sent") and bw.get("gbit_s", 0) > 0
           and "draining_streams" not in bw, "final: every byte counted, a rate", bw)

    bw, _ = probe("slow")
    expect("error" not in bw and bw.get("draining_streams") == 1 and bw.get("gbit_s", 0) > 0
           and 0 < bw.get("bytes_received", 0) < bw.get("bytes_sent", 0),
           "slow: still draining at the deadline, counted from its running count, not an error", bw)
    # the rate is the receiver's: about 1 MiB/s (100 KiB per 0.1 s), not the sender's
    g = bw.get("gbit_s", 0)
    expect(0.002 < g < 0.02, "slow: the rate is the receiver's (%.4f Gbit/s, about 0.008)" % g, bw)

    bw, _ = probe("stall")
    expect("error" in bw and "without the receiver's count" in bw["error"] and "draining_streams" not in bw
           and "gbit_s" not in bw and 0 < bw.get("bytes_received", 0) < bw.get("bytes_sent", 0),
           "stall: a count that stopped growing is an error, no rate (what did arrive is kept)", bw)

    for mode, words in (("liar", "more bytes than were sent"), ("truncated", "without the receiver's count"),
                        ("silent", "without the receiver's count")):
        bw, _ = probe(mode)
        expect("error" in bw and words in bw["error"] and "gbit_s" not in bw,
               "%s: an error (%s), no rate" % (mode, words), bw)

    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("all passed")


if __name__ == "__main__":
    main()
