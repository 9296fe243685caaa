#!/usr/bin/env bash
# Our client against the official Python SDK, on the same workload and the same local workspace (release
# builds), one after the other, K times (the order alternating). Prints each run's figures and the ratios
# rust/python as min / median / max over the K runs.
# Usage: bench/run.sh [N] [K]   (default 2000 list calls and N/4 create+delete pairs; K=5 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
k=${2:-5}
venv=${VENV:-.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check databricks-sdk==0.162.0
cargo build --quiet --release --locked --features local-workspace --example local_workspace --example bench_client
log=$(mktemp)
./target/release/examples/local_workspace --port 0 --token dapi-bench --quota 10000 >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q "listening on" "$log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$log")
rust_run() { ./target/release/examples/bench_client "$url" dapi-bench "$n"; }
python_run() {
    env -u DATABRICKS_HOST -u DATABRICKS_TOKEN HOME="$(mktemp -d)" "$venv/bin/python" bench/python_client.py "$url" dapi-bench "$n" 2>/dev/null
}
results=()
for i in $(seq "$k"); do
    if (( i % 2 )); then rust=$(rust_run); python=$(python_run); else python=$(python_run); rust=$(rust_run); fi
    echo "run $i: $rust $python" >&2
    results+=("$rust" "$python")
done
python3 - "$(nproc)" "${results[@]}" <<'PY'
import json, statistics, sys
cores, runs = sys.argv[1], [json.loads(a) for a in sys.argv[2:]]
pairs = list(zip(runs[0::2], runs[1::2]))
rows = [
    ("list, calls/s, rust / python", [r["list_per_s"] / p["list_per_s"] for r, p in pairs]),
    ("create+delete, pairs/s, rust / python", [r["create_delete_per_s"] / p["create_delete_per_s"] for r, p in pairs]),
    ("peak RSS, python / rust", [p["peak_rss_kib"] / r["peak_rss_kib"] for r, p in pairs]),
]
print(f"databricks-tokens vs the Python SDK (databricks-sdk==0.162.0), same local workspace, {len(pairs)} runs, {cores} cores")
print(f"| {'metric (how many times better)':<40} | {'min':>6} | {'median':>6} | {'max':>6} |")
print(f"|{'-' * 42}|--------|--------|--------|")
for name, values in rows:
    print(f"| {name:<40} | {min(values):>6.1f} | {statistics.median(values):>6.1f} | {max(values):>6.1f} |")
r = statistics.median(x["peak_rss_kib"] for x in runs[0::2])
p = statistics.median(x["peak_rss_kib"] for x in runs[1::2])
print(f"median peak RSS: rust {r / 1024:.0f} MiB, python {p / 1024:.0f} MiB")
PY
