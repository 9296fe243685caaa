//! The committed snapshot of the generated client must be what the build generates.

#[test]
fn committed_snapshot_matches_the_build_output() {
    let built = include_str!(concat!(env!("OUT_DIR"), "/tokens_client.rs"));
    let committed = include_str!("snapshots/tokens_client.rs");
    assert!(
        built == committed,
        "tests/snapshots/tokens_client.rs is stale: the spec or the generator changed.\n\
         Run `cargo xtask regen`, review the diff it prints, and commit the snapshot."
    );
}
