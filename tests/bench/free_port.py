#!/usr/bin/env python3
"""Print a TCP port on 127.0.0.1 that is free now and that no outgoing
connection can take before the server binds it.

bind(0) hands out a port from the ephemeral range (ip_local_port_range,
32768-60999 by default) -- the same range the kernel draws source ports from
for outgoing connections.  Between "free" and the server's bind, a client of
another test running in parallel (ctest -j2: the benchmark of the other
real-server test opens many connections) can take that very port as its
source port, and the server then fails with "address in use".  That was one
cause of the flaky real-server tests.  A port below the ephemeral range is
never handed out as a source port, so only a deliberate bind can take it.
"""
import random
import socket

try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    lo = 32768
top = max(lo - 1, 20001)
for _ in range(200):
    port = random.randint(20000, top)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port below the ephemeral range")
