//! The public types' JSON Schemas (feature `schemars`) agree with their spec components, so a hand-written
//! codec or a generator change cannot drift from the spec unnoticed.
//!
//! Compared per type: the property names, the required ones, and each property's kind (integer, string,
//! boolean, array of what, object of which type). Documented exceptions, the wire codecs: `Int64` also
//! *reads* a decimal string and `AutoscopeState` keeps unknown values (an open string, where the spec has an
//! enum); their schemas describe what they send, which is what the spec says.

use std::collections::BTreeSet;

use databricks_tokens::types::{CreateTokenRequest, CreateTokenResponse, PublicTokenInfo, UpdateTokenRequest};
use schemars::JsonSchema;
use serde_json::Value;

fn spec() -> Value {
    serde_json::from_str(include_str!("../spec/tokens.json")).unwrap()
}

/// The kind of a schema: `integer`, `string`, `array<string>`, `object:PublicTokenInfo`, ...
fn kind(schema: &Value, root: &Value, definitions_at: &str) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap();
        let target = root.pointer(&format!("{definitions_at}/{name}")).unwrap_or_else(|| panic!("{reference} not found"));
        return match kind(target, root, definitions_at).as_str() {
            "object" => format!("object:{name}"),
            other => other.to_owned(),
        };
    }
    // Option<T>: `allOf`/`anyOf` around one schema, or a type list with "null".
    for combinator in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(members)) = schema.get(combinator) {
            let kinds: BTreeSet<String> = members.iter().map(|m| kind(m, root, definitions_at)).filter(|k| k != "null").collect();
            assert_eq!(kinds.len(), 1, "{schema}");
            return kinds.into_iter().next().unwrap();
        }
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap().to_owned(),
        _ if schema.get("properties").is_some() => "object".to_owned(),
        _ => panic!("no type in {schema}"),
    };
    match ty.as_str() {
        "array" => format!("array<{}>", kind(&schema["items"], root, definitions_at)),
        _ => ty,
    }
}

fn shape(object: &Value, root: &Value, definitions_at: &str) -> (BTreeSet<String>, Vec<(String, String)>) {
    let required = object.get("required").and_then(Value::as_array).into_iter().flatten().map(|r| r.as_str().unwrap().to_owned()).collect();
    let mut properties: Vec<(String, String)> =
        object["properties"].as_object().unwrap().iter().map(|(name, schema)| (name.clone(), kind(schema, root, definitions_at))).collect();
    properties.sort();
    (required, properties)
}

fn agrees<T: JsonSchema>(component: &str) {
    let spec = spec();
    let expected = shape(&spec["components"]["schemas"][component], &spec, "/components/schemas");
    let generated = serde_json::to_value(schemars::schema_for!(T)).unwrap();
    let actual = shape(&generated, &generated, "/definitions");
    assert_eq!(actual, expected, "{component}: the Rust type's schema (left) differs from the spec (right)");
}

#[test]
fn generated_types_agree_with_their_spec_components() {
    agrees::<PublicTokenInfo>("PublicTokenInfo");
    agrees::<CreateTokenRequest>("CreateTokenRequest");
    agrees::<CreateTokenResponse>("CreateTokenResponse");
    agrees::<UpdateTokenRequest>("UpdateTokenRequest");
}

#[test]
fn the_comparison_catches_a_drift() {
    // A type whose field list differs from the spec's is caught: the check can fail.
    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Drifted {
        token_id: String,
        comment: Option<i64>,
    }
    let result = std::panic::catch_unwind(|| agrees::<Drifted>("PublicTokenInfo"));
    assert!(result.is_err());
}

#[test]
fn the_wire_codecs_document_their_exceptions() {
    // AutoscopeState: every value the spec lists decodes to a known variant, and unknown ones are kept.
    let spec = spec();
    for value in spec["components"]["schemas"]["AutoscopeState"]["enum"].as_array().unwrap() {
        let state: databricks_tokens::types::AutoscopeState = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(serde_json::to_value(&state).unwrap(), *value);
        assert!(!format!("{state:?}").contains("Unknown"), "{value} is known");
    }
    let schema = serde_json::to_value(schemars::schema_for!(databricks_tokens::types::AutoscopeState)).unwrap();
    assert_eq!(schema["type"], "string");
    assert!(schema.get("enum").is_none(), "open: unknown values are representable");
    // Int64 sends an integer (and also reads a decimal string).
    let schema = serde_json::to_value(schemars::schema_for!(databricks_tokens::types::Int64)).unwrap();
    assert_eq!((schema["type"].as_str(), schema["format"].as_str()), (Some("integer"), Some("int64")));
}

/// The account Workspaces API's types agree with `spec/workspaces.json` (`workspace_status` is an open
/// string, as `AutoscopeState`: the spec's enum is a string too).
#[test]
fn the_account_types_agree_with_their_spec_components() {
    use databricks_tokens::account::{AzureWorkspaceInfo, Workspace};
    let spec: Value = serde_json::from_str(include_str!("../spec/workspaces.json")).unwrap();
    let check = |component: &str, generated: Value| {
        let expected = shape(&spec["components"]["schemas"][component], &spec, "/components/schemas");
        let actual = shape(&generated, &generated, "/definitions");
        assert_eq!(actual, expected, "{component}: the Rust type's schema (left) differs from the spec (right)");
    };
    check("Workspace", serde_json::to_value(schemars::schema_for!(Workspace)).unwrap());
    check("AzureWorkspaceInfo", serde_json::to_value(schemars::schema_for!(AzureWorkspaceInfo)).unwrap());
}
