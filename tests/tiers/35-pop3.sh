#!/usr/bin/env bash
# POP3 polling end to end against a real Dovecot and GNU Mailutils' pop3d started by the test
# (tests/e2e/pop3.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
cargo build --locked --release -p rapport-cli || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
exec tests/e2e/pop3.sh
