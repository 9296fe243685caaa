"""Drives the local account with the official Python SDK (databricks-sdk==0.162.0), unmodified.

Usage: python interop/python_account.py ACCOUNT_URL ACCOUNT_ID CLIENT_ID CLIENT_SECRET WORKSPACES TOKENS_PER_WORKSPACE NOT_RUNNING

`AccountClient` with OAuth M2M (host metadata names the account's OIDC root, then client credentials at
`/oidc/accounts/{account_id}/v1/token`) lists the account's workspaces and gets one; then, per RUNNING
workspace, a `WorkspaceClient` with the same service principal on that workspace's local URL
(`ACCOUNT_URL/ws/{deployment_name}`: Python's `get_workspace_client` derives
`https://{deployment_name}.cloud.databricks.com`, which loopback cannot serve) lists every token with
`token_management.list()`. Also that a wrong secret fails clearly and never shows the secret. Exits non-zero
on the first mismatch, and prints a closing line "N passed, 0 failed" when every check holds.
"""
import sys

from databricks.sdk import AccountClient, WorkspaceClient
from databricks.sdk.errors import DatabricksError
from databricks.sdk.service.provisioning import WorkspaceStatus

url, account_id, client_id, client_secret = sys.argv[1:5]
workspaces, tokens_per_workspace, not_running = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
passed = 0


def check(name, condition, detail=""):
    global passed
    if not condition:
        print(f"FAIL {name}: {detail}")
        print(f"{passed} passed, 1 failed")
        sys.exit(1)
    passed += 1
    print(f"ok   {name}")


a = AccountClient(host=url, account_id=account_id, client_id=client_id, client_secret=client_secret, auth_type="oauth-m2m")
listed = list(a.workspaces.list())
check("the account lists every workspace", len(listed) == workspaces, f"{len(listed)} of {workspaces}")
running = [ws for ws in listed if ws.workspace_status == WorkspaceStatus.RUNNING]
check("statuses are read", len(running) == workspaces - not_running,
      f"{[ws.workspace_status for ws in listed]}")
check("each workspace has a deployment name and an id",
      all(ws.deployment_name and ws.workspace_id for ws in listed), f"{listed[:2]}")
one = a.workspaces.get(listed[-1].workspace_id)
check("get answers the workspace", one.workspace_id == listed[-1].workspace_id and one.deployment_name == listed[-1].deployment_name,
      f"{one}")
check("Python derives the cloud URL get_workspace_client would use",
      a.config.environment.deployment_url(listed[0].deployment_name) == f"https://{listed[0].deployment_name}.cloud.databricks.com",
      a.config.environment.deployment_url(listed[0].deployment_name))

seen = 0
for ws in running:
    w = WorkspaceClient(host=f"{url}/ws/{ws.deployment_name}", client_id=client_id, client_secret=client_secret,
                        auth_type="oauth-m2m")
    tokens = list(w.token_management.list())
    if len(tokens) != tokens_per_workspace:
        check(f"token_management.list() on {ws.deployment_name}", False, f"{len(tokens)} tokens")
    seen += len(tokens)
check("the same service principal lists every token of every running workspace",
      seen == tokens_per_workspace * len(running), f"{seen}")

try:
    bad = AccountClient(host=url, account_id=account_id, client_id=client_id, client_secret="not-the-secret-4242",
                        auth_type="oauth-m2m")
    list(bad.workspaces.list())
    check("a wrong secret is refused", False, "no error")
except (DatabricksError, ValueError) as e:
    check("a wrong secret is refused", "not-the-secret-4242" not in str(e), f"{e}")

print(f"{passed} passed, 0 failed")
