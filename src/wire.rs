//! Wire codecs the generated types plug into, for what Databricks really sends.
//!
//! The code generator swaps spec schemas for the types here (see `codegen/src/lib.rs`):
//! - [`Int64`] for every `int64`: the service sends a JSON number **or** a decimal string.
//! - every enum schema ([`AutoscopeState`], [`WorkspaceStatus`]): the service adds values over time; an
//!   unknown one is kept, not an error. These are generated from the specs' values (`codegen`'s `open_enums`).
//! - [`ScopeList`]: a list whose emptiness is meaningful, so that an update can send `"scopes": []`.
//! - [`ReportedScopes`]: output-only lists that are usually absent, held in one pointer so that a big list
//!   of tokens stays compact.

use std::fmt;
use std::ops::Deref;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 64-bit integer that decodes from a JSON number or a decimal string and encodes as a number.
///
/// ```
/// # fn main() -> Result<(), serde_json::Error> {
/// use databricks_tokens::types::Int64;
/// let a: Int64 = serde_json::from_str("1700000000000")?;
/// let b: Int64 = serde_json::from_str("\"1700000000000\"")?;
/// assert_eq!(a, b);
/// assert_eq!(i64::from(a), 1_700_000_000_000);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Int64(pub i64);

impl Int64 {
    /// The value as `i64`.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl From<i64> for Int64 {
    fn from(v: i64) -> Self {
        Self(v)
    }
}

impl From<Int64> for i64 {
    fn from(v: Int64) -> Self {
        v.0
    }
}

impl fmt::Display for Int64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Int64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Int64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Int64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 64-bit integer as a JSON number or a decimal string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int64, E> {
                Ok(Int64(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int64, E> {
                i64::try_from(v).map(Int64).map_err(|_| E::custom(format!("{v} does not fit in a 64-bit signed integer")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Int64, E> {
                v.trim().parse().map(Int64).map_err(|_| E::custom(format!("{v:?} is not a decimal 64-bit integer")))
            }
        }
        d.deserialize_any(V)
    }
}

// The open enums (`AutoscopeState`, `WorkspaceStatus`, ...): generated from the specs' enum schemas by
// `codegen/src/open_enums.rs` (build.rs), one type per schema name whatever the number of specs using it.
include!(concat!(env!("OUT_DIR"), "/open_enums.rs"));

/// A list of API scopes whose emptiness is meaningful.
///
/// ```
/// # fn main() -> Result<(), serde_json::Error> {
/// use databricks_tokens::types::ScopeList;
/// let none = ScopeList::default();
/// assert_eq!(serde_json::to_string(&none)?, "[]");
/// let some: ScopeList = ["sql", "unity-catalog"].into_iter().collect();
/// assert_eq!(some.len(), 2);
/// # Ok(()) }
/// ```
///
/// Generated structs hold it as `Option<ScopeList>`: `None` leaves the field out of the body,
/// `Some(ScopeList::default())` sends `[]` (how an update clears a token's scopes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScopeList(pub Vec<String>);

impl Deref for ScopeList {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl From<Vec<String>> for ScopeList {
    fn from(v: Vec<String>) -> Self {
        Self(v)
    }
}

impl<S: Into<String>> FromIterator<S> for ScopeList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self(iter.into_iter().map(Into::into).collect())
    }
}

/// Scopes the service reports about a token (`inferred_scopes`, `backfill_scopes`): output only and
/// usually absent.
///
/// ```
/// # fn main() -> Result<(), serde_json::Error> {
/// use databricks_tokens::types::{PublicTokenInfo, ReportedScopes};
/// let info: PublicTokenInfo = serde_json::from_str(r#"{"token_id": "t1", "inferred_scopes": ["sql"]}"#)?;
/// assert_eq!(info.inferred_scopes.as_deref(), Some(&["sql".to_owned()][..]));
/// assert!(info.backfill_scopes.is_none());
/// let scopes: ReportedScopes = ["sql", "unity-catalog"].into_iter().collect();
/// assert_eq!(scopes.len(), 2);
/// assert_eq!(serde_json::to_string(&scopes)?, r#"["sql","unity-catalog"]"#);
/// # Ok(()) }
/// ```
///
/// It reads like a slice (`Deref<Target = [String]>`). Generated structs hold it as
/// `Option<ReportedScopes>`, one pointer where a `Vec` takes three: a token carries two of these and a
/// list carries them for every token, so a 100,000-token list is 3.2 MB smaller for it.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
#[allow(clippy::box_collection, reason = "the box is the point: one thin pointer, so that `Option<Self>` is one word")]
pub struct ReportedScopes(Box<Vec<String>>);

impl ReportedScopes {
    /// The scopes as a vector.
    pub fn into_vec(self) -> Vec<String> {
        *self.0
    }
}

impl Deref for ReportedScopes {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Debug for ReportedScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Vec<String>> for ReportedScopes {
    fn from(scopes: Vec<String>) -> Self {
        Self(Box::new(scopes))
    }
}

impl<S: Into<String>> FromIterator<S> for ReportedScopes {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        iter.into_iter().map(Into::into).collect::<Vec<String>>().into()
    }
}

impl<'a> IntoIterator for &'a ReportedScopes {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Serialize for ReportedScopes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ReportedScopes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<String>::deserialize(d).map(Self::from)
    }
}

/// JSON Schemas of the wire codecs (feature `schemars`). Each describes what the codec *sends*; the
/// documented exceptions to the spec are what it *accepts* besides: `Int64` also reads a decimal string.
/// (The open enums, generated, describe themselves as open strings: they keep values they do not know.)
#[cfg(feature = "schemars")]
mod json_schema {
    use schemars::JsonSchema;
    use schemars::r#gen::SchemaGenerator;
    use schemars::schema::{InstanceType, Schema, SchemaObject};

    fn string(format: Option<&str>) -> Schema {
        SchemaObject { instance_type: Some(InstanceType::String.into()), format: format.map(str::to_owned), ..Default::default() }.into()
    }

    impl JsonSchema for super::Int64 {
        fn schema_name() -> String {
            "Int64".to_owned()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            SchemaObject { instance_type: Some(InstanceType::Integer.into()), format: Some("int64".to_owned()), ..Default::default() }
                .into()
        }
    }

    impl JsonSchema for super::ScopeList {
        fn schema_name() -> String {
            "ScopeList".to_owned()
        }
        fn json_schema(generator: &mut SchemaGenerator) -> Schema {
            <Vec<String>>::json_schema(generator)
        }
    }

    impl JsonSchema for super::ReportedScopes {
        fn schema_name() -> String {
            "ReportedScopes".to_owned()
        }
        fn json_schema(generator: &mut SchemaGenerator) -> Schema {
            <Vec<String>>::json_schema(generator)
        }
    }

    impl JsonSchema for crate::secret::SecretString {
        fn schema_name() -> String {
            "TokenValue".to_owned()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            string(Some("password"))
        }
    }
}
