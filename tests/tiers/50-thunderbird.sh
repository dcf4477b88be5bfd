#!/usr/bin/env bash
# Thunderbird: the extension's unit tests (Node), its package, the release `rapport`, and the
# end-to-end test with the real Thunderbird, Dovecot and native host (tests/e2e/thunderbird.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
pass=0; fail=0
step() { # name, command...
  local name=$1; shift
  if "$@"; then pass=$((pass+1)); echo "ok: $name"; else fail=$((fail+1)); echo "FAILED: $name"; fi
}
count_tap() { # log file: add node:test's "# pass N" / "# fail N" to the totals
  local p f
  p=$(grep -E '^# pass [0-9]+' "$1" | tail -n 1 | awk '{print $3}')
  f=$(grep -E '^# fail [0-9]+' "$1" | tail -n 1 | awk '{print $3}')
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
}

step "npm ci (plugin-thunderbird)" bash -c 'cd plugin-thunderbird && npm ci --no-audit --no-fund'

log=$(mktemp)
(cd plugin-thunderbird && node --test --test-reporter=tap test/) 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
count_tap "$log"
if [ "$rc" -ne 0 ] && ! grep -qE '^# fail [1-9]' "$log"; then fail=$((fail+1)); echo "FAILED: unit tests exited $rc"; fi
rm -f "$log"

step "build plugin-thunderbird/dist/rapport.xpi" bash -c 'cd plugin-thunderbird && npm run --silent build'
step "build rapport (release)" cargo build --locked --release -p rapport-cli
export RAPPORT_BIN=$ROOT/target/x86_64-unknown-linux-gnu/release/rapport
export RAPPORT_XPI=$ROOT/plugin-thunderbird/dist/rapport.xpi

log=$(mktemp)
bash tests/e2e/thunderbird.sh 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
rm -f "$log"
if [ -n "$line" ]; then
  pass=$((pass + $(echo "$line" | awk '{print $1}'))); fail=$((fail + $(echo "$line" | awk '{print $3}')))
fi
[ "$rc" -ne 0 ] && [ -z "$line" ] && fail=$((fail+1)) && echo "FAILED: tests/e2e/thunderbird.sh exited $rc"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
