#!/usr/bin/env bash
# The dashboard (`rapport ui`) in headless Chromium: tests/e2e/ui.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
cargo build --locked --release -p rapport-cli || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
exec tests/e2e/ui.sh
