#!/usr/bin/env bash
# Outlook add-in + local bridge: unit tests of the adapter and capture logic (office-addin-mock),
# the manifest checks, security tests against a running `rapport serve`, and a headless Chromium
# test of the real task pane over HTTPS. Screenshots go to tests/artifacts/.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
pass=0; fail=0
step() { # name, command...
  local name=$1; shift
  if "$@"; then pass=$((pass+1)); echo "ok: $name"; else fail=$((fail+1)); echo "FAILED: $name"; fi
}

step "npm ci (plugin-outlook)" bash -c 'cd plugin-outlook && npm ci --no-audit --no-fund --loglevel=error'
step "build rapport (release)" cargo build --locked --release -p rapport-cli
export RAPPORT_BIN=$root/target/x86_64-unknown-linux-gnu/release/rapport
mkdir -p tests/artifacts

# node --test prints "# pass N" and "# fail M" per file; add them up.
for suite in unit manifest security browser; do
  log=$(mktemp)
  (cd plugin-outlook && node --test --test-reporter=tap "test/$suite.test.js") 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(grep -E '^# pass [0-9]+' "$log" | tail -n 1 | awk '{print $3}')
  f=$(grep -E '^# fail [0-9]+' "$log" | tail -n 1 | awk '{print $3}')
  rm -f "$log"
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
  if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then fail=$((fail+1)); echo "FAILED: $suite tests exited $rc"; fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
