//! Field masks (`update_mask`): validated paths, typed per resource, derived from a diff.
//!
//! The rules, as the Databricks API documents update masks: one string, paths separated by commas, no spaces, no empty segments;
//! paths are relative to the resource (`comment`, not `token.comment`); `.` enters a sub-field; a path may
//! not address an element of a list or map; `*` (replace everything) only through
//! [`FieldMask::replace_all`].
//!
//! A [`TypedFieldMask`] also checks every path against the resource's fields **as the spec describes
//! them** ([`Resource`] is implemented from tables generated from the spec, not from a hand-kept list): the
//! field must exist, be writable (not `readOnly`), and be an object to be entered by a nested path.
//! The update builder (`w.tokens().update(id)`) pairs a resource with its mask and guarantees that every
//! masked field is present in the body — a masked field that is empty is sent empty (`"scopes": []`),
//! never left out; its setters build the mask, and [`TypedFieldMask`] is its typed escape hatch.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A validated field mask.
///
/// ```
/// # fn main() -> databricks_tokens::Result<()> {
/// use databricks_tokens::field_mask::FieldMask;
/// let mask: FieldMask = "comment,scopes".parse()?;
/// assert_eq!(mask.paths(), ["comment", "scopes"]);
/// assert_eq!(mask.to_string(), "comment,scopes");
/// assert!("comment, scopes".parse::<FieldMask>().is_err());
/// assert!("*".parse::<FieldMask>().is_err()); // use FieldMask::replace_all()
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldMask {
    paths: Vec<String>,
    replace_all: bool,
}

impl FieldMask {
    /// A mask of these paths, each validated.
    pub fn new<S: AsRef<str>>(paths: impl IntoIterator<Item = S>) -> Result<Self> {
        let mut out = Vec::new();
        for path in paths {
            let path = path.as_ref();
            validate_path(path)?;
            if !out.iter().any(|p| p == path) {
                out.push(path.to_owned());
            }
        }
        if out.is_empty() {
            return Err(Error::invalid_request("a field mask needs at least one path: an update with no mask is refused"));
        }
        Ok(Self { paths: out, replace_all: false })
    }

    /// `*`: replace the whole resource. Prefer naming the fields: new fields added to the API later would
    /// be overwritten too.
    pub fn replace_all() -> Self {
        Self { paths: vec!["*".to_owned()], replace_all: true }
    }

    /// The paths, in order.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// Whether this is `*`.
    pub fn is_replace_all(&self) -> bool {
        self.replace_all
    }

    /// Whether the mask names `path` (or replaces everything).
    pub fn contains(&self, path: &str) -> bool {
        self.replace_all || self.paths.iter().any(|p| p == path)
    }
}

fn validate_path(path: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid_request(format!("invalid field mask path {path:?}: {why}")));
    if path.is_empty() {
        return bad("empty path (two commas in a row, or a trailing comma?)");
    }
    if path.contains(char::is_whitespace) {
        return bad("paths contain no spaces (write \"comment,scopes\", not \"comment, scopes\")");
    }
    if path == "*" || path.contains('*') {
        return bad("`*` replaces everything: use FieldMask::replace_all()");
    }
    if path.contains(['[', ']']) {
        return bad("a path may not address an element of a list or map, only the whole field");
    }
    for segment in path.split('.') {
        if segment.is_empty() {
            return bad("empty segment around `.`");
        }
        if segment.chars().all(|c| c.is_ascii_digit()) {
            return bad("a path may not address an element of a list or map, only the whole field");
        }
        let mut chars = segment.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return bad("a segment is a JSON field name: letters, digits and `_`, not starting with a digit");
        }
    }
    Ok(())
}

impl FromStr for FieldMask {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.is_empty() {
            return Err(Error::invalid_request("a field mask needs at least one path: an update with no mask is refused"));
        }
        Self::new(s.split(','))
    }
}

impl fmt::Display for FieldMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.paths.join(","))
    }
}

impl Serialize for FieldMask {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FieldMask {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "*" {
            return Ok(Self::replace_all());
        }
        s.parse().map_err(|e: Error| serde::de::Error::custom(e.message()))
    }
}

/// A resource whose fields a mask may name, as the spec describes it.
pub trait Resource: sealed::Sealed {
    /// The schema's name, for messages.
    const NAME: &'static str;
    /// Every field.
    const FIELDS: &'static [&'static str];
    /// The fields a client may write (not `readOnly`).
    const WRITABLE: &'static [&'static str];
    /// The fields that are objects (a nested path may enter them).
    const OBJECTS: &'static [&'static str];
    /// The fields the spec marks required (always sent).
    const REQUIRED: &'static [&'static str];
}

/// Seals [`Resource`]: the generator implements it for the resources of the specs (the schemas that an
/// update's body holds), from their field tables.
pub(crate) mod sealed {
    /// Implemented by the generated resource types only.
    pub trait Sealed {}
}

/// A field mask checked against the fields of `R`.
///
/// ```
/// # fn main() -> databricks_tokens::Result<()> {
/// use databricks_tokens::field_mask::TypedFieldMask;
/// use databricks_tokens::types::PublicTokenInfo;
/// let ok = TypedFieldMask::<PublicTokenInfo>::parse("comment,scopes")?;
/// assert!(TypedFieldMask::<PublicTokenInfo>::parse("expiry_time").is_err()); // output only
/// assert!(TypedFieldMask::<PublicTokenInfo>::parse("owner").is_err()); // no such field
/// # Ok(()) }
/// ```
pub struct TypedFieldMask<R> {
    mask: FieldMask,
    _resource: PhantomData<fn() -> R>,
}

impl<R> Clone for TypedFieldMask<R> {
    fn clone(&self) -> Self {
        Self { mask: self.mask.clone(), _resource: PhantomData }
    }
}

impl<R> PartialEq for TypedFieldMask<R> {
    fn eq(&self, other: &Self) -> bool {
        self.mask == other.mask
    }
}

impl<R: Resource> fmt::Debug for TypedFieldMask<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TypedFieldMask<{}>({})", R::NAME, self.mask)
    }
}

impl<R> fmt::Display for TypedFieldMask<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.mask.fmt(f)
    }
}

impl<R: Resource> TypedFieldMask<R> {
    /// Checks every path of `mask` against `R`.
    pub fn new(mask: FieldMask) -> Result<Self> {
        if !mask.is_replace_all() {
            for path in mask.paths() {
                let (field, rest) = path.split_once('.').map_or((path.as_str(), None), |(f, r)| (f, Some(r)));
                if !R::FIELDS.contains(&field) {
                    return Err(Error::invalid_request(format!("{} has no field {field:?} (fields: {})", R::NAME, R::FIELDS.join(", "))));
                }
                if !R::WRITABLE.contains(&field) {
                    return Err(Error::invalid_request(format!(
                        "{}.{field} is output only and cannot be updated (updatable: {})",
                        R::NAME,
                        R::WRITABLE.join(", ")
                    )));
                }
                if rest.is_some() && !R::OBJECTS.contains(&field) {
                    return Err(Error::invalid_request(format!("{path:?}: {}.{field} has no sub-fields; name the whole field", R::NAME)));
                }
            }
        }
        Ok(Self { mask, _resource: PhantomData })
    }

    /// Parses and checks a mask string.
    pub fn parse(s: &str) -> Result<Self> {
        Self::new(s.parse()?)
    }

    /// `*` for `R`.
    pub fn replace_all() -> Self {
        Self { mask: FieldMask::replace_all(), _resource: PhantomData }
    }

    /// The untyped mask.
    pub fn as_mask(&self) -> &FieldMask {
        &self.mask
    }

    /// The top-level fields the mask touches, in `R`'s field order.
    fn fields(&self) -> Vec<&'static str> {
        R::WRITABLE
            .iter()
            .copied()
            .filter(|f| self.mask.is_replace_all() || self.mask.paths().iter().any(|p| p == f || p.starts_with(&format!("{f}."))))
            .collect()
    }
}

/// The state of a generated update builder (its `x-rust-builder-extra`): the update its setters made, `None`
/// before the first one.
pub(crate) type PendingUpdate<R> = Option<Update<R>>;

/// A resource and the mask of its fields to write: what an update request sends. Every constructor
/// guarantees that each field the mask names is present in the resource's JSON.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Update<R: Resource> {
    resource: R,
    mask: TypedFieldMask<R>,
}

impl<R: Resource + Serialize + DeserializeOwned> Update<R> {
    /// Pairs a resource with a mask; refused when the mask names a field the resource leaves out.
    pub fn new(resource: R, mask: TypedFieldMask<R>) -> Result<Self> {
        let json = to_object(&resource)?;
        let missing = mask.fields().into_iter().find(|f| !json.contains_key(*f));
        if let Some(missing) = missing.filter(|_| !mask.as_mask().is_replace_all()) {
            return Err(Error::invalid_request(format!(
                "the mask names {missing} but the {} leaves it out: set it (to an empty value to clear it)",
                R::NAME
            )));
        }
        Ok(Self { resource, mask })
    }

    /// The update that turns `current` into `desired`: every writable field whose JSON differs, and only
    /// those are sent. A field `desired` leaves out but `current` has is cleared (sent as `""`, `[]`, `{}`...).
    pub fn from_diff(current: &R, desired: &R) -> Result<Self> {
        let (current, mut desired) = (to_object(current)?, to_object(desired)?);
        let mut paths = Vec::new();
        for field in R::WRITABLE {
            let (before, after) = (current.get(*field), desired.get(*field));
            if before == after {
                continue;
            }
            paths.push(*field);
            if let (None, Some(before)) = (after, before) {
                desired.insert((*field).to_owned(), empty_like(before));
            }
        }
        if paths.is_empty() {
            return Err(Error::invalid_request(format!("nothing to update: the desired {} has the same writable fields", R::NAME)));
        }
        // Send the masked fields only: the service ignores the rest, which would only add noise.
        desired.retain(|k, _| paths.contains(&k.as_str()) || R::REQUIRED.contains(&k.as_str()));
        let resource =
            serde_json::from_value(Value::Object(desired)).map_err(|e| Error::decode(format!("rebuilding the {}", R::NAME), e))?;
        Self::new(resource, TypedFieldMask::new(FieldMask::new(paths)?)?)
    }

    /// The resource to send.
    #[cfg(test)]
    pub fn resource(&self) -> &R {
        &self.resource
    }

    /// The mask to send.
    #[cfg(test)]
    pub fn mask(&self) -> &TypedFieldMask<R> {
        &self.mask
    }

    /// The resource and the mask string of an update a builder assembled, checked as [`Update::new`]
    /// checks them (the builder's setters may have changed either): what an update request sends.
    ///
    /// The resource sent carries the fields the mask names and nothing else: output-only fields the spec
    /// requires (a token's id, already in the path) are left empty, which a request body never sends
    /// ([`serialize_request_resource`]).
    pub(crate) fn into_checked(self, operation: &str) -> Result<(R, FieldMask)> {
        if self.is_empty() {
            return Err(Error::invalid_request(format!(
                "{operation}: nothing to update: set a field (comment, scopes, clear_scopes) or a mask"
            )));
        }
        let checked = Self::new(self.resource, self.mask)?;
        let fields = checked.mask.fields();
        let mut json = to_object(&checked.resource)?;
        json.retain(|k, _| fields.contains(&k.as_str()));
        for required in R::REQUIRED.iter().filter(|f| !R::WRITABLE.contains(f)) {
            json.insert((*required).to_owned(), Value::String(String::new()));
        }
        let resource = serde_json::from_value(Value::Object(json)).map_err(|e| Error::decode(format!("rebuilding the {}", R::NAME), e))?;
        Ok((resource, checked.mask.mask))
    }
}

impl<R: Resource> Update<R> {
    /// `resource` with an empty mask; fields are added with [`Update::add_path`].
    pub(crate) fn empty(resource: R) -> Self {
        Self { resource, mask: TypedFieldMask { mask: FieldMask { paths: Vec::new(), replace_all: false }, _resource: PhantomData } }
    }

    /// The resource, to set a field before naming it with [`Update::add_path`].
    pub(crate) fn resource_mut(&mut self) -> &mut R {
        &mut self.resource
    }

    /// Names a writable field of `R` in the mask (once, in `R`'s field order).
    pub(crate) fn add_path(&mut self, path: &str) {
        let paths = &mut self.mask.mask.paths;
        if !paths.iter().any(|p| p == path) {
            paths.push(path.to_owned());
            paths.sort_by_key(|p| R::WRITABLE.iter().position(|w| w == p));
        }
    }

    /// Replaces the mask.
    pub(crate) fn set_mask(&mut self, mask: TypedFieldMask<R>) {
        self.mask = mask;
    }

    /// Whether the mask names nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.mask.mask.paths.is_empty() && !self.mask.mask.is_replace_all()
    }
}

/// Serializes a resource inside a request body (the generator names the fields that hold one): as the
/// resource serializes itself, less the output-only fields the spec requires (a token's id, in the path)
/// when they are empty — as [`Update`] leaves them. The resource's own serialization keeps them, so that it
/// round-trips.
pub(crate) fn serialize_request_resource<R: Resource + Serialize, S: serde::Serializer>(
    resource: &R,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    let mut value = serde_json::to_value(resource).map_err(serde::ser::Error::custom)?;
    if let Value::Object(map) = &mut value {
        for field in R::REQUIRED.iter().filter(|f| !R::WRITABLE.contains(f)) {
            if map.get(*field).and_then(Value::as_str) == Some("") {
                map.remove(*field);
            }
        }
    }
    value.serialize(s)
}

fn to_object<R: Serialize>(r: &R) -> Result<Map<String, Value>> {
    match serde_json::to_value(r) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::invalid_request("a resource must serialize to a JSON object")),
        Err(e) => Err(Error::decode("serializing the resource", e)),
    }
}

fn empty_like(v: &Value) -> Value {
    match v {
        Value::String(_) => Value::String(String::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Object(_) => Value::Object(Map::new()),
        Value::Bool(_) => Value::Bool(false),
        Value::Number(_) => Value::from(0),
        Value::Null => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::PublicTokenInfo;

    #[test]
    fn paths_are_named_once_in_the_spec_order() {
        let mut update = Update::empty(PublicTokenInfo::new("t"));
        for path in ["scopes", "comment", "scopes"] {
            update.add_path(path);
        }
        assert_eq!(update.mask().to_string(), "comment,scopes");
        assert_eq!(<PublicTokenInfo as Resource>::WRITABLE, ["comment", "scopes"]);
    }

    #[test]
    fn a_diff_sends_the_changed_fields_and_clears_what_was_dropped() {
        let current = PublicTokenInfo::new("t").set_comment("ci").set_scopes(["sql"].into_iter().collect::<crate::types::ScopeList>());
        let mut desired = current.clone();
        desired.scopes = None;
        let update = Update::from_diff(&current, &desired).unwrap();
        assert_eq!(update.mask().to_string(), "scopes");
        let body = serde_json::to_value(update.resource()).unwrap();
        assert_eq!(body["scopes"], serde_json::json!([]), "cleared, not left out");
        assert!(Update::from_diff(&current, &current).is_err(), "nothing to update");
    }
}
