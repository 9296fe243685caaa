//! Field masks from any string: a mask that parses shows as a string that parses back to an equal mask,
//! holds only valid paths, and agrees with its serde form; a typed mask is an untyped one whose paths are
//! writable fields of the resource.
//!
//! Input: the mask string. When it holds a NUL byte, the two halves are also decoded as two
//! `PublicTokenInfo` JSON documents and diffed by the update builder (`w.tokens().update(id).from_diff(..)`),
//! whose request is caught by a stub.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};

use databricks_tokens::field_mask::{FieldMask, Resource, TypedFieldMask};
use databricks_tokens::stub::{self, RequestOptions};
use databricks_tokens::types::{PublicTokenInfo, UpdateTokenRequest};
use databricks_tokens::{ErrorKind, WorkspaceClient};
use libfuzzer_sys::fuzz_target;

/// A stub that keeps the update request the builder sends.
#[derive(Debug, Clone, Default)]
struct Caught(Arc<Mutex<Option<UpdateTokenRequest>>>);

impl stub::Tokens for Caught {
    async fn update(&self, _token_id: &str, request: UpdateTokenRequest, _options: RequestOptions) -> databricks_tokens::Result<()> {
        *self.0.lock().unwrap() = Some(request);
        Ok(())
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().expect("a runtime"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_mask(&text);
    if let Some(nul) = data.iter().position(|&b| b == 0) {
        check_diff(&data[..nul], &data[nul + 1..]);
    }
});

fn check_mask(s: &str) {
    let parsed = s.parse::<FieldMask>();
    // Deserializing the same string agrees with parsing it (`*` aside, which only serde accepts).
    let deserialized = serde_json::from_value::<FieldMask>(serde_json::Value::String(s.to_owned()));
    if s == "*" {
        assert!(deserialized.expect("`*` deserializes").is_replace_all());
        assert!(parsed.is_err(), "`*` parses only through FieldMask::replace_all()");
    } else {
        assert_eq!(parsed.as_ref().ok(), deserialized.as_ref().ok(), "parse and deserialize disagree on {s:?}");
    }
    let mask = match parsed {
        Ok(mask) => mask,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
            let _ = (e.to_string(), format!("{e:?}"));
            return;
        }
    };
    assert!(!mask.is_replace_all());
    assert!(!mask.paths().is_empty(), "a parsed mask has a path");
    for (i, path) in mask.paths().iter().enumerate() {
        assert!(!path.is_empty() && !path.contains(',') && !path.contains(char::is_whitespace), "path {path:?}");
        assert!(!path.contains('*') && !path.contains(['[', ']']), "path {path:?}");
        assert!(path.split('.').all(|seg| !seg.is_empty()), "empty segment in {path:?}");
        assert!(!mask.paths()[..i].contains(path), "duplicate path {path:?}");
        assert!(mask.contains(path));
    }
    // Display round trip, and the serde form is the same string.
    let shown = mask.to_string();
    assert_eq!(shown, mask.paths().join(","));
    let reparsed: FieldMask = shown.parse().unwrap_or_else(|e| panic!("{shown:?} (shown from {s:?}) does not parse: {e}"));
    assert_eq!(reparsed, mask, "{s:?} -> {shown:?}");
    let json = serde_json::to_string(&mask).expect("a mask serializes");
    assert_eq!(serde_json::from_str::<FieldMask>(&json).expect("a serialized mask deserializes"), mask);

    // A typed mask is the untyped one, checked against the resource's writable fields.
    if let Ok(typed) = TypedFieldMask::<PublicTokenInfo>::parse(s) {
        assert_eq!(typed.as_mask(), &mask);
        for path in mask.paths() {
            let field = path.split('.').next().unwrap_or_default();
            assert!(<PublicTokenInfo as Resource>::WRITABLE.contains(&field), "{field:?} is not writable");
        }
        let again = TypedFieldMask::<PublicTokenInfo>::parse(&typed.to_string()).expect("a typed mask's string parses typed");
        assert!(again == typed);
    }
}

fn check_diff(current: &[u8], desired: &[u8]) {
    let (Ok(current), Ok(desired)) =
        (serde_json::from_slice::<PublicTokenInfo>(current), serde_json::from_slice::<PublicTokenInfo>(desired))
    else {
        return;
    };
    let caught = Caught::default();
    let w = WorkspaceClient::from_stub(caught.clone());
    let Ok(update) = w.tokens().update("t").from_diff(&current, &desired) else { return };
    runtime().block_on(update.send()).expect("the stub accepts every update");
    let request = caught.0.lock().unwrap().take().expect("the builder sent the update");
    let mask: FieldMask = request.update_mask.parse().expect("the builder sends a valid mask");
    assert!(!mask.paths().is_empty());
    let body = serde_json::to_value(&request.token).expect("the update's token serializes");
    let body = body.as_object().expect("a token is a JSON object");
    for path in mask.paths() {
        assert!(<PublicTokenInfo as Resource>::WRITABLE.contains(&path.as_str()), "{path:?} is not writable");
        // Every masked field is sent, empty rather than left out.
        assert!(body.contains_key(path), "{path:?} is masked but not in {body:?}");
    }
    // Only masked fields are sent, and the required id.
    for key in body.keys() {
        assert!(mask.contains(key) || <PublicTokenInfo as Resource>::REQUIRED.contains(&key.as_str()), "{key:?} is sent but not masked");
    }
}
