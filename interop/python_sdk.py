"""Drives the local workspace with the official Python SDK (databricks-sdk==0.162.0), unmodified.

Usage: python interop/python_sdk.py http://127.0.0.1:PORT BOOTSTRAP_TOKEN QUOTA [CLIENT_ID CLIENT_SECRET [JWT_FILE]]

Checks the seed lifecycle (create, list, update with update_mask, delete) and the error cases (unknown id ->
NotFound, quota -> error code QUOTA_EXCEEDED). With a service principal's CLIENT_ID and CLIENT_SECRET, also
OAuth M2M (auth_type="oauth-m2m": host metadata, discovery, client credentials) as that service principal,
and that a wrong secret fails clearly. With JWT_FILE, a JWT of an issuer the workspace trusts, also token
federation (auth_type="file-oidc"), account-wide and for the service principal. Exits non-zero on the first
mismatch, and prints a closing line "N passed, 0 failed" when every check holds.
"""
import sys

from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.common.types.fieldmask import FieldMask
from databricks.sdk.errors import NotFound, DatabricksError
from databricks.sdk.service.settings import PublicTokenInfo

host, token, quota = sys.argv[1], sys.argv[2], int(sys.argv[3])
client_id, client_secret = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else (None, None)
jwt_file = sys.argv[6] if len(sys.argv) > 6 else None
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

if client_id:
    # OAuth M2M, as the SDK does it: host metadata -> discovery -> client credentials (HTTP Basic).
    mine = w.tokens.create(comment="the bootstrap user's", lifetime_seconds=300).token_info.token_id
    sp = WorkspaceClient(host=host, client_id=client_id, client_secret=client_secret, auth_type="oauth-m2m")
    check("oauth-m2m: a service principal starts with no token", list(sp.tokens.list()) == [])
    sp_token = sp.tokens.create(comment="service principal's", lifetime_seconds=300)
    check("oauth-m2m: the service principal creates a token", sp_token.token_value.startswith("dapi"))
    check("oauth-m2m: the service principal lists only its own",
          [t.comment for t in sp.tokens.list()] == ["service principal's"], f"{list(sp.tokens.list())}")
    check("oauth-m2m: the bootstrap user does not see it",
          [t.token_id for t in w.tokens.list()] == [mine], f"{list(w.tokens.list())}")
    sp.tokens.delete(token_id=sp_token.token_info.token_id)
    check("oauth-m2m: the service principal deletes its token", list(sp.tokens.list()) == [])
    w.tokens.delete(token_id=mine)

    try:
        bad = WorkspaceClient(host=host, client_id=client_id, client_secret="wrong-secret", auth_type="oauth-m2m")
        list(bad.tokens.list())
        check("oauth-m2m: a wrong secret is refused", False, "no error")
    except Exception as e:  # the SDK raises ValueError from the token endpoint's answer
        message = str(e)
        check("oauth-m2m: a wrong secret is refused with invalid_client",
              "invalid_client" in message and "wrong-secret" not in message, message)

if jwt_file:
    # Token federation: the SDK exchanges the JWT at the token endpoint (RFC 8693).
    # WorkspaceClient() has no oidc_token_filepath argument: it goes through a Config.
    federated = WorkspaceClient(config=Config(host=host, auth_type="file-oidc", oidc_token_filepath=jwt_file))
    made = federated.tokens.create(comment="federated user's", lifetime_seconds=300).token_info.token_id
    check("file-oidc: account-wide federation acts as the JWT's subject",
          [t.token_id for t in federated.tokens.list()] == [made] and list(w.tokens.list()) == [])
    federated.tokens.delete(token_id=made)
    if client_id:
        as_sp = WorkspaceClient(
            config=Config(host=host, auth_type="file-oidc", oidc_token_filepath=jwt_file, client_id=client_id))
        made = as_sp.tokens.create(comment="via workload identity federation", lifetime_seconds=300).token_info.token_id
        sp = WorkspaceClient(host=host, client_id=client_id, client_secret=client_secret, auth_type="oauth-m2m")
        check("file-oidc: with client_id the identity is the service principal",
              [t.token_id for t in sp.tokens.list()] == [made], f"{list(sp.tokens.list())}")
        as_sp.tokens.delete(token_id=made)

print(f"{passed} passed, 0 failed")
