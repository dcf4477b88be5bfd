#!/usr/bin/env bash
# Hostile messages: the time to import one message whose References holds 320,000 ids and one
# whose To holds 100,000 addresses (issue #11: they took 117 s and 35 s when de-duplication was
# quadratic). Prints one line each; with RAPPORT_BASELINE_BIN=an/older/rapport that build is
# timed too (it may take minutes). No assertions: a benchmark, not a test.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/tests/lib.sh"
R=$(rapport_bin) || exit 2
work=$(mktemp -d /tmp/rapport-hostile.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import sys
d = sys.argv[1]
head = "From: a@example.org\nSubject: {s}\nDate: Mon, 2 Nov 2026 10:00:00 +0000\nMessage-ID: <{s}@x>\n"
refs = " ".join(f"<r{i}@refs.example>" for i in range(320_000))
open(f"{d}/references.eml", "w").write(head.format(s="refs") + f"To: me@example.com\nReferences: {refs}\n\nbody\n")
to = ", ".join(f"p{i}@to.example" for i in range(100_000))
open(f"{d}/to.eml", "w").write(head.format(s="to") + f"To: {to}\n\nbody\n")
PY
time_import() { # binary, file → seconds
  rm -f "$work/t.db"*
  local s e
  s=$(date +%s.%N)
  "$1" --db "$work/t.db" -q import "$2" || echo "(import failed)" >&2
  e=$(date +%s.%N)
  echo "$e - $s" | bc
}
for case in "references.eml:320,000 References ids" "to.eml:100,000 To addresses"; do
  file=${case%%:*}
  what=${case#*:}
  line="$what: $(time_import "$R" "$work/$file") s"
  if [ -n "${RAPPORT_BASELINE_BIN:-}" ]; then
    line="$line (baseline build: $(time_import "$RAPPORT_BASELINE_BIN" "$work/$file") s)"
  fi
  echo "$line"
done
