//! The Tokens service's state and rules: principals, their credentials, tokens, quotas, lifetimes, field
//! masks, and the token permissions.

mod management;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub(crate) use management::Management;

use super::principals::{Acl, Directory, Kind, Principal};
use crate::secret::SecretString;
use crate::types::{AutoscopeState, PublicTokenInfo, ScopeList};

/// How long a token lives when the create request gives no lifetime: 2 years.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(2 * 365 * 24 * 3600);

/// Fields of `PublicTokenInfo` an update may change (the spec's, from the generated table).
const UPDATABLE: &[&str] = crate::operation::tables::schema::public_token_info::WRITABLE;
/// Every field of `PublicTokenInfo`: the ones not updatable are output only.
const FIELDS: &[&str] = crate::operation::tables::schema::public_token_info::FIELDS;

/// A day, in milliseconds: `last_used_day` is the start of one.
const DAY_MS: i64 = 24 * 3600 * 1000;

pub(crate) use super::answer::{Answer, error, invalid};

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the service answers an invalid, revoked or expired credential: HTTP 403 with a *numeric*
/// `error_code`, as public bug reports show (and the header of [`is_invalid_credential`]).
fn invalid_access_token() -> Answer {
    (403, json!({"error_code": 403, "message": "Invalid access token."}))
}

/// Whether an answer refuses the credential itself (an unknown, expired or revoked token, or a bearer JWT
/// that does not verify): those carry `X-Databricks-Reason-Phrase: Invalid access token.`, as the service's.
pub(crate) fn is_invalid_credential((status, body): &Answer) -> bool {
    *status == 403 && body["error_code"] == 403
}

/// A token as the workspace keeps it, as an admin sees it through the Token Management API.
///
/// The server's own record, for consistency checks in tests ([`LocalWorkspace::token_records`]): the
/// fields of the Token Management API's `TokenInfo`, plus the owner's name. The secret value is not kept.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use databricks_tokens::local::LocalWorkspace;
/// let ws = LocalWorkspace::start().await?;
/// ws.client()?.tokens().create().comment("ci").send().await?;
/// let record = &ws.token_records()[0];
/// assert_eq!((record.owner_name.as_str(), record.created_by_username.as_str()), ("local-user", "local-user"));
/// assert_eq!(Some(record.owner_id), ws.principal_id("local-user"));
/// # Ok(()) }
/// ```
///
/// [`LocalWorkspace::token_records`]: super::LocalWorkspace::token_records
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRecord {
    /// The token's id.
    pub token_id: String,
    /// Its comment.
    pub comment: Option<String>,
    /// The id of the principal it authenticates as (for an on-behalf-of token, the service principal).
    pub owner_id: i64,
    /// The name of that principal (a service principal's is its application id).
    pub owner_name: String,
    /// The id of the principal who created it.
    pub created_by_id: i64,
    /// The name of the principal who created it.
    pub created_by_username: String,
    /// When it was created, in epoch milliseconds.
    pub creation_time: i64,
    /// When it expires, in epoch milliseconds.
    pub expiry_time: i64,
    /// The start (UTC, epoch milliseconds) of the last day it authenticated a request; `None` if never.
    pub last_used_day: Option<i64>,
    /// Its scopes, if any were set.
    pub scopes: Option<Vec<String>>,
    /// Its autoscope state.
    pub autoscope_state: AutoscopeState,
}

#[derive(Debug)]
struct StoredToken {
    seq: u64,
    owner: String,
    owner_id: i64,
    created_by: String,
    created_by_id: i64,
    comment: Option<String>,
    creation_ms: i64,
    expiry_ms: i64,
    scopes: Option<Vec<String>>,
    autoscope: bool,
    last_used_day: Option<i64>,
}

impl StoredToken {
    fn valid_at(&self, now_ms: i64) -> bool {
        self.expiry_ms < 0 || now_ms < self.expiry_ms
    }

    /// When it stops being valid (`-1`, never, sorts last).
    fn expiry_key(&self) -> i64 {
        if self.expiry_ms < 0 { i64::MAX } else { self.expiry_ms }
    }

    fn autoscope_state(&self) -> AutoscopeState {
        if self.autoscope { AutoscopeState::Running } else { AutoscopeState::Disabled }
    }

    /// The Tokens API's view.
    fn info(&self, id: &str) -> PublicTokenInfo {
        let mut info = PublicTokenInfo::new(id)
            .set_creation_time(self.creation_ms)
            .set_expiry_time(self.expiry_ms)
            .set_autoscope_state(self.autoscope_state());
        info.comment = self.comment.clone();
        info.scopes = self.scopes.clone().map(ScopeList::from);
        info
    }

    fn record(&self, id: &str) -> TokenRecord {
        TokenRecord {
            token_id: id.to_owned(),
            comment: self.comment.clone(),
            owner_id: self.owner_id,
            owner_name: self.owner.clone(),
            created_by_id: self.created_by_id,
            created_by_username: self.created_by.clone(),
            creation_time: self.creation_ms,
            expiry_time: self.expiry_ms,
            last_used_day: self.last_used_day,
            scopes: self.scopes.clone(),
            autoscope_state: self.autoscope_state(),
        }
    }
}

/// An OAuth access token the workspace issued: whose it is and until when.
#[derive(Debug)]
struct AccessToken {
    identity: String,
    expiry_ms: i64,
}

/// A configured user: name, credential, and whether an admin.
pub(crate) type UserConfig = (String, SecretString, bool);

/// Everything a local workspace knows.
#[derive(Debug)]
pub(crate) struct State {
    /// SHA-256 of a bootstrap credential → user (the value itself is not kept, so `Debug` cannot show it).
    users: HashMap<String, String>,
    /// SHA-256 of an OAuth access token → the token (the value itself is not kept).
    access_tokens: HashMap<String, AccessToken>,
    /// Token id → token.
    tokens: HashMap<String, StoredToken>,
    /// Creation order → token id: every listing is oldest first without sorting.
    order: BTreeMap<u64, String>,
    /// Owner's principal id → creation orders of the tokens it owns (quota, the Tokens API's list).
    by_owner: HashMap<i64, BTreeSet<u64>>,
    /// Creator's principal id → creation orders of the tokens it created (Token Management's filters).
    by_creator: HashMap<i64, BTreeSet<u64>>,
    /// (Expiry, creation order) of every token: the expired ones are the first.
    expiries: BTreeSet<(i64, u64)>,
    directory: Directory,
    acl: Acl,
    quota: usize,
    max_lifetime: Duration,
    offset: Duration,
    next_seq: u64,
    /// The workspace's id, in `TokenInfo.workspace_id` ([`crate::local::WORKSPACE_ID`] unless a local
    /// account says otherwise).
    pub(crate) workspace_id: i64,
}

impl State {
    pub(crate) fn new(users: Vec<UserConfig>, service_principals: &[String], quota: usize, max_lifetime: Duration) -> Self {
        let mut directory = Directory::default();
        for (name, _, admin) in &users {
            directory.register(name, Kind::User, *admin);
        }
        for client_id in service_principals {
            directory.register(client_id, Kind::ServicePrincipal, false);
        }
        Self {
            users: users.into_iter().map(|(name, token, _)| (token_id_of(token.expose()), name)).collect(),
            access_tokens: HashMap::new(),
            tokens: HashMap::new(),
            order: BTreeMap::new(),
            by_owner: HashMap::new(),
            by_creator: HashMap::new(),
            expiries: BTreeSet::new(),
            directory,
            acl: Acl::default(),
            quota,
            max_lifetime,
            offset: Duration::ZERO,
            next_seq: 0,
            workspace_id: crate::local::WORKSPACE_ID.parse().unwrap_or_default(),
        }
    }

    /// Adds members to a group (see [`Directory::add_group`]).
    pub(crate) fn add_group(&mut self, name: &str, members: &[String]) {
        self.directory.add_group(name, members);
    }

    /// Revokes every token whose owner may no longer use tokens: withdrawing `CAN_USE` takes the tokens
    /// already made with it, as the service does.
    fn revoke_unpermitted(&mut self) {
        let (acl, directory) = (&self.acl, &self.directory);
        let revoked: Vec<String> = self
            .tokens
            .iter()
            .filter(|(_, t)| directory.get(&t.owner).is_none_or(|owner| !acl.may_use_tokens(directory, owner)))
            .map(|(id, _)| id.clone())
            .collect();
        for id in revoked {
            self.remove(&id);
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

    /// Makes `value` a Bearer credential of `identity` for `lifetime` of workspace time. An identity the
    /// workspace does not know yet (the subject of a federated JWT) becomes a user.
    pub(crate) fn grant_access_token(&mut self, value: &SecretString, identity: &str, lifetime: Duration) {
        self.directory.register(identity, Kind::User, false);
        let now = self.now_ms();
        self.access_tokens.retain(|_, t| now < t.expiry_ms);
        let expiry_ms = now.saturating_add(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX));
        self.access_tokens.insert(token_id_of(value.expose()), AccessToken { identity: identity.to_owned(), expiry_ms });
    }

    /// The principal a bearer credential belongs to, or the error to answer. A token the workspace minted
    /// records the day it was used.
    pub(crate) fn authenticate(&mut self, authorization: Option<&str>) -> Result<Principal, Answer> {
        let Some(header) = authorization else {
            return Err(error(401, "UNAUTHENTICATED", "Missing Authorization header: send Authorization: Bearer <token>."));
        };
        let Some(credential) = header.strip_prefix("Bearer ").map(str::trim) else {
            return Err(error(401, "UNAUTHENTICATED", "Authorization header must use the Bearer scheme."));
        };
        let id = token_id_of(credential);
        let now = self.now_ms();
        let identity = if let Some(user) = self.users.get(&id) {
            user.clone()
        } else if let Some(t) = self.access_tokens.get(&id) {
            if now >= t.expiry_ms {
                return Err(invalid_access_token());
            }
            t.identity.clone()
        } else {
            match self.tokens.get_mut(&id) {
                Some(t) if t.valid_at(now) => {
                    t.last_used_day = Some(now.div_euclid(DAY_MS) * DAY_MS);
                    t.owner.clone()
                }
                _ => return Err(invalid_access_token()),
            }
        };
        // Every identity that can authenticate is registered; a user if somehow not.
        Ok(self.principal_named(&identity))
    }

    /// The principal of this name, registered as a user when it is new (a federated subject).
    pub(crate) fn principal_named(&mut self, name: &str) -> Principal {
        self.directory.register(name, Kind::User, false).clone()
    }

    /// `POST /api/2.0/token/create`: a token of the caller's, who needs `CAN_USE` on tokens.
    pub(crate) fn create(&mut self, caller: &Principal, body: &Value) -> Answer {
        if !self.acl.may_use_tokens(&self.directory, caller) {
            return error(
                403,
                "PERMISSION_DENIED",
                format!(
                    "{} does not have CAN_USE permission on tokens (/authorization/tokens), which creating a token requires.",
                    caller.name
                ),
            );
        }
        match self.mint(caller, caller, body) {
            Ok((id, value)) => (200, json!({"token_info": self.tokens[&id].info(&id), "token_value": value})),
            Err(answer) => answer,
        }
    }

    /// Validates a create request (lifetime, comment, scopes) and the owner's quota, then mints a token
    /// owned by `owner`, created by `creator`: its id and secret value.
    fn mint(&mut self, owner: &Principal, creator: &Principal, body: &Value) -> Result<(String, String), Answer> {
        let Some(body) = body.as_object() else {
            return Err(error(400, "MALFORMED_REQUEST", "The request body must be a JSON object."));
        };
        let lifetime = match body.get("lifetime_seconds") {
            None | Some(Value::Null) => DEFAULT_LIFETIME,
            Some(v) => match int64(v) {
                Some(s) if s >= 1 && (s as u64) <= self.max_lifetime.as_secs() => Duration::from_secs(s as u64),
                Some(s) if s >= 1 => {
                    return Err(error(
                        400,
                        "INVALID_PARAMETER_VALUE",
                        format!("lifetime_seconds {s} exceeds the maximum of {} seconds.", self.max_lifetime.as_secs()),
                    ));
                }
                _ => {
                    return Err(error(
                        400,
                        "INVALID_PARAMETER_VALUE",
                        format!("lifetime_seconds must be a positive number of seconds, got {v}."),
                    ));
                }
            },
        };
        let (comment, scopes) = comment_and_scopes(body)?;
        let autoscope = body.get("autoscope_enabled").and_then(Value::as_bool).unwrap_or(false);
        let now = self.now_ms();
        self.forget_expired(now);
        let held = self.by_owner.get(&owner.id).map_or(0, BTreeSet::len);
        if held >= self.quota {
            return Err(error(400, "QUOTA_EXCEEDED", format!("User {} already holds the maximum of {} tokens.", owner.name, self.quota)));
        }
        // A bearer credential: drawn from the operating system's CSPRNG.
        let mut random = [0u8; 16];
        if getrandom::fill(&mut random).is_err() {
            return Err(error(500, "INTERNAL_ERROR", "The workspace could not draw a random token value."));
        }
        let value = format!("dapi{}", hex(&random));
        let id = token_id_of(&value);
        let token = StoredToken {
            seq: self.next_seq,
            owner: owner.name.clone(),
            owner_id: owner.id,
            created_by: creator.name.clone(),
            created_by_id: creator.id,
            comment,
            creation_ms: now,
            expiry_ms: now.saturating_add(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX)),
            scopes,
            autoscope,
            last_used_day: None,
        };
        self.next_seq += 1;
        self.insert(id.clone(), token);
        Ok((id, value))
    }

    fn insert(&mut self, id: String, token: StoredToken) {
        self.order.insert(token.seq, id.clone());
        self.expiries.insert((token.expiry_key(), token.seq));
        self.by_owner.entry(token.owner_id).or_default().insert(token.seq);
        self.by_creator.entry(token.created_by_id).or_default().insert(token.seq);
        self.tokens.insert(id, token);
    }

    fn remove(&mut self, id: &str) {
        if let Some(token) = self.tokens.remove(id) {
            self.order.remove(&token.seq);
            self.expiries.remove(&(token.expiry_key(), token.seq));
            if let Some(seqs) = self.by_owner.get_mut(&token.owner_id) {
                seqs.remove(&token.seq);
            }
            if let Some(seqs) = self.by_creator.get_mut(&token.created_by_id) {
                seqs.remove(&token.seq);
            }
        }
    }

    /// Drops the expired tokens: they can never be valid again (the workspace's clock only moves forward,
    /// unless the system's is set back). Then every
    /// token an owner holds is valid, and the quota check is a count. Each token is dropped once: creating
    /// n tokens costs O(n log n) in all.
    fn forget_expired(&mut self, now_ms: i64) {
        while let Some(&(expiry, seq)) = self.expiries.first() {
            if expiry > now_ms {
                break;
            }
            match self.order.get(&seq).cloned() {
                Some(id) => self.remove(&id),
                None => {
                    self.expiries.pop_first();
                }
            }
        }
    }

    /// The valid tokens among `seqs` (creation orders), oldest first.
    fn valid_in<'a>(&'a self, seqs: impl Iterator<Item = &'a u64>) -> impl Iterator<Item = (&'a String, &'a StoredToken)> {
        let now = self.now_ms();
        seqs.filter_map(|seq| self.order.get(seq))
            .filter_map(|id| self.tokens.get(id).map(|t| (id, t)))
            .filter(move |(_, t)| t.valid_at(now))
    }

    /// A valid token by id.
    fn valid(&self, id: &str) -> Option<&StoredToken> {
        let now = self.now_ms();
        self.tokens.get(id).filter(|t| t.valid_at(now))
    }

    pub(crate) fn list(&self, caller: &Principal) -> Answer {
        let infos: Vec<PublicTokenInfo> = match self.by_owner.get(&caller.id) {
            Some(seqs) => self.valid_in(seqs.iter()).map(|(id, t)| t.info(id)).collect(),
            None => Vec::new(),
        };
        if infos.is_empty() { (200, json!({})) } else { (200, json!({ "token_infos": infos })) }
    }

    pub(crate) fn update(&mut self, caller: &Principal, token_id: &str, body: &Value) -> Answer {
        let (paths, comment, scopes) = match masked_update(body, |f| UPDATABLE.contains(&f), FIELDS) {
            Ok(update) => update,
            Err(answer) => return answer,
        };
        if self.valid(token_id).is_none_or(|t| t.owner_id != caller.id) {
            return error(404, "NOT_FOUND", format!("Token {token_id} does not exist."));
        }
        let stored = self.tokens.get_mut(token_id).expect("checked above");
        apply(stored, &paths, comment, scopes);
        (200, json!({}))
    }

    pub(crate) fn delete(&mut self, caller: &Principal, body: &Value) -> Answer {
        let Some(token_id) = body.get("token_id").and_then(Value::as_str) else {
            return error(400, "INVALID_PARAMETER_VALUE", "token_id is required.");
        };
        if self.valid(token_id).is_some_and(|t| t.owner_id == caller.id) {
            self.remove(token_id);
            (200, json!({}))
        } else {
            error(404, "RESOURCE_DOES_NOT_EXIST", format!("Token {token_id} does not exist."))
        }
    }

    /// Every valid token of every principal, oldest first, as the Tokens API shows them.
    pub(crate) fn all_valid(&self) -> Vec<PublicTokenInfo> {
        self.valid_in(self.order.keys()).map(|(id, t)| t.info(id)).collect()
    }

    /// Every valid token of every principal, oldest first, as the workspace keeps them.
    pub(crate) fn all_records(&self) -> Vec<TokenRecord> {
        self.valid_in(self.order.keys()).map(|(id, t)| t.record(id)).collect()
    }

    /// The id of the principal named `name`.
    pub(crate) fn principal_id(&self, name: &str) -> Option<i64> {
        self.directory.get(name).map(|p| p.id)
    }
}

/// The paths an update names, and the comment and scopes it sets.
type MaskedUpdate<'a> = (Vec<&'a str>, Option<String>, Option<Vec<String>>);

/// The masked paths of an update (`{token, update_mask}`) and the values it sets, validated against the
/// fields of the object updated: `updatable` ones may be named, the rest of `fields` are output only.
fn masked_update<'a>(body: &'a Value, updatable: impl Fn(&str) -> bool, fields: &[&'static str]) -> Result<MaskedUpdate<'a>, Answer> {
    let Some(mask) = body.get("update_mask").and_then(Value::as_str) else {
        return Err(error(400, "INVALID_PARAMETER_VALUE", "update_mask is required."));
    };
    let token = match body.get("token") {
        Some(Value::Object(t)) => t,
        _ => return Err(error(400, "INVALID_PARAMETER_VALUE", "token is required and must be an object.")),
    };
    let paths: Vec<&str> = if mask == "*" { fields.iter().copied().filter(|f| updatable(f)).collect() } else { mask.split(',').collect() };
    for path in &paths {
        if path.is_empty() || path.contains(char::is_whitespace) {
            return Err(error(
                400,
                "INVALID_PARAMETER_VALUE",
                format!("update_mask {mask:?} is malformed: paths are separated by commas, without spaces or empty segments."),
            ));
        }
        if fields.contains(path) && !updatable(path) {
            return Err(error(400, "INVALID_PARAMETER_VALUE", format!("Field {path} of a token cannot be updated.")));
        }
        if !updatable(path) {
            return Err(error(400, "INVALID_PARAMETER_VALUE", format!("update_mask names an unknown field {path:?}.")));
        }
        if mask != "*" && !token.contains_key(*path) {
            return Err(error(
                400,
                "INVALID_PARAMETER_VALUE",
                format!("update_mask names {path} but the token in the body does not set it."),
            ));
        }
    }
    let (comment, scopes) = comment_and_scopes(token)?;
    Ok((paths, comment, scopes))
}

/// Sets the masked fields (`comment`, `scopes`: the only updatable ones) of a token.
fn apply(stored: &mut StoredToken, paths: &[&str], comment: Option<String>, scopes: Option<Vec<String>>) {
    for path in paths {
        match *path {
            "comment" => stored.comment = comment.clone(),
            "scopes" => stored.scopes = scopes.clone(),
            other => unreachable!("{other} is not updatable: masked_update refuses it"),
        }
    }
}

/// The id of a token: the SHA-256 of its value, in hex.
fn token_id_of(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
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
        let users = vec![("alice".to_owned(), SecretString::new("dapi-alice-credential"), false)];
        let state = State::new(users, &[], 1, DEFAULT_LIFETIME);
        let debug = format!("{state:?}");
        assert!(debug.contains("alice") && !debug.contains("dapi-alice-credential"), "{debug}");
    }

    #[test]
    fn expired_tokens_are_forgotten_on_the_next_create() {
        let users = vec![("alice".to_owned(), SecretString::new("a"), false), ("bob".to_owned(), SecretString::new("b"), false)];
        let mut state = State::new(users, &[], 2, DEFAULT_LIFETIME);
        let (alice, bob) = (state.authenticate(Some("Bearer a")).unwrap(), state.authenticate(Some("Bearer b")).unwrap());
        let (short, _) = state.mint(&alice, &alice, &json!({"lifetime_seconds": 1})).unwrap();
        let (bobs, _) = state.mint(&bob, &bob, &json!({"lifetime_seconds": 1})).unwrap();
        state.mint(&alice, &alice, &json!({})).unwrap();
        state.advance(Duration::from_secs(2));
        assert_eq!(state.tokens.len(), 3, "kept until the next create");
        state.mint(&alice, &alice, &json!({})).expect("the expired token does not count against the quota");
        assert!(!state.tokens.contains_key(&short) && !state.tokens.contains_key(&bobs) && state.tokens.len() == 2);
        let indexes = (state.order.len(), state.expiries.len(), state.by_owner[&alice.id].len(), state.by_creator[&alice.id].len());
        assert_eq!(indexes, (2, 2, 2, 2));
        assert!(state.by_owner[&bob.id].is_empty() && state.by_creator[&bob.id].is_empty());
    }
}
