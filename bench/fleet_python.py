"""The notebook's loop with the official Python SDK (databricks-sdk==0.162.0): an `AccountClient` (OAuth M2M as
the auditing service principal) lists the account's workspaces, then, one workspace after the other, a
`WorkspaceClient` with the same service principal lists its tokens through Token Management, each token written
as a CSV row. The workspace's URL is the local account's (`ACCOUNT_URL/ws/{deployment_name}`): Python's
`get_workspace_client` derives `https://{deployment_name}.cloud.databricks.com`, which loopback cannot serve.

python fleet_python.py ACCOUNT_URL ACCOUNT_ID N CLIENT_ID CLIENT_SECRET CSV_OUT -> prints "wall_seconds tokens"
"""
import csv
import sys
import time

from databricks.sdk import AccountClient, WorkspaceClient
from databricks.sdk.service.provisioning import WorkspaceStatus

url, account_id, n, client_id, secret, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
start = time.perf_counter()
a = AccountClient(host=url, account_id=account_id, client_id=client_id, client_secret=secret, auth_type="oauth-m2m")
workspaces = [ws for ws in a.workspaces.list() if ws.workspace_status == WorkspaceStatus.RUNNING][:n]
count = 0
with open(out, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["workspace_id", "workspace_name", "token_id", "created_by", "comment", "creation_time", "expiry_time", "last_used_day"])
    for ws in workspaces:
        w = WorkspaceClient(host=f"{url}/ws/{ws.deployment_name}", client_id=client_id, client_secret=secret, auth_type="oauth-m2m")
        for t in w.token_management.list():
            writer.writerow([ws.workspace_id, ws.workspace_name, t.token_id, t.created_by_username, t.comment, t.creation_time, t.expiry_time, t.last_used_day])
            count += 1
print(f"{time.perf_counter() - start} {count}")
