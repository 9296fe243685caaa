//! Wire contract of the four operations (`spec/tokens.json`) against a real HTTP server on loopback.

mod common;

use databricks_tokens::types::AutoscopeState;
use databricks_tokens::{ErrorKind, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use common::{TOKEN, client};

fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The headers every call must carry, and none it must not.
fn assert_common_headers(r: &Request, with_body: bool) {
    assert_eq!(header(r, "accept"), Some("application/json"));
    assert_eq!(header(r, "authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(header(r, "content-type"), with_body.then_some("application/json"));
    assert_eq!(header(r, "api-version"), None, "progenitor's api-version header must not be sent");
    assert_eq!(header(r, "x-databricks-workspace-id"), None);
    let ua = header(r, "user-agent").expect("user agent");
    assert!(ua.starts_with("unknown/0.0.0 databricks-tokens-rs/0.1.0 rust/"), "{ua}");
    assert!(ua.ends_with(&format!("os/{} auth/pat", std::env::consts::OS)), "{ua}");
}

async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.expect("recording on");
    assert_eq!(requests.len(), 1, "exactly one request");
    requests.remove(0)
}

#[tokio::test]
async fn create_sends_the_python_sdk_shape_and_decodes_int64_strings() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2.0/token/create"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_info": {"token_id": "abc", "comment": "x", "creation_time": "1700000000000", "expiry_time": 1700000300000_i64,
                           "scopes": ["sql"], "autoscope_state": "AUTOSCOPE_STATE_RUNNING", "brand_new_field": {"x": 1}},
            "token_value": "dapi-secret-value"
        })))
        .mount(&server)
        .await;
    let (w, _) = client(&server.uri(), RetryPolicy::disabled());
    let created = w.tokens().create().comment("x").send().await.unwrap();

    let r = only_request(&server).await;
    assert_eq!(r.url.path(), "/api/2.0/token/create");
    assert_eq!(r.url.query(), None);
    assert_eq!(std::str::from_utf8(&r.body).unwrap(), r#"{"comment":"x"}"#);
    assert_common_headers(&r, true);

    let info = created.token_info;
    assert_eq!(info.token_id, "abc");
    assert_eq!(info.creation_time.map(i64::from), Some(1_700_000_000_000));
    assert_eq!(info.expiry_time.map(i64::from), Some(1_700_000_300_000));
    assert_eq!(info.autoscope_state, Some(AutoscopeState::Running));
    assert_eq!(info.scopes.as_deref(), Some(&["sql".to_owned()][..]));
    assert_eq!(created.token_value.expose(), "dapi-secret-value");
}

#[tokio::test]
async fn create_with_every_field() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_info": {"token_id": "t1"}, "token_value": "dapi-v"})))
        .mount(&server)
        .await;
    let (w, _) = client(&server.uri(), RetryPolicy::disabled());
    let created = w
        .tokens()
        .create()
        .comment("ci")
        .lifetime(std::time::Duration::from_secs(300))
        .scopes(["sql", "unity-catalog"])
        .autoscope(true)
        .send()
        .await
        .unwrap();
    assert_eq!((created.token_id(), created.token_value().expose()), ("t1", "dapi-v"));
    let body: Value = serde_json::from_slice(&only_request(&server).await.body).unwrap();
    assert_eq!(body, json!({"comment": "ci", "lifetime_seconds": 300, "scopes": ["sql", "unity-catalog"], "autoscope_enabled": true}));
}

#[tokio::test]
async fn delete_sends_the_token_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2.0/token/delete"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let (w, _) = client(&server.uri(), RetryPolicy::disabled());
    w.tokens().delete("nope").send().await.unwrap();
    let r = only_request(&server).await;
    assert_eq!(std::str::from_utf8(&r.body).unwrap(), r#"{"token_id":"nope"}"#);
    assert_common_headers(&r, true);
}

#[tokio::test]
async fn list_is_a_bare_get_and_decodes_what_databricks_really_sends() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2.0/token/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_infos": [
                {"token_id": "a", "creation_time": 1700000000000_i64, "expiry_time": "-1", "autoscope_state": "AUTOSCOPE_STATE_FROM_THE_FUTURE",
                 "inferred_scopes": ["sql"], "unknown": true},
                {"token_id": "b", "expiry_time": -1, "created_by_id": 42, "backfill_scopes": ["x", "y"]}
            ],
            "next_unknown_key": "ignored"
        })))
        .mount(&server)
        .await;
    let (w, _) = client(&server.uri(), RetryPolicy::disabled());
    let tokens = w.tokens().list().send().await.unwrap();

    let r = only_request(&server).await;
    assert_eq!(r.method.as_str(), "GET");
    assert_eq!(r.url.query(), None);
    assert!(r.body.is_empty());
    assert_common_headers(&r, false);

    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0].expiry_time.map(i64::from), Some(-1));
    assert_eq!(tokens[0].autoscope_state.as_ref().map(|s| s.as_str()), Some("AUTOSCOPE_STATE_FROM_THE_FUTURE"));
    assert!(matches!(tokens[0].autoscope_state, Some(AutoscopeState::Unknown(_))));
    assert_eq!(tokens[0].inferred_scopes.as_deref(), Some(&["sql".to_owned()][..]));
    assert_eq!(tokens[1].backfill_scopes.as_deref(), Some(&["x".to_owned(), "y".to_owned()][..]));
    assert!(tokens[1].inferred_scopes.is_none());
    assert_eq!(tokens[1].scopes, None);
}

#[tokio::test]
async fn list_without_token_infos_is_empty() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).mount(&server).await;
    let (w, _) = client(&server.uri(), RetryPolicy::disabled());
    assert!(w.tokens().list().send().await.unwrap().is_empty());
}

#[tokio::test]
async fn update_sends_token_and_mask() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/api/2.0/token/abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let (w, _) = client(&server.uri(), RetryPolicy::disabled());
    w.tokens().update("abc").comment("new").scopes(["a", "b"]).send().await.unwrap();
    let r = only_request(&server).await;
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        r#"{"token":{"comment":"new","scopes":["a","b"]},"update_mask":"comment,scopes"}"#,
        "what the mask names and nothing more: the id is in the path, as the official SDKs send it"
    );
    assert_common_headers(&r, true);
}

#[tokio::test]
async fn an_update_of_a_listed_token_sends_only_what_the_mask_names() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH")).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).mount(&server).await;
    let (w, _) = client(&server.uri(), RetryPolicy::disabled());
    // A token as a list returns it: output-only fields set, a comment and scopes.
    let listed: databricks_tokens::types::PublicTokenInfo = serde_json::from_value(json!({
        "token_id": "abc", "comment": "old", "creation_time": 1, "expiry_time": 2, "scopes": ["sql"],
        "autoscope_state": "ENABLED", "inferred_scopes": ["x"]
    }))
    .unwrap();
    let edited = listed.clone().set_comment("new");
    let mask = databricks_tokens::field_mask::TypedFieldMask::parse("comment").unwrap();
    w.tokens().update("abc").mask(mask).token(edited.clone()).send().await.unwrap();
    w.tokens().update("abc").from_diff(&listed, &edited).unwrap().send().await.unwrap();
    let _ = w.token_management().update("abc").comment("new").send().await; // answered `{}`: the request is what counts
    let bodies: Vec<Value> = server.received_requests().await.unwrap().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    let expected = json!({"token": {"comment": "new"}, "update_mask": "comment"});
    assert_eq!(bodies, [expected.clone(), expected.clone(), expected]);
}

#[tokio::test]
async fn update_can_clear_scopes() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH")).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).mount(&server).await;
    let (w, _) = client(&server.uri(), RetryPolicy::disabled());
    w.tokens().update("abc").clear_scopes().send().await.unwrap();
    let body: Value = serde_json::from_slice(&only_request(&server).await.body).unwrap();
    assert_eq!(body, json!({"token": {"scopes": []}, "update_mask": "scopes"}));
}

#[tokio::test]
async fn update_path_parameter_is_percent_encoded() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH")).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).mount(&server).await;
    let (w, _) = client(&server.uri(), RetryPolicy::disabled());
    w.tokens().update("a/b c").comment("c").send().await.unwrap();
    assert_eq!(only_request(&server).await.url.path(), "/api/2.0/token/a%2Fb%20c");
}

#[tokio::test]
async fn update_with_an_empty_mask_is_refused_before_sending() {
    let server = MockServer::start().await;
    let (w, _) = client(&server.uri(), RetryPolicy::disabled());
    let err = w.tokens().update("abc").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert!(err.to_string().contains("nothing to update"), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// One error response, and what the error must expose.
struct ErrorCase {
    name: &'static str,
    status: u16,
    content_type: &'static str,
    body: &'static str,
    kind: ErrorKind,
    code: Option<&'static str>,
    message: &'static str,
}

#[tokio::test]
async fn every_error_body_reaches_the_error_layer_with_its_status() {
    let cases = [
        ErrorCase {
            name: "404 json",
            status: 404,
            content_type: "application/json",
            body: r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Token abc does not exist."}"#,
            kind: ErrorKind::NotFound,
            code: Some("RESOURCE_DOES_NOT_EXIST"),
            message: "Token abc does not exist.",
        },
        ErrorCase {
            name: "400 quota",
            status: 400,
            content_type: "application/json",
            body: r#"{"error_code":"QUOTA_EXCEEDED","message":"Too many tokens: limit is 600."}"#,
            kind: ErrorKind::BadRequest,
            code: Some("QUOTA_EXCEEDED"),
            message: "Too many tokens: limit is 600.",
        },
        ErrorCase {
            name: "502 html",
            status: 502,
            content_type: "text/html",
            body: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>",
            kind: ErrorKind::OtherStatus,
            code: Some("BAD_GATEWAY"),
            message: "502 Bad Gateway",
        },
        ErrorCase {
            name: "401 text",
            status: 401,
            content_type: "text/plain",
            body: "UNAUTHENTICATED: Invalid access token.",
            kind: ErrorKind::Unauthenticated,
            code: Some("UNAUTHENTICATED"),
            message: "Invalid access token.",
        },
    ];
    for case in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(case.status).set_body_raw(case.body.as_bytes(), case.content_type))
            .mount(&server)
            .await;
        let (w, _) = client(&server.uri(), RetryPolicy::disabled());
        let err = w.tokens().delete("abc").send().await.unwrap_err();
        assert_eq!(err.status(), Some(case.status), "{}", case.name);
        assert_eq!(err.kind(), case.kind, "{}", case.name);
        assert_eq!(err.error_code(), case.code, "{}", case.name);
        assert_eq!(err.message(), case.message, "{}", case.name);
        assert_eq!(err.attempts(), 1, "{}", case.name);
        assert!(err.to_string().contains(case.message), "{}: {err}", case.name);
    }
}

#[tokio::test]
async fn a_success_body_that_does_not_decode_is_a_decode_error_without_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"token_value": 12, "token_info": "dapi-leaked"}"#, "application/json"))
        .mount(&server)
        .await;
    let (w, _) = client(&server.uri(), RetryPolicy::disabled());
    let err = w.tokens().create().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(!format!("{err} {err:?}").contains("dapi-leaked"), "{err:?}");
}

/// The output-only scope lists a token usually lacks take one pointer each, so that a big list stays
/// compact (the 100,000-token list of `bench_vs_raw` is 3.2 MB smaller for it).
#[test]
fn reported_scopes_take_one_pointer() {
    use databricks_tokens::types::{PublicTokenInfo, ReportedScopes};
    assert_eq!(std::mem::size_of::<Option<ReportedScopes>>(), std::mem::size_of::<usize>());
    assert!(std::mem::size_of::<PublicTokenInfo>() <= 144, "{}", std::mem::size_of::<PublicTokenInfo>());
}

/// The hand-written codecs, value by value: what each reads, writes, shows and describes.
#[test]
fn int64_reads_numbers_and_decimal_strings_and_writes_a_number() {
    use databricks_tokens::types::Int64;
    let big = Int64::from(-9_007_199_254_740_993);
    assert_eq!((big.get(), i64::from(big), big.to_string()), (-9_007_199_254_740_993, -9_007_199_254_740_993, "-9007199254740993".into()));
    assert_eq!(serde_json::to_string(&big).unwrap(), "-9007199254740993");
    for (text, value) in [("-7", -7), ("7", 7), ("\" 9007199254740993 \"", 9_007_199_254_740_993), ("9223372036854775807", i64::MAX)] {
        assert_eq!(serde_json::from_str::<Int64>(text).unwrap().get(), value, "{text}");
    }
    for (text, why) in [
        ("9223372036854775808", "9223372036854775808 does not fit in a 64-bit signed integer"),
        ("\"7e3\"", "\"7e3\" is not a decimal 64-bit integer"),
        ("true", "expected a 64-bit integer as a JSON number or a decimal string"),
    ] {
        let err = serde_json::from_str::<Int64>(text).unwrap_err().to_string();
        assert!(err.contains(why), "{text}: {err}");
    }
}

#[test]
fn autoscope_states_keep_their_wire_names_and_unknown_values() {
    for (wire, state) in [
        ("AUTOSCOPE_STATE_API_NOT_COVERED", AutoscopeState::ApiNotCovered),
        ("AUTOSCOPE_STATE_BACKFILLED", AutoscopeState::Backfilled),
        ("AUTOSCOPE_STATE_COMPLETED", AutoscopeState::Completed),
        ("AUTOSCOPE_STATE_DISABLED", AutoscopeState::Disabled),
        ("AUTOSCOPE_STATE_RUNNING", AutoscopeState::Running),
        ("AUTOSCOPE_STATE_USER_SELECTED", AutoscopeState::UserSelected),
        ("AUTOSCOPE_STATE_NEW", AutoscopeState::Unknown("AUTOSCOPE_STATE_NEW".into())),
    ] {
        assert_eq!((AutoscopeState::from_wire(wire), state.as_str(), state.to_string()), (state.clone(), wire, wire.to_owned()));
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(json, format!("\"{wire}\""));
        assert_eq!(serde_json::from_str::<AutoscopeState>(&json).unwrap(), state);
    }
}

#[test]
fn scope_lists_read_and_write_a_plain_array() {
    use databricks_tokens::types::{ReportedScopes, ScopeList};
    let sent: ScopeList = ["sql", "clusters"].into_iter().collect();
    assert_eq!(
        (&sent[..], ScopeList::from(vec!["sql".to_owned(), "clusters".to_owned()])),
        (&["sql".to_owned(), "clusters".to_owned()][..], sent.clone())
    );
    assert_eq!(serde_json::to_string(&sent).unwrap(), r#"["sql","clusters"]"#);
    let reported: ReportedScopes = serde_json::from_str(r#"["sql","clusters"]"#).unwrap();
    assert_eq!(reported, ["sql", "clusters"].into_iter().collect::<ReportedScopes>());
    assert_eq!(reported, ReportedScopes::from(vec!["sql".to_owned(), "clusters".to_owned()]));
    assert_eq!(reported.len(), 2);
    assert_eq!((&reported).into_iter().map(String::as_str).collect::<Vec<_>>(), ["sql", "clusters"]);
    assert_eq!(format!("{reported:?}"), r#"["sql", "clusters"]"#);
    assert_eq!(serde_json::to_string(&reported).unwrap(), r#"["sql","clusters"]"#);
    assert_eq!(reported.into_vec(), ["sql", "clusters"]);
}

/// The codecs' JSON Schemas (feature `schemars`): their names and what they send.
#[test]
fn the_codecs_describe_what_they_send() {
    use databricks_tokens::SecretString;
    use databricks_tokens::types::{Int64, ReportedScopes, ScopeList};
    use schemars::JsonSchema;
    fn schema<T: JsonSchema>() -> (String, Value) {
        let mut schema = serde_json::to_value(schemars::schema_for!(T)).unwrap();
        schema.as_object_mut().unwrap().remove("$schema");
        (T::schema_name(), schema)
    }
    let array = json!({"title": "Array_of_String", "type": "array", "items": {"type": "string"}});
    assert_eq!(schema::<Int64>(), ("Int64".into(), json!({"title": "Int64", "type": "integer", "format": "int64"})));
    assert_eq!(schema::<AutoscopeState>(), ("AutoscopeState".into(), json!({"title": "AutoscopeState", "type": "string"})));
    assert_eq!(schema::<SecretString>(), ("TokenValue".into(), json!({"title": "TokenValue", "type": "string", "format": "password"})));
    assert_eq!(schema::<ScopeList>().0, "ScopeList");
    assert_eq!(schema::<ReportedScopes>().0, "ReportedScopes");
    assert_eq!(schema::<ScopeList>().1["type"], "array");
    assert_eq!(schema::<ReportedScopes>().1["items"], array["items"]);
}

#[test]
fn a_token_with_an_empty_id_round_trips_and_only_a_request_body_leaves_the_id_out() {
    // Found by the wire_codecs fuzz target: the update body's rule must not change the resource's own encoding.
    let info: databricks_tokens::types::PublicTokenInfo = serde_json::from_str(r#"{"token_id":""}"#).unwrap();
    let encoded = serde_json::to_string(&info).unwrap();
    assert_eq!(encoded, r#"{"token_id":""}"#);
    assert_eq!(serde_json::from_str::<databricks_tokens::types::PublicTokenInfo>(&encoded).unwrap(), info);
    let body = databricks_tokens::types::UpdateTokenRequest::new(info.set_comment("c"), "comment");
    assert_eq!(serde_json::to_value(&body).unwrap(), json!({"token": {"comment": "c"}, "update_mask": "comment"}));
}
