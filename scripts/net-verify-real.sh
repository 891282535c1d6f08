#!/usr/bin/env bash
# Compare the net.* predictions with what NCCL itself prints on a GPU
# machine.  For each environment it runs the probe driver, then a one-rank
# torch NCCL communicator with NCCL_DEBUG=INFO, and prints the predicted and
# the real "Bootstrap:", "NET/Socket : Using", "NET/IB", "Using network" lines
# side by side.
#
#   scripts/net-verify-real.sh [BUILD_DIR] [PYTHON]
#   (defaults: build, /opt/torch/.venv/bin/python)
set -uo pipefail
build=${1:-build}
py=${2:-/opt/torch/.venv/bin/python}
venv=$(cd "$(dirname "$py")/.." && pwd)
driver="$build/tests/net_probe_driver"
[ -x "$driver" ] || { echo "no $driver: build first (cmake -S . -B $build && cmake --build $build)"; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

show() {
    python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d["checks"]:
    print("  %-16s %-5s %s" % (c["id"], c["status"], c["summary"][:220]))
    ev = c["evidence"]
    if "selection" in ev:
        v = ev["nccl_version"]
        print("    nccl version %s (%s)" % (v["value"], v["source"]))
        for line in ev["selection"]["expected_log"]:
            print("    predicted: " + line)
    if "prediction" in ev:
        print("    predicted: Using network %s" % ev["prediction"]["transport"])
    if c["remedy"]:
        print("    remedy: " + c["remedy"][:220])
EOF
}

nccl_says() {
    timeout 180 env "$@" NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET,BOOTSTRAP,ENV \
        MASTER_ADDR=127.0.0.1 MASTER_PORT=29561 "$py" - <<'EOF' 2>&1 |
import torch, torch.distributed as dist
dist.init_process_group("nccl", rank=0, world_size=1, device_id=torch.device("cuda:0"))
t = torch.ones(1, device="cuda")
dist.all_reduce(t)
torch.cuda.synchronize()
dist.destroy_process_group()
EOF
        grep -E "Bootstrap ?: ?Using|NET/Socket : Using|NET/IB : Using|Using network|NCCL version [0-9]|no socket interface|Failed to initialize any NET|NET/Plugin" |
        sed -e 's/^.*NCCL INFO /    nccl:      /' -e 's/^.*NCCL WARN /    nccl WARN: /' | sort -u | head -12
}

case_() {
    local name=$1
    shift
    echo "== $name: ${*:-(no extra env)}"
    env "$@" "$driver" --venv "$venv" --only net.nccl_ifname,net.transport --json "$out/$name.json" >/dev/null
    show "$out/$name.json"
    nccl_says "$@"
}

echo "== inventory"
"$driver" --venv "$venv" --only net.interfaces,net.gloo --json "$out/inv.json" >/dev/null
show "$out/inv.json"
python3 - "$out/inv.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
f = d["nodes"][0]["facts"]
for i in f["interfaces"]:
    print("    %-16s %-9s run=%-5s mtu=%-6s speed=%-7s %s %s" % (i["name"], i["kind"], i["running"], i["mtu"],
          i["speed_mbps"], i["rdma_device"] or "", " ".join(a["address"] for a in i["addresses"])))
for r in f.get("rdma", []):
    print("    rdma %s: %s" % (r["name"], ", ".join("port %d %s %s" % (p["port"], p["state"], p["link_layer"])
                                               for p in r["ports"])))
EOF
echo "    getent ahosts $(hostname): $(getent ahosts "$(hostname)" | awk '{print $1}' | sort -u | tr '\n' ' ')"

first=$(python3 -c "
import json,sys
d=json.load(open('$out/inv.json'))
ok=[i['name'] for i in d['nodes'][0]['facts']['interfaces'] if i['running'] and not i['virtual'] and i['kind']!='loopback' and any(a['family']=='ipv4' and not a['link_local'] for a in i['addresses'])]
print(ok[0] if ok else 'lo')")

case_ default
case_ exact "NCCL_SOCKET_IFNAME==$first"
case_ loopback NCCL_SOCKET_IFNAME=lo
case_ exclusion "NCCL_SOCKET_IFNAME=^lo,docker"
case_ ib_disabled NCCL_IB_DISABLE=1
case_ net_socket NCCL_NET=Socket
case_ family6 "NCCL_SOCKET_IFNAME==$first" NCCL_SOCKET_FAMILY=AF_INET6
case_ no_match NCCL_SOCKET_IFNAME==nosuch0
