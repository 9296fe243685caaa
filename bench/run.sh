#!/usr/bin/env bash
# Our client against the official Python SDK, on the same workload and the same local workspace (release
# builds), one after the other. Prints each side's figures and the ratios rust/python.
# Usage: bench/run.sh [N]   (default 2000 list calls and N/4 create+delete pairs)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
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
rust=$(./target/release/examples/bench_client "$url" dapi-bench "$n")
python=$(env -u DATABRICKS_HOST -u DATABRICKS_TOKEN HOME="$(mktemp -d)" "$venv/bin/python" bench/python_client.py "$url" dapi-bench "$n" 2>/dev/null)
echo "$rust"
echo "$python"
python3 - "$rust" "$python" <<'PY'
import json, sys
r, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"ratio rust/python: list {r['list_per_s'] / p['list_per_s']:.1f}x faster, "
      f"create+delete {r['create_delete_per_s'] / p['create_delete_per_s']:.1f}x faster, "
      f"peak memory {p['peak_rss_kib'] / r['peak_rss_kib']:.1f}x smaller")
PY
