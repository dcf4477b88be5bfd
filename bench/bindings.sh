#!/usr/bin/env bash
# Importing the linux-man corpus through the Node package and through the Python module, against
# the rapport CLI, in the same run: each imports into a fresh database, RUNS times in turn
# (default 3); prints the medians and the ratios to the CLI's whole-process time (goal: within
# 1.2x), for the import through each binding (open..close, timed inside the script) and for the
# whole process (interpreter start included). Builds release versions of all three first. Not a
# test: no assertion.
#
#   bench/bindings.sh [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${1:-3}
source tests/lib.sh
corpus=$(./scripts/corpora.sh lore-linux-man)
echo "building release: rapport, the Node addon, librapport_ffi" >&2
cargo build --locked --release -p rapport-cli >&2
(cd bindings/node && { [ -d node_modules/@napi-rs/cli ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent build) >&2
# napi passes --target itself (target/<triple>/release); index.d.ts is the same for debug and release.
out=$root/target/bindings-release
RAPPORT_BINDINGS_OUT=$out bindings/uniffi/generate.sh --release >/dev/null
rapport=$(target_dir)/release/rapport
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Each script prints the seconds from before `open` to after `close`: the import through the
# binding, without the interpreter's own start (Python 3.11 with asyncio needs ~0.2 s here).
cat >"$work/import.js" <<JS
const { Rapport } = require('$root/bindings/node')
;(async () => {
  const started = process.hrtime.bigint()
  const db = Rapport.open(process.argv[2])
  await db.importPaths([process.argv[3]])
  await db.close()
  console.log((Number(process.hrtime.bigint() - started) / 1e9).toFixed(3))
})()
JS
cat >"$work/import.py" <<PY
import asyncio, sys, time
from rapport_ffi import Rapport
async def main():
    started = time.perf_counter()
    db = Rapport.open(sys.argv[1])
    await db.import_paths([sys.argv[2]])
    await db.close()
    print(f"{time.perf_counter() - started:.3f}")
asyncio.run(main())
PY

# Runs a command; sets $wall (whole process, seconds) and $inner (what it printed).
measure() {
  local start=$EPOCHREALTIME
  inner=$("$@")
  wall=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f", b - a}')
}
"$rapport" --db "$work/warm.db" -q import "$corpus" >/dev/null
cli=(); node=(); py=(); node_in=(); py_in=()
for i in $(seq "$runs"); do
  rm -f "$work"/*.db*
  measure "$rapport" --db "$work/cli.db" -q import "$corpus"; cli+=("$wall")
  measure node "$work/import.js" "$work/node.db" "$corpus"; node+=("$wall"); node_in+=("$inner")
  measure env PYTHONPATH="$out/python" python3 "$work/import.py" "$work/py.db" "$corpus"; py+=("$wall"); py_in+=("$inner")
  echo "run $i: cli ${cli[-1]} s; node ${node_in[-1]} s (process ${node[-1]} s); python ${py_in[-1]} s (process ${py[-1]} s)" >&2
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mc=$(median "${cli[@]}"); mn=$(median "${node[@]}"); mp=$(median "${py[@]}")
mni=$(median "${node_in[@]}"); mpi=$(median "${py_in[@]}")
messages=$("$rapport" --db "$work/cli.db" --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"])')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
printf 'linux-man import (%s messages), median of %s runs:\n' "$messages" "$runs"
printf '  rapport CLI  %6.2f s  (whole process)\n' "$mc"
printf '  Node         %6.2f s  %sx the CLI (open..close); whole process %.2f s, %sx\n' "$mni" "$(ratio "$mni" "$mc")" "$mn" "$(ratio "$mn" "$mc")"
printf '  Python       %6.2f s  %sx the CLI (open..close); whole process %.2f s, %sx\n' "$mpi" "$(ratio "$mpi" "$mc")" "$mp" "$(ratio "$mp" "$mc")"
