#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 20), failing on the first crash.
#
#   bash fuzz/run.sh          # 20 s per target
#   bash fuzz/run.sh 600      # 10 minutes per target
#   FUZZ_TARGETS="error_parser field_mask" bash fuzz/run.sh 60
#
# Installs what it needs when it is missing: a nightly toolchain (or, when none can be installed, the
# default toolchain with RUSTC_BOOTSTRAP=1, which unlocks the -Z flags cargo-fuzz passes), and cargo-fuzz.
# Builds in $CARGO_TARGET_DIR (default: target-fuzz/ at the repository root, apart from the main
# workspace's target/). New inputs the fuzzer finds go to $CARGO_TARGET_DIR/fuzz-corpus/<target>; the
# committed seeds in fuzz/corpus/<target> are only read. A crash is saved in fuzz/artifacts/<target>/.
set -euo pipefail

SECONDS_PER_TARGET="${1:-20}"
if ! [[ "$SECONDS_PER_TARGET" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: bash fuzz/run.sh [SECONDS per target, default 20]" >&2
    exit 2
fi

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$FUZZ_DIR")"
cd "$ROOT"
SECONDS=0
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target-fuzz}"

now() { date +%s; }
say() { printf 'fuzz: %s\n' "$*"; }

# The toolchain: nightly when there is one or one can be installed; else the default toolchain with
# RUSTC_BOOTSTRAP=1 (a machine that can reach crates.io but not the toolchain server).
TOOLCHAIN=()
if RUSTUP_AUTO_INSTALL=0 rustup run nightly rustc --version >/dev/null 2>&1; then
    TOOLCHAIN=(+nightly)
else
    t0=$(now)
    if timeout 300 rustup toolchain install nightly --profile minimal; then
        say "installed the nightly toolchain in $(($(now) - t0)) s"
        TOOLCHAIN=(+nightly)
    else
        say "no nightly toolchain could be installed ($(($(now) - t0)) s): using $(rustc --version) with RUSTC_BOOTSTRAP=1"
        export RUSTC_BOOTSTRAP=1
    fi
fi
cargo_fuzz() { cargo "${TOOLCHAIN[@]}" fuzz "$@"; }

if ! cargo fuzz --version >/dev/null 2>&1; then
    t0=$(now)
    cargo install cargo-fuzz --locked
    say "installed cargo-fuzz in $(($(now) - t0)) s"
fi
say "$(rustc "${TOOLCHAIN[@]}" --version), $(cargo fuzz --version)"

t0=$(now)
cargo_fuzz build --fuzz-dir "$FUZZ_DIR"
say "built the fuzz targets in $(($(now) - t0)) s"

read -r -a targets <<<"${FUZZ_TARGETS:-$(cargo_fuzz list --fuzz-dir "$FUZZ_DIR" | tr '\n' ' ')}"
for target in "${targets[@]}"; do
    work="$CARGO_TARGET_DIR/fuzz-corpus/$target"
    mkdir -p "$work" "$FUZZ_DIR/corpus/$target"
    say "$target for $SECONDS_PER_TARGET s"
    t0=$(now)
    log="$CARGO_TARGET_DIR/fuzz-logs/$target.log"
    mkdir -p "$(dirname "$log")"
    # -timeout: one input taking 10 s is a hang, reported as a crash. -rss_limit_mb bounds memory.
    if ! cargo_fuzz run --fuzz-dir "$FUZZ_DIR" "$target" "$work" "$FUZZ_DIR/corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1; then
        tail -n 80 "$log"
        say "$target FAILED after $(($(now) - t0)) s: the input is in fuzz/artifacts/$target/ (full log: $log)"
        exit 1
    fi
    say "$target: no crash in $(($(now) - t0)) s; $(grep -a -E '^Done [0-9]+ runs' "$log" || true); $(find "$work" -type f | wc -l) inputs in the corpus"
done
say "all ${#targets[@]} targets ran $SECONDS_PER_TARGET s each without a crash ($SECONDS s in all)"
