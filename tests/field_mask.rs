//! Field masks: validation rules, typed checks against the spec, diffs, and property tests.

use databricks_tokens::field_mask::{FieldMask, TypedFieldMask, Update};
use databricks_tokens::types::{PublicTokenInfo, ScopeList};
use proptest::prelude::*;

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
fn an_update_cannot_name_a_field_its_body_leaves_out() {
    let mask = TypedFieldMask::<PublicTokenInfo>::parse("comment,scopes").unwrap();
    let body = PublicTokenInfo { comment: Some("c".into()), ..Default::default() };
    let err = Update::new(body, mask.clone()).unwrap_err();
    assert!(err.to_string().contains("names scopes but the PublicTokenInfo leaves it out"), "{err}");
    let body = PublicTokenInfo { comment: Some("c".into()), scopes: Some(ScopeList::default()), ..Default::default() };
    let update = Update::new(body, mask).unwrap();
    assert_eq!(serde_json::to_value(update.resource()).unwrap(), serde_json::json!({"comment": "c", "scopes": []}));
}

#[test]
fn diffs_name_exactly_the_changed_writable_fields() {
    let current = PublicTokenInfo {
        token_id: Some("id".into()),
        comment: Some("old".into()),
        scopes: Some(["sql"].into_iter().collect()),
        expiry_time: Some(5.into()),
        ..Default::default()
    };
    let mut desired = current.clone();
    desired.expiry_time = Some(9.into()); // output only: never part of an update
    assert!(Update::from_diff(&current, &desired).unwrap_err().to_string().contains("nothing to update"));

    desired.comment = Some("new".into());
    let update = Update::from_diff(&current, &desired).unwrap();
    assert_eq!(update.mask().to_string(), "comment");

    desired.comment = None;
    desired.scopes = Some(ScopeList::default());
    let update = Update::from_diff(&current, &desired).unwrap();
    assert_eq!(update.mask().to_string(), "comment,scopes");
    let body = serde_json::to_value(update.resource()).unwrap();
    assert_eq!(body["comment"], "", "a cleared comment is sent empty");
    assert_eq!(body["scopes"], serde_json::json!([]));
}

#[test]
fn setters_keep_the_spec_order_and_no_duplicates() {
    let u = Update::token().clear_scopes().comment("a").comment("b");
    assert_eq!(u.mask().to_string(), "comment,scopes");
    assert_eq!(u.resource().comment.as_deref(), Some("b"));
    assert!(Update::token().is_empty());
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
