//! The Tokens service's state and rules: users, their credentials, tokens, quotas, lifetimes, field masks.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::secret::SecretString;
use crate::types::{PublicTokenInfo, ScopeList};
use crate::wire::AutoscopeState;

/// How long a token lives when the create request gives no lifetime: 2 years.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(2 * 365 * 24 * 3600);

/// Fields of `PublicTokenInfo` an update may change (the spec's, from the generated table).
const UPDATABLE: &[&str] = crate::generated::schema::public_token_info::WRITABLE;
/// Every field of `PublicTokenInfo`: the ones not updatable are output only.
const FIELDS: &[&str] = crate::generated::schema::public_token_info::FIELDS;

/// An API answer: status and JSON body.
pub(crate) type Answer = (u16, Value);

fn error(status: u16, code: &str, message: impl Into<String>) -> Answer {
    (status, json!({"error_code": code, "message": message.into()}))
}

/// What the service answers an invalid, revoked or expired credential: HTTP 403 with a *numeric*
/// `error_code`, as public bug reports show.
fn invalid_access_token() -> Answer {
    (403, json!({"error_code": 403, "message": "Invalid access token."}))
}

#[derive(Debug)]
struct StoredToken {
    seq: u64,
    owner: String,
    comment: Option<String>,
    creation_ms: i64,
    expiry_ms: i64,
    scopes: Option<Vec<String>>,
    autoscope: bool,
}

impl StoredToken {
    fn valid_at(&self, now_ms: i64) -> bool {
        self.expiry_ms < 0 || now_ms < self.expiry_ms
    }

    fn info(&self, id: &str) -> PublicTokenInfo {
        let mut info = PublicTokenInfo::new(id)
            .set_creation_time(self.creation_ms)
            .set_expiry_time(self.expiry_ms)
            .set_autoscope_state(if self.autoscope { AutoscopeState::Running } else { AutoscopeState::Disabled });
        info.comment = self.comment.clone();
        info.scopes = self.scopes.clone().map(ScopeList::from);
        info
    }
}

/// An OAuth access token the workspace issued: whose it is and until when.
#[derive(Debug)]
struct AccessToken {
    identity: String,
    expiry_ms: i64,
}

/// Everything a local workspace knows.
#[derive(Debug)]
pub(crate) struct State {
    /// SHA-256 of a bootstrap credential → user (the value itself is not kept, so `Debug` cannot show it).
    users: HashMap<String, String>,
    /// SHA-256 of an OAuth access token → the token (the value itself is not kept).
    access_tokens: HashMap<String, AccessToken>,
    /// Token id → token.
    tokens: BTreeMap<String, StoredToken>,
    quota: usize,
    max_lifetime: Duration,
    offset: Duration,
    next_seq: u64,
}

impl State {
    pub(crate) fn new(users: Vec<(String, SecretString)>, quota: usize, max_lifetime: Duration) -> Self {
        Self {
            users: users.into_iter().map(|(name, token)| (token_id_of(token.expose()), name)).collect(),
            access_tokens: HashMap::new(),
            tokens: BTreeMap::new(),
            quota,
            max_lifetime,
            offset: Duration::ZERO,
            next_seq: 0,
        }
    }

    pub(crate) fn advance(&mut self, by: Duration) {
        self.offset += by;
    }

    /// The workspace's time: the system's plus what [`State::advance`] added.
    pub(crate) fn now(&self) -> SystemTime {
        SystemTime::now().checked_add(self.offset).unwrap_or(SystemTime::now())
    }

    fn now_ms(&self) -> i64 {
        let now = self.now().duration_since(UNIX_EPOCH).unwrap_or_default();
        i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
    }

    /// Makes `value` a Bearer credential of `identity` for `lifetime` of workspace time.
    pub(crate) fn grant_access_token(&mut self, value: &SecretString, identity: &str, lifetime: Duration) {
        let now = self.now_ms();
        self.access_tokens.retain(|_, t| now < t.expiry_ms);
        let expiry_ms = now.saturating_add(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX));
        self.access_tokens.insert(token_id_of(value.expose()), AccessToken { identity: identity.to_owned(), expiry_ms });
    }

    /// The user a bearer credential belongs to, or the error to answer.
    pub(crate) fn authenticate(&self, authorization: Option<&str>) -> Result<String, Answer> {
        let Some(header) = authorization else {
            return Err(error(401, "UNAUTHENTICATED", "Missing Authorization header: send Authorization: Bearer <token>."));
        };
        let Some(credential) = header.strip_prefix("Bearer ").map(str::trim) else {
            return Err(error(401, "UNAUTHENTICATED", "Authorization header must use the Bearer scheme."));
        };
        let id = token_id_of(credential);
        if let Some(user) = self.users.get(&id) {
            return Ok(user.clone());
        }
        let now = self.now_ms();
        if let Some(t) = self.access_tokens.get(&id) {
            return if now < t.expiry_ms { Ok(t.identity.clone()) } else { Err(invalid_access_token()) };
        }
        match self.tokens.get(&id) {
            Some(t) if t.valid_at(now) => Ok(t.owner.clone()),
            _ => Err(invalid_access_token()),
        }
    }

    pub(crate) fn create(&mut self, user: &str, body: &Value) -> Answer {
        let Some(body) = body.as_object() else {
            return error(400, "MALFORMED_REQUEST", "The request body must be a JSON object.");
        };
        let lifetime = match body.get("lifetime_seconds") {
            None | Some(Value::Null) => DEFAULT_LIFETIME,
            Some(v) => match int64(v) {
                Some(s) if s >= 1 && (s as u64) <= self.max_lifetime.as_secs() => Duration::from_secs(s as u64),
                Some(s) if s >= 1 => {
                    return error(
                        400,
                        "INVALID_PARAMETER_VALUE",
                        format!("lifetime_seconds {s} exceeds the maximum of {} seconds.", self.max_lifetime.as_secs()),
                    );
                }
                _ => {
                    return error(
                        400,
                        "INVALID_PARAMETER_VALUE",
                        format!("lifetime_seconds must be a positive number of seconds, got {v}."),
                    );
                }
            },
        };
        let (comment, scopes) = match comment_and_scopes(body) {
            Ok(fields) => fields,
            Err(answer) => return answer,
        };
        let autoscope = body.get("autoscope_enabled").and_then(Value::as_bool).unwrap_or(false);
        let now = self.now_ms();
        let held = self.tokens.values().filter(|t| t.owner == user && t.valid_at(now)).count();
        if held >= self.quota {
            return error(400, "QUOTA_EXCEEDED", format!("User {user} already holds the maximum of {} tokens.", self.quota));
        }
        // A bearer credential: drawn from the operating system's CSPRNG.
        let mut random = [0u8; 16];
        if getrandom::fill(&mut random).is_err() {
            return error(500, "INTERNAL_ERROR", "The workspace could not draw a random token value.");
        }
        let value = format!("dapi{}", random.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let id = token_id_of(&value);
        let token = StoredToken {
            seq: self.next_seq,
            owner: user.to_owned(),
            comment,
            creation_ms: now,
            expiry_ms: now.saturating_add(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX)),
            scopes,
            autoscope,
        };
        self.next_seq += 1;
        let info = token.info(&id);
        self.tokens.insert(id, token);
        (200, json!({"token_info": info, "token_value": value}))
    }

    pub(crate) fn list(&self, user: &str) -> Answer {
        let infos = self.valid_of(Some(user));
        if infos.is_empty() { (200, json!({})) } else { (200, json!({ "token_infos": infos })) }
    }

    pub(crate) fn update(&mut self, user: &str, token_id: &str, body: &Value) -> Answer {
        let Some(mask) = body.get("update_mask").and_then(Value::as_str) else {
            return error(400, "INVALID_PARAMETER_VALUE", "update_mask is required.");
        };
        let token = match body.get("token") {
            Some(Value::Object(t)) => t,
            _ => return error(400, "INVALID_PARAMETER_VALUE", "token is required and must be an object."),
        };
        let paths: Vec<&str> = if mask == "*" { UPDATABLE.to_vec() } else { mask.split(',').collect() };
        for path in &paths {
            if path.is_empty() || path.contains(char::is_whitespace) {
                return error(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    format!("update_mask {mask:?} is malformed: paths are separated by commas, without spaces or empty segments."),
                );
            }
            if FIELDS.contains(path) && !UPDATABLE.contains(path) {
                return error(400, "INVALID_PARAMETER_VALUE", format!("Field {path} of a token cannot be updated."));
            }
            if !UPDATABLE.contains(path) {
                return error(400, "INVALID_PARAMETER_VALUE", format!("update_mask names an unknown field {path:?}."));
            }
            if mask != "*" && !token.contains_key(*path) {
                return error(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    format!("update_mask names {path} but the token in the body does not set it."),
                );
            }
        }
        let (comment, scopes) = match comment_and_scopes(token) {
            Ok(fields) => fields,
            Err(answer) => return answer,
        };
        let now = self.now_ms();
        let Some(stored) = self.tokens.get_mut(token_id).filter(|t| t.owner == user && t.valid_at(now)) else {
            return error(404, "NOT_FOUND", format!("Token {token_id} does not exist."));
        };
        for path in paths {
            match path {
                "comment" => stored.comment = comment.clone(),
                _ => stored.scopes = scopes.clone(),
            }
        }
        (200, json!({}))
    }

    pub(crate) fn delete(&mut self, user: &str, body: &Value) -> Answer {
        let Some(token_id) = body.get("token_id").and_then(Value::as_str) else {
            return error(400, "INVALID_PARAMETER_VALUE", "token_id is required.");
        };
        let now = self.now_ms();
        match self.tokens.get(token_id) {
            Some(t) if t.owner == user && t.valid_at(now) => {
                self.tokens.remove(token_id);
                (200, json!({}))
            }
            _ => error(404, "RESOURCE_DOES_NOT_EXIST", format!("Token {token_id} does not exist.")),
        }
    }

    fn valid_of(&self, user: Option<&str>) -> Vec<PublicTokenInfo> {
        let now = self.now_ms();
        let mut mine: Vec<(&String, &StoredToken)> =
            self.tokens.iter().filter(|(_, t)| user.is_none_or(|u| t.owner == u) && t.valid_at(now)).collect();
        mine.sort_by_key(|(_, t)| t.seq);
        mine.into_iter().map(|(id, t)| t.info(id)).collect()
    }

    pub(crate) fn all_valid(&self) -> Vec<PublicTokenInfo> {
        self.valid_of(None)
    }
}

/// The id of a token: the SHA-256 of its value, in hex.
fn token_id_of(value: &str) -> String {
    Sha256::digest(value.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// An int64 sent as a number or a decimal string.
fn int64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The `comment` and `scopes` of a create body or of an update's token, type-checked.
fn comment_and_scopes(object: &serde_json::Map<String, Value>) -> Result<(Option<String>, Option<Vec<String>>), Answer> {
    let invalid = |message: String| error(400, "INVALID_PARAMETER_VALUE", message);
    let comment = match object.get("comment") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) => Some(c.clone()),
        Some(other) => return Err(invalid(format!("comment must be a string, got {other}."))),
    };
    let scopes = object.get("scopes").map(string_list).transpose().map_err(invalid)?;
    Ok((comment, scopes))
}

fn string_list(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => {
            items.iter().map(|i| i.as_str().map(str::to_owned).ok_or_else(|| format!("scopes must be strings, got {i}."))).collect()
        }
        other => Err(format!("scopes must be a list of strings, got {other}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_holds_no_credential() {
        let state = State::new(vec![("alice".to_owned(), SecretString::new("dapi-alice-credential"))], 1, DEFAULT_LIFETIME);
        let debug = format!("{state:?}");
        assert!(debug.contains("alice") && !debug.contains("dapi-alice-credential"), "{debug}");
    }
}
