#!/usr/bin/env bash
# Account set-up from the address alone: presets, the provider's autoconfig, guessing, both user
# name forms, against a real Dovecot and a local autoconfig server (tests/e2e/account_setup.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
cargo build --locked --release -p rapport-cli || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
exec tests/e2e/account_setup.sh
