#!/usr/bin/env python3
"""Compare `preflight bench --requests-jsonl` timings with the test server's
own record (tests/sse_server --record): both use CLOCK_MONOTONIC on one
machine, so each content event's client-side time minus the server's write()
time is the error the client adds.

usage: bench-accuracy.py REQUESTS.jsonl SERVER_RECORD.jsonl [--json]
Reports percentiles (microseconds) of:
  event error   client time of each content event - server time before write()
  ttft error    client TTFT - (server first content write - client start)
  itl error     client ITL sample - server gap between the same two events
  e2e error     client latency - (server [DONE]/last write - client start)
Standard library only (no numpy), percentiles by numpy's linear rule.
"""
import json, math, sys

def pct(xs, p):
    s = sorted(xs)
    if not s:
        return float("nan")
    h = (len(s) - 1) * p / 100.0
    lo = math.floor(h); hi = min(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])

def main():
    req_path, rec_path = sys.argv[1], sys.argv[2]
    server = {}
    for line in open(rec_path):
        r = json.loads(line)
        server[r["id"]] = r
    ev_err, ttft_err, itl_err, e2e_err = [], [], [], []
    ev_err_after = []
    matched = 0
    for line in open(req_path):
        c = json.loads(line)
        if not c.get("success") or c.get("warmup"):
            continue
        s = server.get(c.get("response_id"))
        if s is None:
            continue
        matched += 1
        sc = [e for e in s["events"] if e[2] == "c"]
        st = c["start_time"]
        times = [st + c["ttft"]]
        for g in c["itl"]:
            times.append(times[-1] + g)
        if len(times) != len(sc):
            print(f"event count mismatch for {s['id']}: client {len(times)} server {len(sc)}",
                  file=sys.stderr)
            continue
        for t, e in zip(times, sc):
            ev_err.append((t - e[0]) * 1e6)
            ev_err_after.append((t - e[1]) * 1e6)
        ttft_err.append((c["ttft"] - (sc[0][0] - st)) * 1e6)
        for k in range(1, len(sc)):
            itl_err.append((c["itl"][k - 1] - (sc[k][0] - sc[k - 1][0])) * 1e6)
        last = s["events"][-2] if len(s["events"]) >= 2 else s["events"][-1]  # [DONE] before the 0-chunk
        e2e_err.append((c["latency"] - (last[0] - st)) * 1e6)
    out = {"requests_matched": matched}
    for name, xs in (("event_us", ev_err), ("event_after_write_us", ev_err_after),
                     ("ttft_us", ttft_err), ("itl_us", itl_err), ("e2e_us", e2e_err)):
        out[name] = {"n": len(xs), "min": min(xs) if xs else None,
                     "p50": pct(xs, 50), "p90": pct(xs, 90), "p99": pct(xs, 99),
                     "max": max(xs) if xs else None,
                     "p99_abs": pct([abs(x) for x in xs], 99)}
    if "--json" in sys.argv:
        print(json.dumps(out))
    else:
        print(f"requests matched: {matched}")
        for k, v in out.items():
            if isinstance(v, dict):
                print(f"{k:22s} n={v['n']:7d} min={v['min']:9.1f} p50={v['p50']:8.1f} "
                      f"p90={v['p90']:8.1f} p99={v['p99']:8.1f} max={v['max']:9.1f} "
                      f"p99|x|={v['p99_abs']:8.1f}")

if __name__ == "__main__":
    main()
