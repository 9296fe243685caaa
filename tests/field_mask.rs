//! Field masks: validation rules, typed checks against the spec, diffs, and property tests.

use databricks_tokens::WorkspaceClient;
use databricks_tokens::field_mask::{FieldMask, TypedFieldMask};
use databricks_tokens::types::{PublicTokenInfo, ScopeList};
use proptest::prelude::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn invalid_masks_are_refused_with_a_reason() {
    for (mask, why) in [
        ("", "at least one path"),
        ("comment,", "empty path"),
        (",comment", "empty path"),
        ("comment, scopes", "no spaces"),
        ("a..b", "empty segment"),
        ("scopes[0]", "element of a list"),
        ("scopes.0", "element of a list"),
        ("*", "FieldMask::replace_all()"),
        ("comment,*", "FieldMask::replace_all()"),
        ("comment*", "FieldMask::replace_all()"),
        ("comm*nt", "FieldMask::replace_all()"),
        ("9lives", "not starting with a digit"),
        ("token-id", "letters, digits and `_`"),
    ] {
        let err = mask.parse::<FieldMask>().unwrap_err();
        assert!(err.to_string().contains(why), "{mask:?}: {err}");
    }
}

#[test]
fn typed_masks_accept_only_writable_fields_of_the_spec() {
    type Mask = TypedFieldMask<PublicTokenInfo>;
    assert_eq!(Mask::parse("comment,scopes").unwrap().to_string(), "comment,scopes");
    for (mask, why) in [
        ("expiry_time", "output only"),
        ("token_id", "output only"),
        ("autoscope_state", "output only"),
        ("owner", "no field \"owner\""),
        ("token.comment", "no field \"token\""),
        ("comment.text", "has no sub-fields"),
    ] {
        let err = Mask::parse(mask).unwrap_err();
        assert!(err.to_string().contains(why), "{mask}: {err}");
    }
    assert!(Mask::replace_all().as_mask().is_replace_all());
}

#[test]
fn a_mask_contains_the_paths_it_names_and_replace_all_contains_every_path() {
    let mask: FieldMask = "comment,scopes".parse().unwrap();
    assert!(mask.contains("comment") && mask.contains("scopes"));
    for other in ["token_id", "comm", "comment.text", ""] {
        assert!(!mask.contains(other), "{other:?} is not named");
    }
    let all = FieldMask::replace_all();
    assert!(all.contains("comment") && all.contains("a.field.added.later"));
}

#[test]
fn typed_masks_are_equal_when_their_paths_are() {
    type Mask = TypedFieldMask<PublicTokenInfo>;
    assert_eq!(Mask::parse("comment,scopes").unwrap(), Mask::parse("comment,scopes").unwrap());
    assert_ne!(Mask::parse("comment").unwrap(), Mask::parse("scopes").unwrap());
    assert_ne!(Mask::parse("comment").unwrap(), Mask::replace_all());
}

/// What a mask names, and when two typed masks are the same mask.
#[test]
fn a_mask_contains_its_paths_only_and_typed_masks_compare_by_their_paths() {
    let mask: FieldMask = "comment,scopes".parse().unwrap();
    assert_eq!(mask.paths(), ["comment", "scopes"]);
    assert!(!mask.is_replace_all());
    assert!(mask.contains("comment") && mask.contains("scopes"));
    assert!(!mask.contains("token_id") && !mask.contains("comm") && !mask.contains(""));
    let all = FieldMask::replace_all();
    assert!(all.is_replace_all() && all.contains("token_id") && all.contains("comment"));
    assert_eq!((all.paths(), all.to_string().as_str()), (&["*".to_owned()][..], "*"));
    assert_eq!(FieldMask::new(["_private", "a_b.c_1"]).unwrap().paths(), ["_private", "a_b.c_1"]);

    type Mask = TypedFieldMask<PublicTokenInfo>;
    let comment = Mask::parse("comment").unwrap();
    assert_eq!(comment, Mask::parse("comment").unwrap());
    assert_eq!(comment.clone(), comment);
    assert_ne!(comment, Mask::parse("scopes").unwrap());
    assert_ne!(comment, Mask::replace_all());
    assert_eq!(format!("{comment:?}"), "TypedFieldMask<PublicTokenInfo>(comment)");
    assert_eq!(comment.to_string(), "comment");
    assert_eq!(comment.as_mask().paths(), ["comment"]);
    assert_eq!(Mask::replace_all().to_string(), "*");
}

/// A workspace that accepts every update, and the bodies it received.
async fn workspace() -> (MockServer, WorkspaceClient) {
    let server = MockServer::start().await;
    Mock::given(method("PATCH")).respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({}))).mount(&server).await;
    let w = WorkspaceClient::builder().host(server.uri()).token("dapi-test").build().unwrap();
    (server, w)
}

async fn bodies(server: &MockServer) -> Vec<serde_json::Value> {
    server.received_requests().await.unwrap().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect()
}

#[tokio::test]
async fn an_update_cannot_name_a_field_its_body_leaves_out() {
    let (server, w) = workspace().await;
    let mask = TypedFieldMask::<PublicTokenInfo>::parse("comment,scopes").unwrap();
    let body = PublicTokenInfo::new("t1").set_comment("c");
    let err = w.tokens().update("t1").mask(mask.clone()).token(body).send().await.unwrap_err();
    assert!(err.to_string().contains("names scopes but the PublicTokenInfo leaves it out"), "{err}");
    assert!(bodies(&server).await.is_empty(), "refused before anything was sent");
    let body = PublicTokenInfo::new("t1").set_comment("c").set_scopes(ScopeList::default());
    w.tokens().update("t1").mask(mask).token(body).send().await.unwrap();
    assert_eq!(bodies(&server).await, [serde_json::json!({"token": {"comment": "c", "scopes": []}, "update_mask": "comment,scopes"})]);
}

#[tokio::test]
async fn diffs_name_exactly_the_changed_writable_fields() {
    let (server, w) = workspace().await;
    let current = PublicTokenInfo::new("id").set_comment("old").set_scopes(["sql"].into_iter().collect::<ScopeList>()).set_expiry_time(5);
    let mut desired = current.clone();
    desired.expiry_time = Some(9.into()); // output only: never part of an update
    let err = w.tokens().update("id").from_diff(&current, &desired).unwrap_err();
    assert!(err.to_string().contains("nothing to update"), "{err}");

    desired.comment = Some("new".into());
    w.tokens().update("id").from_diff(&current, &desired).unwrap().send().await.unwrap();

    desired.comment = None;
    desired.scopes = Some(ScopeList::default());
    w.tokens().update("id").from_diff(&current, &desired).unwrap().send().await.unwrap();
    let sent = bodies(&server).await;
    assert_eq!(sent[0], serde_json::json!({"token": {"comment": "new"}, "update_mask": "comment"}));
    assert_eq!(sent[1]["update_mask"], "comment,scopes");
    assert_eq!(sent[1]["token"]["comment"], "", "a cleared comment is sent empty");
    assert_eq!(sent[1]["token"]["scopes"], serde_json::json!([]));
}

#[tokio::test]
async fn setters_keep_the_spec_order_and_no_duplicates() {
    let (server, w) = workspace().await;
    w.tokens().update("t1").clear_scopes().comment("a").comment("b").send().await.unwrap();
    assert_eq!(bodies(&server).await, [serde_json::json!({"token": {"comment": "b", "scopes": []}, "update_mask": "comment,scopes"})]);
    let err = w.tokens().update("t1").send().await.unwrap_err();
    assert_eq!(err.kind(), databricks_tokens::ErrorKind::InvalidRequest);
    assert!(err.to_string().contains("nothing to update"), "{err}");
    assert_eq!(bodies(&server).await.len(), 1, "an empty update is refused locally");
}

#[test]
fn serde_is_the_single_string() {
    let mask: FieldMask = "comment,scopes".parse().unwrap();
    assert_eq!(serde_json::to_string(&mask).unwrap(), "\"comment,scopes\"");
    assert_eq!(serde_json::from_str::<FieldMask>("\"comment,scopes\"").unwrap(), mask);
    assert!(serde_json::from_str::<FieldMask>("\"*\"").unwrap().is_replace_all());
    assert!(serde_json::from_str::<FieldMask>("\"a, b\"").is_err());
}

fn segment() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,8}"
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..4).prop_map(|s| s.join("."))
}

proptest! {
    #[test]
    fn display_and_parse_round_trip(paths in prop::collection::vec(path(), 1..6)) {
        let mask = FieldMask::new(&paths).unwrap();
        let text = mask.to_string();
        let again: FieldMask = text.parse().unwrap();
        prop_assert_eq!(&again, &mask);
        prop_assert_eq!(again.to_string(), text);
        let json = serde_json::to_string(&mask).unwrap();
        prop_assert_eq!(serde_json::from_str::<FieldMask>(&json).unwrap(), mask);
    }

    #[test]
    fn paths_with_forbidden_characters_are_refused(
        good in path(),
        bad in prop::sample::select(vec![" ", "\t", "[0]", "*", "-", "..", ",", "\"", "/", "é"]),
        at_end in any::<bool>(),
    ) {
        let mask = if at_end { format!("{good}{bad}") } else { format!("{bad}{good}") };
        prop_assert!(mask.parse::<FieldMask>().is_err(), "{:?} was accepted", mask);
    }

    #[test]
    fn typed_masks_refuse_every_name_the_spec_does_not_make_writable(name in segment()) {
        let accepted = TypedFieldMask::<PublicTokenInfo>::parse(&name).is_ok();
        prop_assert_eq!(accepted, name == "comment" || name == "scopes");
    }
}
