"""Drives the local workspace with the official Python SDK (databricks-sdk==0.162.0), unmodified.

Usage: python interop/python_sdk.py http://127.0.0.1:PORT BOOTSTRAP_TOKEN QUOTA

Checks the seed lifecycle (create, list, update with update_mask, delete) and the error cases (unknown id ->
NotFound, quota -> error code QUOTA_EXCEEDED). Exits non-zero on the first mismatch, and prints a closing
line "N passed, 0 failed" when every check holds.
"""
import sys

from databricks.sdk import WorkspaceClient
from databricks.sdk.common.types.fieldmask import FieldMask
from databricks.sdk.errors import NotFound, DatabricksError
from databricks.sdk.service.settings import PublicTokenInfo

host, token, quota = sys.argv[1], sys.argv[2], int(sys.argv[3])
w = WorkspaceClient(host=host, token=token, auth_type="pat")
passed = 0


def check(name, condition, detail=""):
    global passed
    if not condition:
        print(f"FAIL {name}: {detail}")
        print(f"{passed} passed, 1 failed")
        sys.exit(1)
    passed += 1
    print(f"ok   {name}")


created = w.tokens.create(comment="python-interop", lifetime_seconds=300)
tid = created.token_info.token_id
check("create returns an id and a secret", bool(tid) and created.token_value.startswith("dapi"))
check("create stamps expiry = creation + lifetime",
      created.token_info.expiry_time - created.token_info.creation_time == 300_000,
      f"{created.token_info}")

listed = {t.token_id: t for t in w.tokens.list()}
check("list shows the new token", tid in listed and listed[tid].comment == "python-interop", f"{listed}")

w.tokens.update(tid, token=PublicTokenInfo(comment="python-interop renamed", scopes=["sql"]), update_mask=FieldMask(["comment", "scopes"]))
after = {t.token_id: t for t in w.tokens.list()}[tid]
check("update applies the masked fields", after.comment == "python-interop renamed" and after.scopes == ["sql"], f"{after}")

try:
    w.tokens.update(tid, token=PublicTokenInfo(comment="x"), update_mask=FieldMask(["comment", "expiry_time"]))
    check("a non-updatable path is refused", False, "no error")
except DatabricksError as e:
    check("a non-updatable path is refused", e.error_code == "INVALID_PARAMETER_VALUE", f"{e.error_code}: {e}")

w.tokens.delete(token_id=tid)
check("delete removes the token", tid not in {t.token_id for t in w.tokens.list()})

try:
    w.tokens.delete(token_id=tid)
    check("deleting an unknown id raises NotFound", False, "no error")
except NotFound as e:
    check("deleting an unknown id raises NotFound", e.error_code == "RESOURCE_DOES_NOT_EXIST", f"{e.error_code}")

try:
    w.tokens.update("no-such-id", token=PublicTokenInfo(comment="x"), update_mask=FieldMask(["comment"]))
    check("updating an unknown id raises NotFound", False, "no error")
except NotFound as e:
    check("updating an unknown id raises NotFound", e.error_code == "NOT_FOUND", f"{e.error_code}")

minted = [w.tokens.create(comment=f"quota-{i}", lifetime_seconds=60).token_info.token_id for i in range(quota)]
try:
    w.tokens.create(comment="one too many")
    check("the quota is enforced", False, "no error")
except DatabricksError as e:
    check("the quota is enforced with QUOTA_EXCEEDED", e.error_code == "QUOTA_EXCEEDED", f"{e.error_code}: {e}")
for i in minted:
    w.tokens.delete(token_id=i)
check("cleanup leaves no token", list(w.tokens.list()) == [])

# A token the workspace minted is itself a credential.
fresh = w.tokens.create(comment="as credential", lifetime_seconds=60)
w2 = WorkspaceClient(host=host, token=fresh.token_value, auth_type="pat")
check("a minted token authenticates", [t.token_id for t in w2.tokens.list()] == [fresh.token_info.token_id])
w.tokens.delete(token_id=fresh.token_info.token_id)

print(f"{passed} passed, 0 failed")
