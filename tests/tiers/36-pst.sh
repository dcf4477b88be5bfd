#!/usr/bin/env bash
# Outlook data files (.pst) end to end against Debian's readpst on public samples
# (tests/e2e/pst.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
cargo build --locked --release -p rapport-cli || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
exec tests/e2e/pst.sh
