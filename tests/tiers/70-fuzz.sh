#!/usr/bin/env bash
# Fuzzing: every target of fuzz/ for 30 seconds from its seeds (scripts/fuzz.sh); one test per
# target, failed by a crash, a hang or a broken invariant. Longer runs are for machines with
# time to spare: `scripts/fuzz.sh all 600` (the README has the latest figures).
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/lib.sh
# A fresh corpus each run in CI: what it finds does not depend on an earlier run.
export FUZZ_DIR=${FUZZ_DIR:-$(mktemp -d)}
step "cargo fmt --check (fuzz)" cargo fmt --manifest-path fuzz/Cargo.toml -- --check
step "cargo clippy (fuzz)" cargo clippy --locked --manifest-path fuzz/Cargo.toml --bins -- -D warnings
step "build the fuzz targets" scripts/fuzz.sh build
for target in $(scripts/fuzz.sh list); do
  if out=$(scripts/fuzz.sh "$target" "${FUZZ_SECONDS:-30}" 2>&1); then
    ok "$(echo "$out" | tail -n 1)"
  else
    echo "$out" | tail -n 60
    bad "fuzz $target"
  fi
done
summary
