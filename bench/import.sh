#!/usr/bin/env bash
# Import benchmark on the shared linux-man corpus (17,885 messages): Rapport's import against
# the practical limit (read + header parse, one thread), `notmuch new` and `mu index` on the
# same maildir, in the same run. Prints one line per tool and the ratios.
#   bench/import.sh            all tools (notmuch takes about 90 s)
#   bench/import.sh --quick    Rapport and the parse-only limit only
# With RAPPORT_BASELINE_BIN=path/to/an/older/rapport, that build is timed too, in turn with this
# one, and the ratio printed: the way to compare two builds on a machine whose speed drifts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=${1:-}
cargo build --locked --release -p rapport-cli -p rapport-bench >/dev/null 2>&1 || cargo build --locked --release -p rapport-cli -p rapport-bench
source tests/lib.sh
R=$(target_dir)/release/rapport
B=$(target_dir)/release/rapport-bench
maildir=$("$root/scripts/corpora.sh" lore-linux-man)/lore-linux-man
n=$(find "$maildir/cur" "$maildir/new" -type f | wc -l)
work=$(mktemp -d /tmp/rapport-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
m() { python3 "$root/bench/measure.py" "$@"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

echo "corpus: $n messages in $maildir ($(nproc) cores)"
cat "$maildir"/cur/* > /dev/null   # warm the page cache for every tool alike

parse=$("$B" parse-only "$maildir")
parse_s=$(echo "$parse" | json '["seconds"]')

baseline=${RAPPORT_BASELINE_BIN:-}
best=""; base_best=""
faster() { [ -z "$2" ] || python3 -c "import sys; sys.exit(0 if $(echo "$1" | json '["seconds"]') < $(echo "$2" | json '["seconds"]') else 1)"; }
for i in 1 2 3; do
  rm -f "$work"/rapport.db*
  r=$(m "$R" --db "$work/rapport.db" --quiet import "$maildir" --policy sent-and-received)
  if faster "$r" "$best"; then best=$r; fi
  if [ -n "$baseline" ]; then
    rm -f "$work"/baseline.db*
    r=$(m "$baseline" --db "$work/baseline.db" --quiet import "$maildir" --policy sent-and-received)
    if faster "$r" "$base_best"; then base_best=$r; fi
  fi
done
rap_s=$(echo "$best" | json '["seconds"]'); rap_rss=$(echo "$best" | json '["max_rss_mb"]')

line() { printf '%-34s %8.2f s %9.0f msg/s %s\n' "$1" "$2" "$(python3 -c "print($n/$2)")" "${3:-}"; }
echo
line "read + parse headers (1 thread)" "$parse_s" "(the practical limit)"
line "rapport import (best of 3)" "$rap_s" "peak RSS ${rap_rss} MB"
if [ -n "$baseline" ]; then
  base_s=$(echo "$base_best" | json '["seconds"]')
  line "baseline build (best of 3)" "$base_s" "peak RSS $(echo "$base_best" | json '["max_rss_mb"]') MB; this build takes $(python3 -c "print(round($rap_s/$base_s, 2))")x its time"
fi

if [ "$quick" != "--quick" ]; then
  if command -v notmuch >/dev/null; then
    mkdir -p "$work/nm"
    printf '[database]\npath=%s\nmail_root=%s\n[new]\ntags=inbox;\n[maildir]\nsynchronize_flags=false\n' "$work/nm" "$maildir" > "$work/nm.conf"
    nm=$(NOTMUCH_CONFIG=$work/nm.conf m notmuch new --quiet)
    nm_s=$(echo "$nm" | json '["seconds"]')
    line "notmuch new" "$nm_s" "peak RSS $(echo "$nm" | json '["max_rss_mb"]') MB"
  fi
  if command -v mu >/dev/null; then
    mu init --muhome="$work/mu" --maildir="$maildir" >/dev/null 2>&1
    mu=$(m mu index --muhome="$work/mu" --quiet)
    mu_s=$(echo "$mu" | json '["seconds"]')
    line "mu index" "$mu_s" "peak RSS $(echo "$mu" | json '["max_rss_mb"]') MB"
  fi
fi
echo
python3 - "$parse_s" "$rap_s" "${nm_s:-0}" "${mu_s:-0}" <<'PY'
import sys
parse, rap, nm, mu = map(float, sys.argv[1:])
print(f"rapport / parse-only limit: {rap/parse:.2f}x the time")
if nm: print(f"notmuch new / rapport: rapport is {nm/rap:.0f}x faster")
if mu: print(f"mu index / rapport: rapport is {mu/rap:.1f}x faster")
PY
