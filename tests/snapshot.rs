//! The committed snapshots of the generated clients must be what the build generates: the header, then the
//! spec's tables, the client and its open enums, which the build writes apart (`build.rs`) and the crate compiles in different
//! modules.

fn check(tables: &str, client: &str, open_enums: &str, committed: &str, name: &str) {
    let (header, code) = committed.split_at(committed.find("\n\n").map_or(0, |i| i + 2));
    assert!(
        header.starts_with("// @generated")
            && header.lines().all(|l| l.is_empty() || l.starts_with("//"))
            && code == format!("{tables}{client}{open_enums}"),
        "tests/snapshots/{name} is stale: the spec or the generator changed.\n\
         Run `cargo xtask regen`, review the diff it prints, and commit the snapshot."
    );
}

#[test]
fn committed_snapshots_match_the_build_output() {
    check(
        include_str!(concat!(env!("OUT_DIR"), "/tokens_tables.rs")),
        include_str!(concat!(env!("OUT_DIR"), "/tokens_client.rs")),
        include_str!(concat!(env!("OUT_DIR"), "/tokens_open_enums.rs")),
        include_str!("snapshots/tokens_client.rs"),
        "tokens_client.rs",
    );
    check(
        include_str!(concat!(env!("OUT_DIR"), "/token_management_tables.rs")),
        include_str!(concat!(env!("OUT_DIR"), "/token_management_client.rs")),
        include_str!(concat!(env!("OUT_DIR"), "/token_management_open_enums.rs")),
        include_str!("snapshots/token_management_client.rs"),
        "token_management_client.rs",
    );
    check(
        include_str!(concat!(env!("OUT_DIR"), "/workspaces_tables.rs")),
        include_str!(concat!(env!("OUT_DIR"), "/workspaces_client.rs")),
        include_str!(concat!(env!("OUT_DIR"), "/workspaces_open_enums.rs")),
        include_str!("snapshots/workspaces_client.rs"),
        "workspaces_client.rs",
    );
}
