"""Drives the local workspace with the official Python SDK (databricks-sdk==0.162.0), unmodified.

Usage: python interop/python_sdk.py http://127.0.0.1:PORT BOOTSTRAP_TOKEN QUOTA [CLIENT_ID CLIENT_SECRET [JWT_FILE [USER_TOKEN]]]

Checks the seed lifecycle (create, list, update with update_mask, delete) and the error cases (unknown id ->
NotFound, quota -> error code QUOTA_EXCEEDED). With a service principal's CLIENT_ID and CLIENT_SECRET, also
OAuth M2M (auth_type="oauth-m2m": host metadata, discovery, client credentials) as that service principal,
and that a wrong secret fails clearly. With JWT_FILE, a JWT of an issuer the workspace trusts, also token
federation (auth_type="file-oidc"), account-wide and for the service principal. With USER_TOKEN, the
credential of a user who is not an admin ("interop-user"), also the Token Management API as the bootstrap
user (an admin) sees it: list with and without filters, get, update, delete, on-behalf-of tokens for the
service principal, a non-admin refused, and the token permissions (levels, get, set, update) with their
effect on on-behalf-of tokens: CAN_MANAGE for the admins only, an empty update refused, withdrawing CAN_USE
revoking the service principal's tokens. Also that a client configured for another workspace id is refused.
Exits non-zero on the first mismatch, and prints a closing line
"N passed, 0 failed" when every check holds.
"""
import sys
from types import SimpleNamespace

from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.common.types.fieldmask import FieldMask
from databricks.sdk.errors import BadRequest, NotFound, DatabricksError, PermissionDenied
from databricks.sdk.service.settings import (PublicTokenInfo, TokenAccessControlRequest, TokenInfo,
                                             TokenPermissionLevel)

host, token, quota = sys.argv[1], sys.argv[2], int(sys.argv[3])
client_id, client_secret = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else (None, None)
jwt_file = sys.argv[6] if len(sys.argv) > 6 else None
user_token = sys.argv[7] if len(sys.argv) > 7 else None
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

# A client configured for another workspace (X-Databricks-Workspace-Id) is refused.
try:
    list(WorkspaceClient(host=host, token=token, auth_type="pat", workspace_id="999").tokens.list())
    check("another workspace id is refused with PermissionDenied", False, "no error")
except PermissionDenied as e:
    check("another workspace id is refused with PermissionDenied", e.error_code == "PERMISSION_DENIED", f"{e.error_code}: {e}")

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

if user_token:
    # The Token Management API, as the bootstrap user (a workspace admin) uses it.
    tm = w.token_management
    u = WorkspaceClient(host=host, token=user_token, auth_type="pat")
    admins = w.tokens.create(comment="admin's", lifetime_seconds=300).token_info.token_id
    users = u.tokens.create(comment="user's", lifetime_seconds=300).token_info.token_id
    everything = {t.token_id: t for t in tm.list()}
    check("token_management.list shows every principal's tokens",
          set(everything) == {admins, users}, f"{everything}")
    admin_id, user_id = everything[admins].created_by_id, everything[users].created_by_id
    check("token_management: TokenInfo names creator and owner",
          everything[users].created_by_username == "interop-user" and everything[users].owner_id == user_id
          and isinstance(admin_id, int) and admin_id != user_id and everything[users].workspace_id > 0,
          f"{everything[users]}")
    check("token_management.list(created_by_username=...) filters",
          [t.token_id for t in tm.list(created_by_username="interop-user")] == [users])
    check("token_management.list(created_by_id=...) filters",
          [t.token_id for t in tm.list(created_by_id=admin_id)] == [admins])
    check("token_management.list with an unknown user is empty", list(tm.list(created_by_username="nobody")) == [])
    got = tm.get(users).token_info
    check("token_management.get", got.token_id == users and got.comment == "user's", f"{got}")
    # Python 0.162 has no token_management.update: the method is update_token_management.
    updated = tm.update_token_management(users, token=TokenInfo(comment="renamed by an admin"),
                                         update_mask=FieldMask(["comment"]))
    check("token_management.update_token_management answers the TokenInfo",
          updated.token_id == users and updated.comment == "renamed by an admin", f"{updated}")
    check("the owner sees the admin's update", [t.comment for t in u.tokens.list()] == ["renamed by an admin"])
    tm.delete(users)
    check("token_management.delete revokes any principal's token", list(u.tokens.list()) == [])
    try:
        tm.get(users)
        check("token_management.get of a deleted token raises NotFound", False, "no error")
    except NotFound as e:
        check("token_management.get of a deleted token raises NotFound", e.error_code == "RESOURCE_DOES_NOT_EXIST",
              f"{e.error_code}")
    try:
        list(u.token_management.list())
        check("a non-admin gets PermissionDenied", False, "no error")
    except PermissionDenied as e:
        check("a non-admin gets PermissionDenied", "Only Admins" in str(e), f"{e}")
    tm.delete(admins)

    levels = tm.get_permission_levels().permission_levels
    # 0.162's TokenPermissionLevel has no CAN_MANAGE: the SDK reads a level it does not know as None.
    check("get_permission_levels: CAN_USE and CAN_MANAGE",
          [(l.permission_level, l.description) for l in levels]
          == [(TokenPermissionLevel.CAN_USE, "Can create and use tokens"),
              (None, "Can use and modify permissions on tokens")], f"{levels}")
    acl = tm.get_permissions()
    check("get_permissions: users may use tokens by default",
          acl.object_id == "/authorization/tokens"
          and any(e.group_name == "users" and e.all_permissions[0].permission_level == TokenPermissionLevel.CAN_USE
                  for e in acl.access_control_list), f"{acl}")
    if client_id:
        obo = tm.create_obo_token(application_id=client_id, comment="on behalf", lifetime_seconds=300)
        check("create_obo_token: the service principal owns it, the admin created it",
              obo.token_value.startswith("dapi") and obo.token_info.created_by_id == admin_id
              and obo.token_info.owner_id != admin_id and obo.token_info.comment == "on behalf", f"{obo.token_info}")
        as_sp = WorkspaceClient(host=host, token=obo.token_value, auth_type="pat")
        check("create_obo_token: the token authenticates as the service principal",
              [t.token_id for t in as_sp.tokens.list()] == [obo.token_info.token_id])
        try:
            tm.create_obo_token(application_id="no-such-sp", lifetime_seconds=300)
            check("create_obo_token for an unknown service principal raises NotFound", False, "no error")
        except NotFound as e:
            check("create_obo_token for an unknown service principal raises NotFound", "no-such-sp" in str(e), f"{e}")
        # CAN_MANAGE, which 0.162's enum cannot name: a stand-in with the wire value goes through as_dict().
        can_manage = SimpleNamespace(value="CAN_MANAGE")
        with_admins = tm.update_permissions(access_control_list=[
            TokenAccessControlRequest(group_name="admins", permission_level=can_manage)])
        check("update_permissions: the admins' CAN_MANAGE (as Terraform sends it) is accepted",
              {e.group_name for e in with_admins.access_control_list} == {"admins", "users"}, f"{with_admins}")
        try:
            tm.update_permissions(access_control_list=[
                TokenAccessControlRequest(user_name="interop-user", permission_level=can_manage)])
            check("CAN_MANAGE for a non-admin raises BadRequest", False, "no error")
        except BadRequest as e:
            check("CAN_MANAGE for a non-admin raises BadRequest",
                  e.error_code == "INVALID_PARAMETER_VALUE"
                  and str(e) == "Only admins can be given CAN_MANAGE permission on tokens", f"{e.error_code}: {e}")
        try:
            tm.update_permissions()
            check("update_permissions with nothing raises BadRequest", False, "no error")
        except BadRequest as e:
            check("update_permissions with nothing raises BadRequest", e.error_code == "INVALID_PARAMETER_VALUE",
                  f"{e.error_code}: {e}")
        only_user = tm.set_permissions(access_control_list=[
            TokenAccessControlRequest(user_name="interop-user", permission_level=TokenPermissionLevel.CAN_USE)])
        check("set_permissions replaces the list",
              {(e.user_name, e.group_name) for e in only_user.access_control_list} == {("interop-user", None), (None, "admins")},
              f"{only_user}")
        try:
            tm.create_obo_token(application_id=client_id, lifetime_seconds=300)
            check("without CAN_USE, create_obo_token raises PermissionDenied", False, "no error")
        except PermissionDenied as e:
            check("without CAN_USE, create_obo_token raises PermissionDenied", "CAN_USE" in str(e), f"{e}")
        check("withdrawing CAN_USE revoked the service principal's token",
              obo.token_info.token_id not in {t.token_id for t in tm.list()})
        try:
            list(as_sp.tokens.list())
            check("a revoked on-behalf-of token no longer authenticates", False, "no error")
        except PermissionDenied as e:
            check("a revoked on-behalf-of token no longer authenticates", "Invalid access token" in str(e), f"{e}")
        back = tm.update_permissions(access_control_list=[
            TokenAccessControlRequest(group_name="users", permission_level=TokenPermissionLevel.CAN_USE)])
        check("update_permissions adds to the list",
              {e.group_name for e in back.access_control_list} >= {"users", "admins"}
              and any(e.user_name == "interop-user" for e in back.access_control_list), f"{back}")
        again = tm.create_obo_token(application_id=client_id, lifetime_seconds=300).token_info.token_id
        check("with CAN_USE back, create_obo_token works", again in {t.token_id for t in tm.list()})
        for t in tm.list():
            tm.delete(t.token_id)
        check("cleanup leaves no token in the workspace", list(tm.list()) == [])

print(f"{passed} passed, 0 failed")
