//! The wire types on any JSON: whatever decodes re-encodes, and the re-encoded form decodes to an equal
//! value and encodes to the same bytes (the round trip is stable). Decoding straight from the bytes and
//! through a `serde_json::Value` agree.
#![no_main]

use std::fmt::Debug;

use databricks_tokens::types::token_management::{CreateOboTokenResponse, TokenInfo};
use databricks_tokens::types::{AutoscopeState, CreateTokenResponse, Int64, PublicTokenInfo, ScopeList};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decodes `data` as `T`; when it decodes, checks the round trip and returns the value.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let first: T = serde_json::from_slice(data).ok()?;
    let encoded = serde_json::to_vec(&first).unwrap_or_else(|e| panic!("{first:?} decoded but does not encode: {e}"));
    let second: T = serde_json::from_slice(&encoded)
        .unwrap_or_else(|e| panic!("{first:?} encodes as {} which does not decode: {e}", String::from_utf8_lossy(&encoded)));
    assert_eq!(first, second, "the round trip through {} changed the value", String::from_utf8_lossy(&encoded));
    let again = serde_json::to_vec(&second).expect("encodes");
    assert_eq!(encoded, again, "encoding is not stable");
    // The same bytes decoded through a `Value` (as a caller holding a `Value` would) give the same value.
    // Only when both decode: a `Value` keeps the last of duplicate keys, a struct refuses them.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data)
        && let Ok(via_value) = serde_json::from_value::<T>(value)
    {
        assert_eq!(first, via_value, "decoding through a serde_json::Value differs");
    }
    Some(first)
}

fuzz_target!(|data: &[u8]| {
    if let Some(n) = round_trip::<Int64>(data) {
        // Encoded as a plain JSON number, whatever it was decoded from (a number or a decimal string).
        assert_eq!(serde_json::to_string(&n).expect("encodes"), n.get().to_string());
    }
    if let Some(state) = round_trip::<AutoscopeState>(data) {
        assert_eq!(AutoscopeState::from_wire(state.as_str()), state);
        assert_eq!(state.to_string(), state.as_str());
    }
    if let Some(scopes) = round_trip::<ScopeList>(data) {
        assert_eq!(scopes.len(), scopes.0.len());
    }
    round_trip::<PublicTokenInfo>(data);
    round_trip::<Vec<PublicTokenInfo>>(data);
    round_trip::<TokenInfo>(data);
    if let Some(created) = round_trip::<CreateTokenResponse>(data) {
        // The token value never shows in Debug, however it was sent.
        assert_eq!(format!("{:?}", created.token_value()), "SecretString(***)");
        assert!(!format!("{created:?}").contains(created.token_value().expose()) || created.token_value().expose().len() < 4);
    }
    if let Some(created) = round_trip::<CreateOboTokenResponse>(data) {
        assert_eq!(format!("{:?}", created.token_value()), "SecretString(***)");
    }
});
