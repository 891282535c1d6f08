#!/usr/bin/env python3
"""Cross-check toolchain.ptxas against Triton itself.

For each compute capability and each environment scenario, compile a small
Triton kernel for that target (no GPU of that kind needed: Triton compiles to
a cubin with an explicit GPUTarget and runs the ptxas it picks) and, when
--preflight is given, run `preflight check --only toolchain.ptxas --arch X.Y`
in the same environment.  preflight's verdict (pass/warn = Triton will
compile, fail = it will not) must agree with what Triton did.

Run it with the Python of the venv under test, e.g. on the GPU machine:
    /opt/torch/.venv/bin/python scripts/ptxas-triton-crosscheck.py \\
        --preflight build/preflight --venv /opt/torch/.venv 90 110 121
Exit status: 0 all agree, 1 a disagreement, 2 bad usage.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

CUDA_PTXAS = "/usr/local/cuda/bin/ptxas"
SCENARIOS = {
    "default": {},
    "blackwell=cuda": {"TRITON_PTXAS_BLACKWELL_PATH": CUDA_PTXAS},
    "ptxas=cuda": {"TRITON_PTXAS_PATH": CUDA_PTXAS},
    "blackwell=missing": {"TRITON_PTXAS_BLACKWELL_PATH": "/nonexistent/bin/ptxas"},
}
OVERRIDES = ("TRITON_PTXAS_PATH", "TRITON_PTXAS_BLACKWELL_PATH")


def child(cap):
    """Compile one kernel for sm_<cap>; print RESULT <json> last."""
    res = {"cap": cap}
    try:
        import triton
        import triton.language as tl
        from triton.backends.compiler import GPUTarget

        res["triton"] = triton.__version__
        try:
            from triton.backends.nvidia import compiler as nvc
            tool = nvc.get_ptxas(cap) if hasattr(nvc, "get_ptxas") else triton.knobs.nvidia.ptxas
            res["ptxas"], res["ptxas_version"] = tool.path, tool.version
        except Exception as e:  # what Triton raises here is part of the answer
            res["ptxas_error"] = "%s: %s" % (type(e).__name__, e)

        @triton.jit
        def add_one(x_ptr, n, BLOCK: tl.constexpr):
            i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
            tl.store(x_ptr + i, tl.load(x_ptr + i, mask=i < n) + 1.0, mask=i < n)

        src = triton.compiler.ASTSource(fn=add_one, signature={"x_ptr": "*fp32", "n": "i32", "BLOCK": "constexpr"},
                                        constexprs={"BLOCK": 128})
        triton.compile(src, target=GPUTarget("cuda", cap, 32))
        res["ok"] = True
    except Exception as e:
        text = str(e)
        hits = [l.strip() for l in text.splitlines() if "ptxas" in l and ("fatal" in l or "error" in l)]
        first = hits[0] if hits else (text.splitlines()[0] if text else "")
        res["ok"] = False
        res["error"] = "%s: %s" % (type(e).__name__, first)
    sys.stdout.flush()
    print("RESULT " + json.dumps(res))


def run_child(cap, env):
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(cap)], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"cap": cap, "ok": False, "error": "child died (exit %d): %s" % (p.returncode, p.stdout[-400:])}


def run_preflight(pf, venv, cap, env):
    arch = "%d.%d" % (cap // 10, cap % 10)
    cmd = [pf, "check", "--only", "toolchain.ptxas", "--arch", arch, "--json", "-", "-q"]
    if venv:
        cmd += ["--venv", venv]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    try:
        rec = json.loads(p.stdout)
    except ValueError:
        return {"status": "unreadable", "summary": p.stderr[-300:]}
    checks = [c for c in rec.get("checks", []) if c.get("id") == "toolchain.ptxas"]
    return checks[0] if checks else {"status": "missing", "summary": "no toolchain.ptxas check in the record"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("caps", nargs="*", type=int, default=[90, 110, 121], help="capabilities, e.g. 90 110 121")
    ap.add_argument("--preflight", help="path to the preflight binary")
    ap.add_argument("--venv", help="--venv to pass to preflight")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child is not None:
        child(a.child)
        return 0
    disagree = 0
    with tempfile.TemporaryDirectory(prefix="ptxas-crosscheck-") as cache:
        for name, extra in SCENARIOS.items():
            for cap in a.caps:
                env = {k: v for k, v in os.environ.items() if k not in OVERRIDES}
                env.update(extra)
                env["TRITON_CACHE_DIR"] = os.path.join(cache, "%s-%d" % (name, cap))  # no cache hits
                env["TRITON_ALWAYS_COMPILE"] = "1"
                t = run_child(cap, env)
                line = {"scenario": name, "cap": cap, "triton": t}
                if a.preflight:
                    c = run_preflight(a.preflight, a.venv, cap, env)
                    predicted = c.get("status") in ("pass", "warn")
                    line["preflight"] = {"status": c.get("status"), "summary": c.get("summary"),
                                         "remedy": c.get("remedy")}
                    line["agree"] = predicted == t.get("ok")
                    disagree += 0 if line["agree"] else 1
                print(json.dumps(line))
    if a.preflight:
        print("%d disagreement(s)" % disagree)
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
