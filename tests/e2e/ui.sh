#!/usr/bin/env bash
# The dashboard end to end: `rapport ui` driven by headless Chromium (Debian's, through
# playwright-core) on the demo database and, with ../shared, on linux-man. Checks that the
# committed ui/vendor is what the lock file's uPlot gives; security tests of the server (tokens,
# Host, Origin, CSRF, cross-site posts, paths outside the assets, bad input); every page shows
# what `rapport --json` answers for the same query; triage by keyboard and its undo, a cadence set
# in the page, done/snooze, multi-select into a group, each seen by the CLI; the page following an
# import run beside it; axe-core on every page in light and dark with no serious or critical
# violation, and no sideways scrolling at 200 % zoom. Screenshots: tests/artifacts/ui-*.png.
# Prints "N passed, M failed, K skipped"; exits non-zero on failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/lib.sh"
cd "$root"
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install chromium)"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
RAPPORT_BIN=$(rapport_bin) || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
export RAPPORT_BIN
mkdir -p tests/artifacts

step "npm ci (ui)" bash -c 'cd ui && npm ci --no-audit --no-fund --loglevel=error'
vendor_is_lockfiles() {
  local tmp
  tmp=$(mktemp -d)
  cp -r ui/vendor "$tmp/committed"
  (cd ui && node tools/vendor.js > /dev/null) || return 1
  diff -r "$tmp/committed" ui/vendor
  local rc=$?
  rm -rf "$tmp"
  return $rc
}
step "ui/vendor is what the lock file's uPlot gives" vendor_is_lockfiles
step "the binary serves the committed ui/src and ui/vendor" bash -c '
  for f in ui/src/* ui/vendor/*; do grep -q --fixed-strings "$(head -c 60 "$f" | head -n 1)" "$RAPPORT_BIN" || { echo "missing from the binary: $f"; exit 1; }; done'

for suite in security pages linux-man; do
  run_counted "$suite tests" bash -c "cd ui && node --test --test-reporter=tap test/$suite.test.js"
done
# node:test prints a skipped test's reason only in its TAP line: name it in the summary.
if ! "$root/scripts/corpora.sh" lore-linux-man > /dev/null 2>&1; then
  echo "skipped: the dashboard on linux-man — the shared corpus lore-linux-man is not available ($(shared_dir))"
fi
summary
