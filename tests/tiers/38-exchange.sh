#!/usr/bin/env bash
# Exchange over EWS end to end against the protocol-faithful double (tests/e2e/exchange.sh).
# The double's NTLM acceptor is pyspnego, its schema validator lxml (pip).
set -uo pipefail
cd "$(dirname "$0")/../.."
python3 -c 'import spnego, cryptography, lxml' 2>/dev/null ||
  python3 -m pip install --quiet pyspnego lxml 2>/dev/null ||
  python3 -m pip install --quiet --break-system-packages pyspnego lxml ||
  { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
cargo build --locked --release -p rapport-cli || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
exec tests/e2e/exchange.sh
