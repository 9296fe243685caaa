#!/usr/bin/env bash
# Interop: the official Python SDK (unmodified) against our local workspace.
# Installs databricks-sdk==0.162.0 in a virtualenv, starts the standalone server (the bootstrap admin, a
# non-admin user, a service principal and a trusted OIDC issuer whose JWT it writes to a file), runs the
# script: PAT, OAuth M2M, file-oidc, and the Token Management API with the token permissions. Then starts a
# local account (examples/local_account.rs: 4 workspaces, one not running, 3 tokens each) and runs
# interop/python_account.py: AccountClient with OAuth M2M, workspaces list and get, and per running workspace
# a WorkspaceClient with the same service principal listing its tokens.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check databricks-sdk==0.162.0
cargo build --quiet --locked --example local_workspace --example local_account --features local-workspace
log=$(mktemp)
jwt=$(mktemp -u)
"${CARGO_TARGET_DIR:-target}/debug/examples/local_workspace" --port 0 --token dapi-interop-bootstrap --quota 5 \
  --user interop-user=dapi-interop-user \
  --client-id interop-sp --client-secret interop-sp-secret \
  --trust-issuer https://interop-issuer.example --oidc-jwt-out "$jwt" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log" "$jwt"' EXIT
for _ in $(seq 50); do grep -q "listening on" "$log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$log")
[ -n "$url" ] || { echo "the local workspace did not start:"; cat "$log"; exit 1; }
# The SDK must not pick up a developer's own configuration.
env -u DATABRICKS_HOST -u DATABRICKS_TOKEN -u DATABRICKS_CONFIG_PROFILE -u DATABRICKS_AUTH_TYPE \
  -u DATABRICKS_CLIENT_ID -u DATABRICKS_CLIENT_SECRET -u DATABRICKS_OIDC_TOKEN -u DATABRICKS_OIDC_TOKEN_FILEPATH \
  HOME="$(mktemp -d)" \
  "$venv/bin/python" interop/python_sdk.py "$url" dapi-interop-bootstrap 5 interop-sp interop-sp-secret "$jwt" \
  dapi-interop-user

account_log=$(mktemp)
"${CARGO_TARGET_DIR:-target}/debug/examples/local_account" --port 0 --workspaces 4 --tokens-per-workspace 3 --not-running 2 \
  --client-id interop-fleet-sp --client-secret interop-fleet-sp-secret >"$account_log" 2>&1 &
account=$!
trap 'kill $server $account 2>/dev/null || true; rm -f "$log" "$jwt" "$account_log"' EXIT
for _ in $(seq 50); do grep -q "listening on" "$account_log" && break; sleep 0.1; done
account_url=$(sed -n 's/^listening on //p' "$account_log")
account_id=$(sed -n 's/^account id //p' "$account_log")
[ -n "$account_url" ] || { echo "the local account did not start:"; cat "$account_log"; exit 1; }
env -u DATABRICKS_HOST -u DATABRICKS_TOKEN -u DATABRICKS_CONFIG_PROFILE -u DATABRICKS_AUTH_TYPE \
  -u DATABRICKS_CLIENT_ID -u DATABRICKS_CLIENT_SECRET -u DATABRICKS_ACCOUNT_ID -u DATABRICKS_OIDC_TOKEN \
  -u DATABRICKS_OIDC_TOKEN_FILEPATH HOME="$(mktemp -d)" \
  "$venv/bin/python" interop/python_account.py "$account_url" "$account_id" interop-fleet-sp interop-fleet-sp-secret 4 3 1
