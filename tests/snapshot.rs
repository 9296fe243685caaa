//! The committed snapshots of the generated clients must be what the build generates.

fn check(built: &str, committed: &str, name: &str) {
    assert!(
        built == committed,
        "tests/snapshots/{name} is stale: the spec or the generator changed.\n\
         Run `cargo xtask regen`, review the diff it prints, and commit the snapshot."
    );
}

#[test]
fn committed_snapshots_match_the_build_output() {
    check(include_str!(concat!(env!("OUT_DIR"), "/tokens_client.rs")), include_str!("snapshots/tokens_client.rs"), "tokens_client.rs");
    check(
        include_str!(concat!(env!("OUT_DIR"), "/token_management_client.rs")),
        include_str!("snapshots/token_management_client.rs"),
        "token_management_client.rs",
    );
    check(
        include_str!(concat!(env!("OUT_DIR"), "/workspaces_client.rs")),
        include_str!("snapshots/workspaces_client.rs"),
        "workspaces_client.rs",
    );
}
