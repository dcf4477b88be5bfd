#!/usr/bin/env bash
# Bindings: the Node package (napi) and the UniFFI library (Python, Kotlin, Swift).
# Installs what it needs (npm ci from committed locks; JNA via scripts/setup.sh), builds both
# bindings (debug) and the pinned uniffi-bindgen, runs the Node tests (node:test), the Python
# tests (unittest) and the Kotlin smoke test, checks that the committed index.d.ts is what the
# build generates, compares the linux-man reports of both bindings with `rapport --json`, and
# syncs a local Dovecot through both.
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
pass=0; fail=0
ok() { pass=$((pass+1)); echo "ok: $1"; }
bad() { fail=$((fail+1)); echo "FAILED: $1"; }
step() { # name, command...
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}
# Adds the counts of a runner's "N passed, M failed" (or node's "# pass N"/"# fail M") output.
count_log() { # log, name
  local p f
  p=$(grep -E '^(# pass [0-9]+|[0-9]+ passed, [0-9]+ failed)' "$1" | tail -n1 | grep -oE '[0-9]+' | head -n1)
  f=$(grep -E '^(# fail [0-9]+|[0-9]+ passed, [0-9]+ failed)' "$1" | tail -n1 | grep -oE '[0-9]+' | tail -n1)
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
  echo "$2: ${p:-0} passed, ${f:-0} failed"
}
run_counted() { # name, command... (runner output is counted; a non-zero exit with no failures counts one)
  local name=$1; shift
  local log; log=$(mktemp)
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local before=$fail
  count_log "$log" "$name"
  if [ "$rc" -ne 0 ] && [ "$fail" -eq "$before" ]; then bad "$name exited $rc"; fi
  if ! grep -qE '^(# pass [0-9]+|[0-9]+ passed, [0-9]+ failed)' "$log"; then bad "$name printed no result line"; fi
  rm -f "$log"
}

step "rustfmt (bindings)" cargo fmt -p rapport-node -p rapport-ffi -- --check
step "clippy (bindings)" cargo clippy --locked -p rapport-node -p rapport-ffi --all-targets -- -D warnings

# --- Node ---
if [ ! -d bindings/node/node_modules/@napi-rs/cli ]; then
  step "npm ci (bindings/node)" bash -c 'cd bindings/node && npm ci --no-audit --no-fund --loglevel=error'
fi
step "napi build (debug)" bash -c 'cd bindings/node && npm run --silent build:debug'
step "index.d.ts is the committed one" git diff --exit-code -- bindings/node/index.d.ts bindings/node/index.js
run_counted "node tests" bash -c 'cd bindings/node && npm test --silent'

# --- UniFFI: Python, Kotlin, Swift ---
step "uniffi-bindgen + generate python/kotlin/swift" bindings/uniffi/generate.sh
step "swift sources generated" test -s target/bindings/swift/rapport_ffi.swift
run_counted "python tests" bash -c \
  'PYTHONPATH=target/bindings/python python3 bindings/uniffi/tests/run.py'
# The examples of both bindings print the same thing (timings aside).
same_output() { # node-example python-example args...
  local js=$1 py=$2; shift 2
  diff <(node "bindings/node/examples/$js" "$@" | grep -v '^Imported') \
       <(PYTHONPATH=target/bindings/python python3 "bindings/uniffi/examples/$py" "$@" | grep -v '^Imported')
}
nasty=$(./scripts/corpora.sh small-nasty)/notmuch
step "examples: top contacts, Node = Python" same_output top-contacts.js top_contacts.py "$nasty" --me cworth@cworth.org --limit 5
step "examples: waiting on me, Node = Python" same_output waiting-on-me.js waiting_on_me.py "$nasty" --me cworth@cworth.org
if [ ! -d bindings/uniffi/kotlin/node_modules/kotlin-compiler ]; then
  step "npm ci (kotlin-compiler)" bash -c 'cd bindings/uniffi/kotlin && npm ci --no-audit --no-fund --loglevel=error'
fi
run_counted "kotlin smoke test" bindings/uniffi/kotlin/smoke.sh "$nasty"

# --- Both against the CLI on linux-man ---
step "build rapport (release)" cargo build --locked --release -p rapport-cli
run_counted "linux-man: node and python vs rapport --json" bindings/compare-cli.sh
run_counted "IMAP sync through both bindings (Dovecot)" bindings/sync-e2e.sh

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
