#!/usr/bin/env bash
# Rust: formatting, lints, unit tests, and the cross-component tests in tests/ (corpora, kill -9,
# idempotency, the shipped small corpus). The tests that need ../shared print "SKIPPED test:
# reason" without it; they are counted here as skipped, not passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --locked --all-targets -- -D warnings
step "build rapport (release)" cargo build --locked --release -p rapport-cli
RAPPORT_BIN=$(rapport_bin) || { bad "no rapport binary"; summary; }
export RAPPORT_BIN
log=$(mktemp)
cargo test --locked 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
p=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
f=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
# libtest counts a test that skipped itself as passed: move it to the skips.
while IFS= read -r line; do
  name=${line#SKIPPED }
  skip "${name%%: *}" "${name#*: }"
  p=$((p - 1))
done < <(grep -oE 'SKIPPED [A-Za-z0-9_]+: .*' "$log" | sort -u)
rm -f "$log"
pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
[ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ] && bad "cargo test exited $rc"
summary
