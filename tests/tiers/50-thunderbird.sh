#!/usr/bin/env bash
# Thunderbird: the extension's unit tests (Node), its package, the release `rapport`, and the
# end-to-end test with the real Thunderbird, Dovecot and native host (tests/e2e/thunderbird.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
source tests/lib.sh

step "npm ci (plugin-thunderbird)" bash -c 'cd plugin-thunderbird && npm ci --no-audit --no-fund'

run_counted "unit tests" bash -c 'cd plugin-thunderbird && node --test --test-reporter=tap test/'

step "build plugin-thunderbird/dist/rapport.xpi" bash -c 'cd plugin-thunderbird && npm run --silent build'
step "build rapport (release)" cargo build --locked --release -p rapport-cli
RAPPORT_BIN=$(rapport_bin) && export RAPPORT_BIN
export RAPPORT_XPI=$ROOT/plugin-thunderbird/dist/rapport.xpi

run_counted "tests/e2e/thunderbird.sh" bash tests/e2e/thunderbird.sh

summary
