#!/usr/bin/env bash
# Bindings: the Node package (napi) and the UniFFI library (Python, Kotlin, Swift).
# Installs what it needs (npm ci from committed locks; JNA via scripts/setup.sh), builds both
# bindings (debug) and the pinned uniffi-bindgen, runs the Node tests (node:test), the Python
# tests (unittest) and the Kotlin smoke test, checks that the committed index.d.ts is what the
# build generates, compares the linux-man reports of both bindings with `rapport --json`, and
# syncs a local Dovecot through both.
# Without ../shared the examples and the Kotlin test run on the shipped small corpus and the
# linux-man comparison is skipped. Prints "N passed, M failed, K skipped"; exits non-zero on any
# failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

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
# notmuch's corpora from ../shared, else the shipped notmuch-default (as notmuch's maintainer).
if mail=$(corpus small-nasty); then mail=$mail/notmuch me=cworth@cworth.org
else mail=$(small_corpus)/maildir me=cworth@cworth.org; fi
step "examples: top contacts, Node = Python" same_output top-contacts.js top_contacts.py "$mail" --me "$me" --limit 5
step "examples: waiting on me, Node = Python" same_output waiting-on-me.js waiting_on_me.py "$mail" --me "$me"
if [ ! -d bindings/uniffi/kotlin/node_modules/kotlin-compiler ]; then
  step "npm ci (kotlin-compiler)" bash -c 'cd bindings/uniffi/kotlin && npm ci --no-audit --no-fund --loglevel=error'
fi
run_counted "kotlin smoke test" bindings/uniffi/kotlin/smoke.sh "$mail"

# --- Both against the CLI on linux-man ---
step "build rapport (release)" cargo build --locked --release -p rapport-cli
RAPPORT_BIN=$(rapport_bin) && export RAPPORT_BIN
run_counted "linux-man: node and python vs rapport --json" bindings/compare-cli.sh
run_counted "IMAP sync through both bindings (Dovecot)" bindings/sync-e2e.sh

summary
