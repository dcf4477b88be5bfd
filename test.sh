#!/usr/bin/env bash
# Runs every test tier of Rapport from a clean checkout: installs what the tests need when it is
# missing (Debian packages, npm and pip packages), builds, then runs tests/tiers/*.sh in order.
# Each tier prints "N passed, M failed, K skipped"; this script exits non-zero if any tier failed
# and names what was skipped and why (without ../shared: the tests that need its corpora).
#
#   ./test.sh            every tier
#   ./test.sh rust imap  only tiers whose file name contains one of the words
set -uo pipefail
cd "$(dirname "$0")"
export RAPPORT_ROOT=$PWD
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

./scripts/setup.sh || { echo "setup failed"; exit 1; }

results=()
skips=()
failed=0
for tier in tests/tiers/*.sh; do
  name=$(basename "$tier" .sh)
  if [ $# -gt 0 ]; then
    match=0
    for w in "$@"; do [[ "$name" == *"$w"* ]] && match=1; done
    [ $match = 1 ] || continue
  fi
  echo
  echo "=== tier $name ==="
  start=$(date +%s)
  log=$(mktemp)
  bash "$tier" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  secs=$(( $(date +%s) - start ))
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  while IFS= read -r s; do skips+=("  $name: ${s#skipped: }"); done < <(grep -E '^skipped: ' "$log")
  rm -f "$log"
  if [ $rc -ne 0 ]; then
    failed=1
    results+=("FAIL  $name (${secs}s) ${line:-exit $rc}")
  else
    results+=("ok    $name (${secs}s) ${line}")
  fi
done

echo
echo "=== summary ==="
printf '%s\n' "${results[@]}"
if [ ${#skips[@]} -gt 0 ]; then
  echo "skipped:"
  printf '%s\n' "${skips[@]}"
fi
exit $failed
