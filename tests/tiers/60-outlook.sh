#!/usr/bin/env bash
# Outlook add-in + local bridge: unit tests of the adapter and capture logic (office-addin-mock),
# the manifest checks, security tests against a running `rapport serve`, and a headless Chromium
# test of the real task pane over HTTPS. Screenshots go to tests/artifacts/.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh

step "npm ci (plugin-outlook)" bash -c 'cd plugin-outlook && npm ci --no-audit --no-fund --loglevel=error'
step "build rapport (release)" cargo build --locked --release -p rapport-cli
RAPPORT_BIN=$(rapport_bin) && export RAPPORT_BIN
mkdir -p tests/artifacts

# node --test prints "# pass N" and "# fail M" per file; run_counted adds them up.
for suite in unit manifest security browser; do
  run_counted "$suite tests" bash -c "cd plugin-outlook && node --test --test-reporter=tap test/$suite.test.js"
done

summary
