#!/usr/bin/env bash
# Rust: formatting, lints, unit tests, and the cross-component tests in tests/ (corpora, kill -9,
# idempotency). The corpus tests need ../shared; they fail with a clear message if it is missing.
set -uo pipefail
cd "$(dirname "$0")/../.."
pass=0; fail=0
step() { # name, command...
  local name=$1; shift
  if "$@"; then pass=$((pass+1)); echo "ok: $name"; else fail=$((fail+1)); echo "FAILED: $name"; fi
}
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --locked --all-targets -- -D warnings
step "build rapport (release)" cargo build --locked --release -p rapport-cli
export RAPPORT_BIN=$PWD/target/x86_64-unknown-linux-gnu/release/rapport
export RAPPORT_CORPORA=$(./scripts/corpora.sh lore-linux-man >/dev/null && dirname "$(./scripts/corpora.sh lore-linux-man)")
log=$(mktemp)
cargo test --locked 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
p=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
f=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
rm -f "$log"
pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
[ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ] && fail=$((fail+1)) && echo "FAILED: cargo test exited $rc"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
