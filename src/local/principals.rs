//! Who is in a local workspace: users, admins and service principals with stable numeric ids, their
//! groups, and the access control list of tokens (`/authorization/tokens`), which says who may create and
//! use them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::answer::{Answer, invalid};

/// The group every principal belongs to.
pub(crate) const USERS_GROUP: &str = "users";
/// The group of the workspace admins: always `CAN_MANAGE` on tokens.
pub(crate) const ADMINS_GROUP: &str = "admins";
/// The object whose access control list says who may use tokens, as the service names it.
pub(crate) const TOKENS_OBJECT: &str = "/authorization/tokens";
/// What the service answers `CAN_MANAGE` for anyone but an admin.
const ONLY_ADMINS_MANAGE: &str = "Only admins can be given CAN_MANAGE permission on tokens";

/// A permission level on tokens. Ordered: a principal granted both holds the higher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// `CAN_USE`: may create and use tokens.
    CanUse,
    /// `CAN_MANAGE`: may also change who may; only admins hold it.
    CanManage,
}

impl Level {
    const ALL: [Level; 2] = [Level::CanUse, Level::CanManage];

    fn name(self) -> &'static str {
        match self {
            Level::CanUse => "CAN_USE",
            Level::CanManage => "CAN_MANAGE",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Level::CanUse => "Can create and use tokens",
            Level::CanManage => "Can use and modify permissions on tokens",
        }
    }

    fn parse(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == name)
    }
}

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

/// Every principal, by name; ids derived from names so they are the same on every run. And the groups
/// besides `users` and `admins`, with their members' names.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    principals: HashMap<String, Principal>,
    ids: HashSet<i64>,
    groups: HashMap<String, BTreeSet<String>>,
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

    /// Adds `members` (names) to the group `name`. The members of `admins` become admins (a name not
    /// registered yet becomes a user); every principal is in `users` already.
    pub(crate) fn add_group(&mut self, name: &str, members: &[String]) {
        match name {
            ADMINS_GROUP => {
                for member in members {
                    self.register(member, Kind::User, true);
                }
            }
            USERS_GROUP => {}
            _ => self.groups.entry(name.to_owned()).or_default().extend(members.iter().cloned()),
        }
    }

    /// Whether a group of this name exists: `users`, `admins`, or one added with [`Directory::add_group`].
    fn has_group(&self, name: &str) -> bool {
        name == USERS_GROUP || name == ADMINS_GROUP || self.groups.contains_key(name)
    }

    /// Whether `principal` is a member of the group `name`.
    fn in_group(&self, principal: &Principal, name: &str) -> bool {
        match name {
            USERS_GROUP => true,
            ADMINS_GROUP => principal.admin,
            _ => self.groups.get(name).is_some_and(|members| members.contains(&principal.name)),
        }
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

/// The access control list of tokens: who holds which level (the admins' `CAN_MANAGE` is implicit).
#[derive(Debug)]
pub(crate) struct Acl {
    entries: BTreeMap<Grantee, Level>,
}

impl Default for Acl {
    /// As a new workspace: every principal may use tokens, through the group `users`.
    fn default() -> Self {
        Self { entries: BTreeMap::from([(Grantee::Group(USERS_GROUP.to_owned()), Level::CanUse)]) }
    }
}

impl Acl {
    /// Whether `principal` may create and use tokens: admins always; others through an entry naming them
    /// or a group they are in (any level: `CAN_MANAGE` includes `CAN_USE`).
    pub(crate) fn may_use_tokens(&self, directory: &Directory, principal: &Principal) -> bool {
        principal.admin
            || self.entries.keys().any(|g| match g {
                Grantee::Group(n) => directory.in_group(principal, n),
                Grantee::User(n) => principal.kind == Kind::User && *n == principal.name,
                Grantee::ServicePrincipal(n) => principal.kind == Kind::ServicePrincipal && *n == principal.name,
            })
    }

    /// `GET /api/2.0/permissions/authorization/tokens`.
    pub(crate) fn permissions(&self) -> Answer {
        let held = |level: Level| json!([{"permission_level": level.name(), "inherited": false}]);
        let mut list = vec![json!({"group_name": ADMINS_GROUP, "all_permissions": held(Level::CanManage)})];
        list.extend(self.entries.iter().map(|(g, level)| match g {
            Grantee::Group(n) => json!({"group_name": n, "all_permissions": held(*level)}),
            Grantee::User(n) => json!({"user_name": n, "display_name": n, "all_permissions": held(*level)}),
            Grantee::ServicePrincipal(n) => {
                json!({"service_principal_name": n, "display_name": n, "all_permissions": held(*level)})
            }
        }));
        (200, json!({"object_id": TOKENS_OBJECT, "object_type": "tokens", "access_control_list": list}))
    }

    /// `PUT` (`replace`) or `PATCH` of the list: every entry is validated before any is applied. A `PATCH`
    /// must carry a list (an empty body changes nothing and is refused); a `PUT` without one empties it.
    pub(crate) fn apply(&mut self, directory: &Directory, body: &Value, replace: bool) -> Answer {
        let entries = match body.get("access_control_list") {
            None | Some(Value::Null) if !replace => {
                return invalid("access_control_list is required: a PATCH adds the entries it lists.");
            }
            None | Some(Value::Null) => &Vec::new(),
            Some(Value::Array(entries)) => entries,
            Some(other) => return invalid(format!("access_control_list must be a list, got {other}.")),
        };
        let mut granted = BTreeMap::new();
        for entry in entries {
            match grant(directory, entry) {
                // The admins' CAN_MANAGE is always held: granting it again (as Terraform does) changes nothing.
                Ok((Grantee::Group(n), _)) if n == ADMINS_GROUP => {}
                Ok((grantee, level)) => {
                    let held = granted.entry(grantee).or_insert(level);
                    *held = (*held).max(level);
                }
                Err(answer) => return answer,
            };
        }
        if replace {
            self.entries = granted;
        } else {
            for (grantee, level) in granted {
                let held = self.entries.entry(grantee).or_insert(level);
                *held = (*held).max(level);
            }
        }
        self.permissions()
    }
}

/// The principal and level an access control entry grants, or why it cannot.
fn grant(directory: &Directory, entry: &Value) -> Result<(Grantee, Level), Answer> {
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
    let level = match entry.get("permission_level") {
        Some(Value::String(level)) => Level::parse(level).ok_or_else(|| {
            invalid(format!("Permission level {level} is not supported on tokens: the levels are CAN_USE and CAN_MANAGE."))
        })?,
        None | Some(Value::Null) => return Err(invalid("permission_level is required: CAN_USE or CAN_MANAGE.")),
        Some(other) => return Err(invalid(format!("permission_level must be a string, got {other}."))),
    };
    // Whether the grantee exists, and whether it is an admin (the only ones CAN_MANAGE may go to).
    let admin = match &grantee {
        Grantee::Group(n) => directory.has_group(n).then(|| n == ADMINS_GROUP),
        Grantee::User(n) => directory.get(n).filter(|p| p.kind == Kind::User).map(|p| p.admin),
        Grantee::ServicePrincipal(n) => directory.get(n).filter(|p| p.kind == Kind::ServicePrincipal).map(|p| p.admin),
    };
    let Some(admin) = admin else {
        return Err(invalid(format!("Principal: {} does not exist.", grantee.describe())));
    };
    match level {
        Level::CanManage if !admin => Err(invalid(ONLY_ADMINS_MANAGE)),
        Level::CanUse if matches!(&grantee, Grantee::Group(n) if n == ADMINS_GROUP) => {
            Err(invalid("The admins group always has CAN_MANAGE on tokens: its permissions cannot be changed."))
        }
        _ => Ok((grantee, level)),
    }
}

/// `GET /api/2.0/permissions/authorization/tokens/permissionLevels`.
pub(crate) fn permission_levels() -> Answer {
    let levels: Vec<Value> = Level::ALL.iter().map(|l| json!({"permission_level": l.name(), "description": l.description()})).collect();
    (200, json!({ "permission_levels": levels }))
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
