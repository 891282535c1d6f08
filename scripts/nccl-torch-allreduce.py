#!/usr/bin/env python3
"""torch.distributed all-reduce over NCCL, measured the way nccl-tests does it.

The baseline `preflight nccl` is compared against (docs/PERFORMANCE.md): the
same libnccl (torch's own, from the venv), the same environment, the same
sizes.  One process per rank; the launcher sets RANK, WORLD_SIZE,
MASTER_ADDR, MASTER_PORT (and NCCL_HOSTID so ranks sharing one GPU act as
separate hosts).  Per size: `warmup` calls, then `iters` back-to-back calls
between two synchronisations, wall time / iters (nccl-tests' BenchTime).
algbw = bytes / time, busbw = algbw * 2(n-1)/n.  Every size's result is
checked: rank r contributes r+1, so each element must be n(n+1)/2.

Rank 0 prints one JSON object per line: {"bytes","time_us","algbw","busbw","wrong"}.

Options: --min BYTES --max BYTES --factor F --iters N --warmup N
         --die-after SECONDS (this rank exits hard mid-collective: a failure case)
         --timeout SECONDS (torch's collective timeout)
"""
import argparse, datetime, json, os, sys, time

import torch
import torch.distributed as dist

ap = argparse.ArgumentParser()
ap.add_argument("--min", type=int, default=1024)
ap.add_argument("--max", type=int, default=256 << 20)
ap.add_argument("--factor", type=int, default=4)
ap.add_argument("--iters", type=int, default=20)
ap.add_argument("--warmup", type=int, default=5)
ap.add_argument("--die-after", type=float, default=0)
ap.add_argument("--timeout", type=float, default=60)
a = ap.parse_args()

rank, n = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
dev = torch.device("cuda", 0)
torch.cuda.set_device(dev)
t0 = time.perf_counter()
dist.init_process_group("nccl", rank=rank, world_size=n,
                        timeout=datetime.timedelta(seconds=a.timeout), device_id=dev)
x = torch.ones(1, device=dev)
dist.all_reduce(x)
torch.cuda.synchronize()
if rank == 0:
    print(json.dumps({"init_s": round(time.perf_counter() - t0, 3), "nranks": n,
                      "nccl": ".".join(map(str, torch.cuda.nccl.version()))}), flush=True)

if a.die_after > 0:
    big = torch.ones((256 << 20) // 4, device=dev)
    end = time.time() + a.die_after
    while True:
        dist.all_reduce(big)
        if rank == n - 1 and time.time() > end:
            torch.cuda.synchronize()
            print(f"rank {rank}: exiting hard mid-run", file=sys.stderr, flush=True)
            os._exit(9)
        torch.cuda.synchronize()

size = a.min
while size <= a.max:
    count = size // 4
    buf = torch.empty(count, dtype=torch.float32, device=dev)
    for _ in range(a.warmup):
        dist.all_reduce(buf)
    torch.cuda.synchronize(); dist.barrier(); torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(a.iters):
        dist.all_reduce(buf)
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / a.iters
    buf.fill_(rank + 1)
    dist.all_reduce(buf)
    wrong = int((buf != n * (n + 1) / 2).sum().item())
    w = torch.tensor([wrong], device=dev)
    dist.all_reduce(w)
    if rank == 0:
        algbw = size / dt / 1e9
        print(json.dumps({"bytes": size, "time_us": round(dt * 1e6, 2), "algbw": round(algbw, 3),
                          "busbw": round(algbw * 2 * (n - 1) / n, 3), "wrong": int(w.item())}), flush=True)
    size *= a.factor
dist.destroy_process_group()
