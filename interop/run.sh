#!/usr/bin/env bash
# Interop: the official Python SDK (unmodified) against our local workspace.
# Installs databricks-sdk==0.162.0 in a virtualenv, starts the standalone server, runs the script.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check databricks-sdk==0.162.0
cargo build --quiet --locked --example local_workspace --features local-workspace
log=$(mktemp)
./target/debug/examples/local_workspace --port 0 --token dapi-interop-bootstrap --quota 5 >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q "listening on" "$log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$log")
[ -n "$url" ] || { echo "the local workspace did not start:"; cat "$log"; exit 1; }
# The SDK must not pick up a developer's own configuration.
env -u DATABRICKS_HOST -u DATABRICKS_TOKEN -u DATABRICKS_CONFIG_PROFILE HOME="$(mktemp -d)" \
  "$venv/bin/python" interop/python_sdk.py "$url" dapi-interop-bootstrap 5
