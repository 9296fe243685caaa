//! Who is in a local workspace: users, admins and service principals with stable numeric ids, and the
//! access control list of tokens (`authorization/tokens`), which says who may create and use them.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::state::{Answer, invalid};

/// The group every principal belongs to.
pub(crate) const USERS_GROUP: &str = "users";
/// The group of the workspace admins: always `CAN_MANAGE` on tokens.
pub(crate) const ADMINS_GROUP: &str = "admins";
/// The only permission level that can be granted on tokens.
pub(crate) const CAN_USE: &str = "CAN_USE";
/// The level the admins hold, shown but never grantable.
const CAN_MANAGE: &str = "CAN_MANAGE";

/// What kind of principal an identity is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A user: configured with a credential, or named by a federated JWT's `sub`.
    User,
    /// A service principal: its name is its application (client) id.
    ServicePrincipal,
}

/// A user or service principal of the workspace.
#[derive(Clone, Debug)]
pub(crate) struct Principal {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) admin: bool,
}

/// Every principal, by name; ids derived from names so they are the same on every run.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    principals: HashMap<String, Principal>,
    ids: HashSet<i64>,
}

impl Directory {
    /// The principal named `name`, registered as `kind` if it is new; `admin` makes it an admin (a
    /// principal never stops being one). A name is one principal whatever it was registered as first.
    pub(crate) fn register(&mut self, name: &str, kind: Kind, admin: bool) -> &Principal {
        if !self.principals.contains_key(name) {
            let mut id = stable_id(name);
            while !self.ids.insert(id) {
                id = if id >= MAX_ID { MIN_ID } else { id + 1 };
            }
            self.principals.insert(name.to_owned(), Principal { id, name: name.to_owned(), kind, admin: false });
        }
        let principal = self.principals.get_mut(name).expect("registered above");
        principal.admin |= admin;
        principal
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Principal> {
        self.principals.get(name)
    }
}

const MIN_ID: i64 = 1_000_000_000_000_000;
/// Below 2^53, so that a client reading JSON numbers as doubles keeps every id exact.
const MAX_ID: i64 = 8_999_999_999_999_999;

/// A 16-digit id derived from the name (SHA-256), as Databricks' user ids look.
fn stable_id(name: &str) -> i64 {
    let digest = Sha256::digest(format!("local-workspace principal {name}").as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    MIN_ID + (n % (MAX_ID - MIN_ID + 1) as u64) as i64
}

/// Whom an entry of the access control list names. Ordered: groups, then users, then service principals.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Grantee {
    Group(String),
    User(String),
    ServicePrincipal(String),
}

impl Grantee {
    fn describe(&self) -> String {
        match self {
            Grantee::Group(n) => format!("GroupName({n})"),
            Grantee::User(n) => format!("UserName({n})"),
            Grantee::ServicePrincipal(n) => format!("ServicePrincipalName({n})"),
        }
    }
}

/// The access control list of tokens: who holds `CAN_USE` (the admins' `CAN_MANAGE` is implicit).
#[derive(Debug)]
pub(crate) struct Acl {
    entries: BTreeSet<Grantee>,
}

impl Default for Acl {
    /// As a new workspace: every principal may use tokens, through the group `users`.
    fn default() -> Self {
        Self { entries: BTreeSet::from([Grantee::Group(USERS_GROUP.to_owned())]) }
    }
}

impl Acl {
    /// Whether `principal` may create tokens: admins always; others through an entry naming them or the
    /// group `users`.
    pub(crate) fn may_use_tokens(&self, principal: &Principal) -> bool {
        principal.admin
            || self.entries.iter().any(|g| match g {
                Grantee::Group(n) => n == USERS_GROUP,
                Grantee::User(n) => principal.kind == Kind::User && *n == principal.name,
                Grantee::ServicePrincipal(n) => principal.kind == Kind::ServicePrincipal && *n == principal.name,
            })
    }

    /// `GET /api/2.0/permissions/authorization/tokens`.
    pub(crate) fn permissions(&self) -> Answer {
        let held = |level: &str| json!([{"permission_level": level, "inherited": false}]);
        let mut list = vec![json!({"group_name": ADMINS_GROUP, "all_permissions": held(CAN_MANAGE)})];
        list.extend(self.entries.iter().map(|g| match g {
            Grantee::Group(n) => json!({"group_name": n, "all_permissions": held(CAN_USE)}),
            Grantee::User(n) => json!({"user_name": n, "display_name": n, "all_permissions": held(CAN_USE)}),
            Grantee::ServicePrincipal(n) => {
                json!({"service_principal_name": n, "display_name": n, "all_permissions": held(CAN_USE)})
            }
        }));
        (200, json!({"object_id": "authorization/tokens", "object_type": "tokens", "access_control_list": list}))
    }

    /// `PUT` (`replace`) or `PATCH` of the list: every entry is validated before any is applied.
    pub(crate) fn apply(&mut self, directory: &Directory, body: &Value, replace: bool) -> Answer {
        let entries = match body.get("access_control_list") {
            None | Some(Value::Null) => &Vec::new(),
            Some(Value::Array(entries)) => entries,
            Some(other) => return invalid(format!("access_control_list must be a list, got {other}.")),
        };
        let mut granted = BTreeSet::new();
        for entry in entries {
            match grantee(directory, entry) {
                Ok(g) => granted.insert(g),
                Err(answer) => return answer,
            };
        }
        if replace {
            self.entries = granted;
        } else {
            self.entries.extend(granted);
        }
        self.permissions()
    }
}

/// The principal an access control entry grants `CAN_USE` to, or why it cannot.
fn grantee(directory: &Directory, entry: &Value) -> Result<Grantee, Answer> {
    let Some(entry) = entry.as_object() else {
        return Err(invalid(format!("An access control entry must be an object, got {entry}.")));
    };
    let name = |key: &str| match entry.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(other) => Err(invalid(format!("{key} must be a non-empty string, got {other}."))),
    };
    let names = [
        name("user_name")?.map(Grantee::User),
        name("group_name")?.map(Grantee::Group),
        name("service_principal_name")?.map(Grantee::ServicePrincipal),
    ];
    let mut named = names.into_iter().flatten();
    let (Some(grantee), None) = (named.next(), named.next()) else {
        return Err(invalid("An access control entry must name exactly one principal: user_name, group_name or service_principal_name."));
    };
    match entry.get("permission_level") {
        Some(Value::String(level)) if level == CAN_USE => {}
        None | Some(Value::Null) => return Err(invalid("permission_level is required: CAN_USE.")),
        Some(Value::String(level)) => {
            return Err(invalid(format!("Permission level {level} is not supported on tokens: the only level is CAN_USE.")));
        }
        Some(other) => return Err(invalid(format!("permission_level must be a string, got {other}."))),
    }
    let exists = match &grantee {
        Grantee::Group(n) if n == ADMINS_GROUP => {
            return Err(invalid("The admins group always has CAN_MANAGE on tokens: its permissions cannot be changed."));
        }
        Grantee::Group(n) => n == USERS_GROUP,
        Grantee::User(n) => directory.get(n).is_some_and(|p| p.kind == Kind::User),
        Grantee::ServicePrincipal(n) => directory.get(n).is_some_and(|p| p.kind == Kind::ServicePrincipal),
    };
    if !exists {
        return Err(invalid(format!("Principal: {} does not exist.", grantee.describe())));
    }
    Ok(grantee)
}

/// `GET /api/2.0/permissions/authorization/tokens/permissionLevels`.
pub(crate) fn permission_levels() -> Answer {
    (200, json!({"permission_levels": [{"permission_level": CAN_USE, "description": "Can create and use tokens"}]}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_distinct_and_exact_as_doubles() {
        let mut d = Directory::default();
        let a = d.register("alice", Kind::User, false).id;
        assert_eq!(a, stable_id("alice"));
        assert_eq!(d.register("alice", Kind::ServicePrincipal, true).id, a, "one name, one principal");
        assert!(d.get("alice").is_some_and(|p| p.admin && p.kind == Kind::User));
        assert_ne!(d.register("bob", Kind::User, false).id, a);
        assert!((MIN_ID..=MAX_ID).contains(&a) && MAX_ID < 1 << 53);
    }

    #[test]
    fn a_colliding_id_moves_to_the_next_free_one() {
        let mut d = Directory::default();
        d.ids.insert(stable_id("carol"));
        assert_eq!(d.register("carol", Kind::User, false).id, stable_id("carol") + 1);
    }
}
