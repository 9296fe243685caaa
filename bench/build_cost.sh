#!/usr/bin/env bash
# What a program that depends on this crate pays to build it: the crates it compiles and the clean-build
# time of a minimal dependent (default features, calls `WorkspaceClient::from_env()`), for a base revision
# (BEFORE, default `main`) and for this work tree (AFTER), in one run, back to back, as ratios.
#
# Usage: bench/build_cost.sh [BASE-REV] [K]   (K clean builds of each, in the order ABBA...; default 1)
#        FEATURES=google bench/build_cost.sh ...   (the dependent turns these features on, default features too)
# Each clean build gets its own CARGO_TARGET_DIR under $TMPDIR, so nothing is shared with other builds, and
# runs under `nice`: run it when the machine is otherwise idle, or the times measure the other load.
# Both dependents use this tree's Cargo.lock as a starting point, so the same versions are compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-main}
k=${2:-1}
features=$(sed 's/[^,][^,]*/"&"/g; s/,/, /g' <<<"${FEATURES:-}")
root=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/build-cost.XXXXXX")
git worktree add --quiet --detach "$work/before" "$base"
trap 'git worktree remove --force "$work/before"; rm -rf "$work"' EXIT

# A minimal dependent program of the crate at $2, in $1.
dependent() {
    mkdir -p "$1/src"
    cat >"$1/Cargo.toml" <<EOF
[package]
name = "dependent"
version = "0.1.0"
edition = "2024"

[dependencies]
databricks-tokens = { path = "$2", features = [$features] }

[workspace]
EOF
    cat >"$1/src/main.rs" <<'EOF'
fn main() {
    match databricks_tokens::WorkspaceClient::from_env() {
        Ok(_) => println!("configured"),
        Err(e) => println!("not configured: {e}"),
    }
}
EOF
    cp "$root/Cargo.lock" "$1/Cargo.lock"
}
dependent "$work/dep-before" "$work/before"
dependent "$work/dep-after" "$root"

# Distinct packages compiled for the program (run time and build time), and for the crate with more features.
crates() { # dir [cargo tree args...]
    (cd "$1" && cargo tree --quiet -e normal,build -f '{p}' --prefix none "${@:2}" | sed 's/ (\*)//; s/ (proc-macro)//' | sort -u | grep -vc '^dependent ')
}
crates_runtime() {
    (cd "$1" && cargo tree --quiet -e normal -f '{p}' --prefix none | sed 's/ (\*)//; s/ (proc-macro)//' | sort -u | grep -vc '^dependent ')
}

declare -A wall cpu units
build() { # side run
    local dir="$work/dep-$1" target="$work/target-$1" log="$work/log-$1-$2"
    rm -rf "$target"
    (cd "$dir" && CARGO_TARGET_DIR="$target" nice /usr/bin/time -v cargo build 2>"$log") || { tail -30 "$log"; exit 1; }
    local w c
    w=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    c=$(awk -F': ' '/User time \(seconds\)/ { u = $2 } /System time \(seconds\)/ { s = $2 } END { print u + s }' "$log")
    units[$1]=$(grep -c '^ *Compiling ' "$log")
    wall[$1]="${wall[$1]:-} $w"
    cpu[$1]="${cpu[$1]:-} $c"
    echo "build $2 $1: ${units[$1]} crates compiled, wall ${w} s, cpu ${c} s" >&2
}
# Fetch first, so that no build downloads.
(cd "$work/dep-before" && cargo fetch --quiet) && (cd "$work/dep-after" && cargo fetch --quiet)
for i in $(seq "$k"); do
    if (( i % 2 )); then build before "$i"; build after "$i"; else build after "$i"; build before "$i"; fi
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { printf "%.1f\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
echo
echo "dependent: default features${FEATURES:+ + $FEATURES}"
echo "base: $base ($(git rev-parse --short "$base")), after: $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes'), $(nproc) cores, $(cargo --version)"
printf '%-60s %8s %8s %6s\n' "" before after ratio
row() { printf '%-60s %8s %8s %6s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
row "crates compiled by the clean build ('Compiling' lines)" "${units[before]}" "${units[after]}"
row "crates, run time + build time (cargo tree)" "$(crates "$work/dep-before")" "$(crates "$work/dep-after")"
row "crates, run time only (cargo tree)" "$(crates_runtime "$work/dep-before")" "$(crates_runtime "$work/dep-after")"
row "clean build wall, s (median of $k)" "$(echo "${wall[before]}" | median)" "$(echo "${wall[after]}" | median)"
row "clean build cpu (user+sys), s (median of $k)" "$(echo "${cpu[before]}" | median)" "$(echo "${cpu[after]}" | median)"
# The crate itself with the features that sign JWTs, or write CSV (cargo tree only: no build).
for features in google local-workspace "google,local-workspace"; do
    row "crates, the crate with features $features" "$(crates "$work/before" -p databricks-tokens --features "$features")" \
        "$(crates "$root" -p databricks-tokens --features "$features")"
done
nt="native-tls,google,local-workspace"
row "crates, the crate with only $nt" "$(crates "$work/before" -p databricks-tokens --no-default-features --features "$nt")" \
    "$(crates "$root" -p databricks-tokens --no-default-features --features "$nt")"
