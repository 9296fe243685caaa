//! The Token Management API (every token of the workspace, for admins; on-behalf-of tokens for service
//! principals) and the token permissions (`/api/2.0/permissions/authorization/tokens`).

use serde_json::{Value, json};

use super::{Answer, State, StoredToken, apply, error, invalid, masked_update};
use crate::generated::token_management::types::TokenInfo;
use crate::local::principals::{self, Kind, Principal};
use crate::operation::tables::token_management::schema::token_info;
use crate::redact::truncate;
use crate::types::ScopeList;

/// What a non-admin is answered on every admin-only route.
const ONLY_ADMINS: &str = "Only Admins can access token management APIs.";

/// An operation of the Token Management API or of the token permissions.
#[derive(Debug)]
pub(crate) enum Management {
    CreateOboToken,
    List,
    Get(String),
    Update(String),
    Delete(String),
    PermissionLevels,
    GetPermissions,
    SetPermissions,
    UpdatePermissions,
}

/// Whether an admin may update a field of `TokenInfo`: the spec's writable fields (the generated table).
fn updatable(field: &str) -> bool {
    token_info::WRITABLE.contains(&field)
}

/// A token as an admin sees it.
fn admin_info(id: &str, t: &StoredToken, workspace_id: i64) -> TokenInfo {
    TokenInfo {
        token_id: id.to_owned(),
        comment: t.comment.clone(),
        created_by_id: Some(t.created_by_id.into()),
        created_by_username: Some(t.created_by.clone()),
        creation_time: Some(t.creation_ms.into()),
        expiry_time: Some(t.expiry_ms.into()),
        last_used_day: t.last_used_day.map(Into::into),
        owner_id: Some(t.owner_id.into()),
        workspace_id: Some(workspace_id.into()),
        scopes: t.scopes.clone().map(ScopeList::from),
        autoscope_state: Some(t.autoscope_state()),
        inferred_scopes: None,
        backfill_scopes: None,
    }
}

fn not_found(token_id: &str) -> Answer {
    error(404, "RESOURCE_DOES_NOT_EXIST", format!("Token {} does not exist.", truncate(token_id, 100)))
}

/// A JSON body; an empty one is `{}`.
fn json_body(body: &[u8]) -> Result<Value, Answer> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|_| error(400, "MALFORMED_REQUEST", "The request body is not valid JSON."))
}

impl State {
    /// A Token Management or token permissions request of an authenticated `caller`. Every route but the
    /// permission levels is for admins; the body is read only then (a `GET` or `DELETE` ignores it).
    pub(crate) fn management(&mut self, caller: &Principal, operation: Management, query: Option<&str>, body: &[u8]) -> Answer {
        if matches!(operation, Management::PermissionLevels) {
            return principals::permission_levels();
        }
        if !caller.admin {
            return error(403, "PERMISSION_DENIED", ONLY_ADMINS);
        }
        let with_body = |f: &mut dyn FnMut(&Value) -> Answer| match json_body(body) {
            Ok(json) => f(&json),
            Err(answer) => answer,
        };
        match operation {
            Management::CreateOboToken => with_body(&mut |json| self.create_obo_token(caller, json)),
            Management::List => self.list_all(query),
            Management::Get(id) => match self.valid(&id) {
                Some(t) => (200, json!({ "token_info": admin_info(&id, t, self.workspace_id) })),
                None => not_found(&id),
            },
            Management::Update(id) => with_body(&mut |json| self.update_any(&id, json)),
            Management::Delete(id) => {
                if self.valid(&id).is_none() {
                    return not_found(&id);
                }
                self.remove(&id);
                (200, json!({}))
            }
            Management::GetPermissions => self.acl.permissions(),
            Management::SetPermissions => with_body(&mut |json| self.set_permissions(json, true)),
            Management::UpdatePermissions => with_body(&mut |json| self.set_permissions(json, false)),
            Management::PermissionLevels => unreachable!("answered above"),
        }
    }

    /// `POST /api/2.0/token-management/on-behalf-of/tokens`: a token owned by a service principal that
    /// holds `CAN_USE`, created by the admin calling.
    fn create_obo_token(&mut self, caller: &Principal, body: &Value) -> Answer {
        let Some(object) = body.as_object() else {
            return error(400, "MALFORMED_REQUEST", "The request body must be a JSON object.");
        };
        let application_id = match object.get("application_id") {
            Some(Value::String(id)) if !id.is_empty() => id,
            None | Some(Value::Null) => return invalid("application_id is required."),
            Some(other) => return invalid(format!("application_id must be a non-empty string, got {other}.")),
        };
        let Some(sp) = self.directory.get(application_id).filter(|p| p.kind == Kind::ServicePrincipal).cloned() else {
            return error(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                format!("Service principal with application ID {} not found", truncate(application_id, 100)),
            );
        };
        if !self.acl.may_use_tokens(&self.directory, &sp) {
            return error(
                403,
                "PERMISSION_DENIED",
                "On-behalf-of token creation for service principals is not enabled for this workspace or the service \
                 principal does not have CAN_USE permission on tokens",
            );
        }
        match self.mint(&sp, caller, body) {
            Ok((id, value)) => (200, json!({"token_info": admin_info(&id, &self.tokens[&id], self.workspace_id), "token_value": value})),
            Err(answer) => answer,
        }
    }

    /// `PUT` (`replace`) or `PATCH` of the token permissions; the tokens of whoever lost `CAN_USE` are
    /// revoked.
    fn set_permissions(&mut self, body: &Value, replace: bool) -> Answer {
        let answer = self.acl.apply(&self.directory, body, replace);
        if answer.0 == 200 {
            self.revoke_unpermitted();
        }
        answer
    }

    /// `GET /api/2.0/token-management/tokens`: every valid token, oldest first, optionally only those
    /// created by one principal (`created_by_id`, `created_by_username`: both must match when both are given).
    fn list_all(&self, query: Option<&str>) -> Answer {
        let (mut by_id, mut by_name) = (None, None);
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match &*key {
                "created_by_id" if by_id.is_none() && !value.is_empty() => match value.trim().parse::<i64>() {
                    Ok(id) => by_id = Some(id),
                    Err(_) => return invalid(format!("created_by_id must be a 64-bit integer, got {:?}.", truncate(&value, 100))),
                },
                "created_by_username" if by_name.is_none() && !value.is_empty() => by_name = Some(value.into_owned()),
                _ => {}
            }
        }
        let creator = match by_name {
            Some(name) => match self.directory.get(&name) {
                Some(p) if by_id.is_none_or(|id| id == p.id) => Some(p.id),
                _ => return (200, json!({})),
            },
            None => by_id,
        };
        let infos: Vec<TokenInfo> = match creator {
            None => self.valid_in(self.order.keys()).map(|(id, t)| admin_info(id, t, self.workspace_id)).collect(),
            Some(creator) => match self.by_creator.get(&creator) {
                Some(seqs) => self.valid_in(seqs.iter()).map(|(id, t)| admin_info(id, t, self.workspace_id)).collect(),
                None => Vec::new(),
            },
        };
        if infos.is_empty() { (200, json!({})) } else { (200, json!({ "token_infos": infos })) }
    }

    /// `PATCH /api/2.0/token-management/tokens/{token_id}`: any principal's token; answers the whole token.
    fn update_any(&mut self, token_id: &str, body: &Value) -> Answer {
        let (paths, comment, scopes) = match masked_update(body, updatable, token_info::FIELDS) {
            Ok(update) => update,
            Err(answer) => return answer,
        };
        if self.valid(token_id).is_none() {
            return not_found(token_id);
        }
        let stored = self.tokens.get_mut(token_id).expect("checked above");
        apply(stored, &paths, comment, scopes);
        (200, json!(admin_info(token_id, stored, self.workspace_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_comment_and_scopes_are_updatable() {
        let fields: Vec<&str> = token_info::FIELDS.iter().copied().filter(|f| updatable(f)).collect();
        assert_eq!(fields, ["comment", "scopes"]);
    }

    #[test]
    fn a_token_info_carries_every_documented_field() {
        let users = vec![("admin".to_owned(), crate::SecretString::new("a"), true)];
        let mut state = State::new(users, &[], 10, super::super::DEFAULT_LIFETIME);
        let admin = state.authenticate(Some("Bearer a")).unwrap();
        let (id, _) = state.mint(&admin, &admin, &json!({"comment": "c", "scopes": ["sql"]})).unwrap();
        let (status, body) = state.management(&admin, Management::Get(id.clone()), None, b"");
        assert_eq!(status, 200);
        let info = body["token_info"].as_object().unwrap();
        let mut keys: Vec<&str> = info.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "autoscope_state",
                "comment",
                "created_by_id",
                "created_by_username",
                "creation_time",
                "expiry_time",
                "owner_id",
                "scopes",
                "token_id",
                "workspace_id"
            ],
            "last_used_day is absent until the token is used"
        );
        assert!(info["created_by_id"].is_i64() && info["workspace_id"].is_i64(), "int64 as numbers: {body}");
        assert!(keys.iter().all(|k| token_info::FIELDS.contains(k)), "only the spec's fields");
    }
}
