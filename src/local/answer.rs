//! The local workspace's answers: a status and a JSON body, and the error answers every part of it gives
//! (the state and the principals directory alike).

use serde_json::{Value, json};

/// An API answer: status and JSON body.
pub(crate) type Answer = (u16, Value);

pub(crate) fn error(status: u16, code: &str, message: impl Into<String>) -> Answer {
    (status, json!({"error_code": code, "message": message.into()}))
}

/// A request the service refuses as `400 INVALID_PARAMETER_VALUE`.
pub(crate) fn invalid(message: impl Into<String>) -> Answer {
    error(400, "INVALID_PARAMETER_VALUE", message)
}
