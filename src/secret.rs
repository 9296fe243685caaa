//! Secret values: token values, bearer credentials, client secrets, OAuth access tokens.
//!
//! [`SecretString`] prints as `***` in `Debug` and `Display`; the value comes out only through
//! [`SecretString::expose`], so that reaching for it is visible in review. It serializes to the real value
//! (it has to go on the wire) and never appears in this crate's logs or errors. Its memory is zeroed when it
//! is dropped (`zeroize`), so that a credential a client held does not linger in freed memory.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// A string that never prints its value.
///
/// ```
/// use databricks_tokens::SecretString;
/// let s = SecretString::new("dapi0123456789");
/// assert_eq!(format!("{s:?}"), "SecretString(***)");
/// assert_eq!(s.to_string(), "***");
/// assert_eq!(s.expose(), "dapi0123456789");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Call it only to hand the value to where it must go.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Zeroes the value's buffer (the bytes, not only the length) before it is freed.
impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl From<String> for SecretString {
    fn from(v: String) -> Self {
        Self(v)
    }
}

impl From<&str> for SecretString {
    fn from(v: &str) -> Self {
        Self(v.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A plain value: the pipeline learns the secrets an answer carried through `HasSecrets`.
        String::deserialize(d).map(Self)
    }
}

/// A value that may hold secrets: hands each secret's value to `f`. The generator implements it for
/// every generated type (`codegen/src/calls.rs`, from the `SecretString` fields at any depth); the pipeline
/// calls it on every decoded answer, so that the client scrubs those values from its later errors and logs.
pub(crate) trait HasSecrets {
    /// Calls `f` with the value of every secret this value holds (none by default).
    fn secrets(&self, f: &mut dyn FnMut(&str)) {
        let _ = f;
    }
}

impl HasSecrets for () {}

/// A list answered as a bare JSON array (the account's workspaces): the secrets of each item.
impl<T: HasSecrets> HasSecrets for Vec<T> {
    fn secrets(&self, f: &mut dyn FnMut(&str)) {
        for item in self {
            item.secrets(f);
        }
    }
}
