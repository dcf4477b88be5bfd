#!/usr/bin/env bash
# PST import benchmark on the largest public sample, the EDRM Enron PST that the npm package
# pst-extractor@1.12.0 ships (13.4 MB, 71 mails; fetched with `npm pack` and cached like
# tests/e2e/pst.sh does): `rapport import` into a fresh database against Debian's readpst writing
# the same mail as .eml files and lspst listing it, best of 5 each, taken in turn. Prints the
# times, messages/s and the ratios. With 71 mails, process start and database creation are a
# large share of every figure; no larger public PST exists and no open-source PST writer does.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/tests/lib.sh"
command -v readpst >/dev/null || { echo "bench/pst.sh: needs readpst (apt-get install pst-utils)" >&2; exit 2; }
cargo build --locked --release -q -p rapport-cli
R=$(rapport_bin)
cache=$(target_dir)/pst-samples
pst=$cache/package/example/testdata/enron.pst
if [ ! -f "$pst" ]; then
  mkdir -p "$cache"
  (cd "$cache" && npm pack --silent pst-extractor@1.12.0 > /dev/null && tar xzf pst-extractor-1.12.0.tgz package/example/testdata)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seconds() { python3 "$root/bench/measure.py" "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])'; }
best() { python3 -c 'import sys; print(min(float(x) for x in sys.argv[1:]))' "$@"; }
rapport_runs=() readpst_runs=() lspst_runs=()
for i in 1 2 3 4 5; do
  rm -f "$work"/bench.db*
  rapport_runs+=("$(seconds "$R" --db "$work/bench.db" --quiet import "$pst")")
  rm -rf "$work/eml" && mkdir "$work/eml"
  readpst_runs+=("$(seconds readpst -q -e -j 0 -o "$work/eml" "$pst")")
  lspst_runs+=("$(seconds lspst "$pst")")
done
n=$("$R" --db "$work/bench.db" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sources"])')
r=$(best "${rapport_runs[@]}") p=$(best "${readpst_runs[@]}") l=$(best "${lspst_runs[@]}")
rate() { python3 -c "print(round($n / $1))"; }
printf '%-44s %6.3f s  (%s msg/s, %s mails)\n' "rapport import (fresh database)" "$r" "$(rate "$r")" "$n"
printf '%-44s %6.3f s  (%s msg/s)\n' "readpst -e (the same mail as .eml files)" "$p" "$(rate "$p")"
printf '%-44s %6.3f s  (%s msg/s)\n' "lspst (list the items)" "$l" "$(rate "$l")"
printf 'ratio rapport / readpst: %.2fx; rapport / lspst: %.2fx (best of 5 each)\n' \
  "$(python3 -c "print($r/$p)")" "$(python3 -c "print($r/$l)")"
