"""The notebook's loop with the official Python SDK (databricks-sdk==0.162.0): one workspace after the other,
a WorkspaceClient per workspace (OAuth M2M as the auditing service principal), Token Management's list,
each token written as a CSV row. The account API is not available to this bench (the local account is
another part of the crate), so the workspaces come from the same file the Rust audit reads.

python fleet_python.py WORKSPACES_FILE N CLIENT_ID CLIENT_SECRET CSV_OUT -> prints "wall_seconds tokens"
"""
import csv
import sys
import time

from databricks.sdk import WorkspaceClient

path, n, client_id, secret, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
with open(path) as f:
    workspaces = [line.split() for line in f if line.strip()][:n]
start = time.perf_counter()
count = 0
with open(out, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["workspace_id", "workspace_name", "token_id", "created_by", "comment", "creation_time", "expiry_time", "last_used_day"])
    for ws_id, name, url in workspaces:
        w = WorkspaceClient(host=url, client_id=client_id, client_secret=secret, auth_type="oauth-m2m")
        for t in w.token_management.list():
            writer.writerow([ws_id, name, t.token_id, t.created_by_username, t.comment, t.creation_time, t.expiry_time, t.last_used_day])
            count += 1
print(f"{time.perf_counter() - start} {count}")
