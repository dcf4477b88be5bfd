#!/usr/bin/env bash
# Importing the linux-man corpus through the Node package and through the Python module, against
# the rapport CLI, in the same run: each imports into a fresh database, whole process timed
# (startup included), RUNS times in turn (default 3); prints the medians and the ratios to the
# CLI (goal: within 1.2x). Builds release versions of all three first. Not a test: no assertion.
#
#   bench/bindings.sh [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${1:-3}
triple=x86_64-unknown-linux-gnu
corpus=$(./scripts/corpora.sh lore-linux-man)
echo "building release: rapport, the Node addon, librapport_ffi" >&2
cargo build --locked --release -p rapport-cli >&2
(cd bindings/node && { [ -d node_modules/@napi-rs/cli ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent build) >&2
# index.d.ts is generated the same by debug and release builds.
out=$root/target/bindings-release
RAPPORT_BINDINGS_OUT=$out bindings/uniffi/generate.sh --release >/dev/null
rapport=target/$triple/release/rapport
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/import.js" <<JS
const { Rapport } = require('$root/bindings/node')
;(async () => {
  const db = Rapport.open(process.argv[2])
  await db.importPaths([process.argv[3]])
  await db.close()
})()
JS
cat >"$work/import.py" <<PY
import asyncio, sys
from rapport_ffi import Rapport
async def main():
    db = Rapport.open(sys.argv[1])
    await db.import_paths([sys.argv[2]])
    await db.close()
asyncio.run(main())
PY

seconds() { # command... → wall seconds
  local start=$EPOCHREALTIME
  "$@" >/dev/null
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f", b - a}'
}
# Warm the page cache once so every contender reads the same warm files.
"$rapport" --db "$work/warm.db" -q import "$corpus" >/dev/null
cli=(); node=(); py=()
for i in $(seq "$runs"); do
  rm -f "$work"/*.db*
  cli+=("$(seconds "$rapport" --db "$work/cli.db" -q import "$corpus")")
  node+=("$(seconds node "$work/import.js" "$work/node.db" "$corpus")")
  py+=("$(seconds env PYTHONPATH="$out/python" python3 "$work/import.py" "$work/py.db" "$corpus")")
  echo "run $i: cli ${cli[-1]} s, node ${node[-1]} s, python ${py[-1]} s" >&2
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mc=$(median "${cli[@]}"); mn=$(median "${node[@]}"); mp=$(median "${py[@]}")
messages=$("$rapport" --db "$work/cli.db" --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"])')
printf 'linux-man import (%s messages), median of %s runs, wall time with process start:\n' "$messages" "$runs"
printf '  rapport CLI  %6.2f s\n' "$mc"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
printf '  Node         %6.2f s  %sx the CLI\n' "$mn" "$(ratio "$mn" "$mc")"
printf '  Python       %6.2f s  %sx the CLI\n' "$mp" "$(ratio "$mp" "$mc")"
