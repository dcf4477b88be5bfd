#!/usr/bin/env bash
# Fuzzing on stable Rust: libFuzzer (from the libfuzzer-sys crate) with LLVM's coverage
# instrumentation and no sanitizer, so no nightly compiler is needed.
#
#   scripts/fuzz.sh TARGET SECONDS     run one target (its corpus grows across runs)
#   scripts/fuzz.sh all SECONDS        run every target for SECONDS each
#   scripts/fuzz.sh list               the targets
#   scripts/fuzz.sh build              only build them
#
# Targets: header_parser, mbox_splitter, native_host_frames, bridge_request, ui_request, rpc_dispatch,
# outlook_files (.msg and .pst).
# Seeds come from the project's test mail (fuzz/make_seeds.py); the growing corpus lives in
# $FUZZ_DIR (default target/fuzz-work). A crash stops the run with exit 1 and leaves its input in
# $FUZZ_DIR/artifacts/TARGET/; replay it with `scripts/fuzz.sh TARGET 0 FILE` and turn it into
# a regression test. Each run ends with one line: TARGET: N executions in S s, K crash(es).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS="header_parser mbox_splitter native_host_frames bridge_request ui_request rpc_dispatch outlook_files exchange_answers http_answers"
target=${1:-}
seconds=${2:-60}
case "$target" in
  "" | -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  list) echo "$TARGETS" | tr ' ' '\n'; exit 0 ;;
esac
if [ "$target" != all ] && [ "$target" != build ] && ! echo " $TARGETS " | grep -q " $target "; then
  echo "fuzz.sh: unknown target '$target' (scripts/fuzz.sh list)" >&2
  exit 2
fi
command -v c++ >/dev/null || { echo "fuzz.sh: libFuzzer needs a C++ compiler (apt-get install g++)" >&2; exit 2; }

triple=$(rustc -vV | sed -n 's/^host: //p')
target_dir=${CARGO_TARGET_DIR:-$PWD/target}/fuzz
work=${FUZZ_DIR:-$PWD/target/fuzz-work}
# The flags cargo-fuzz passes for `--sanitizer none`: coverage counters, comparison tracing.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
echo "fuzz.sh: building the targets (instrumented, release)…" >&2
# --target keeps build scripts and proc macros uninstrumented.
cargo build --locked --release --quiet --manifest-path fuzz/Cargo.toml --target "$triple" \
  --target-dir "$target_dir" --bins
bin_dir=$target_dir/$triple/release
[ "$target" = build ] && exit 0

run_one() {
  local name=$1 secs=$2
  shift 2
  local corpus=$work/corpus/$name artifacts=$work/artifacts/$name/ log=$work/logs/$name.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  if [ -z "$(ls -A "$corpus")" ]; then
    python3 fuzz/make_seeds.py "$work/seeds"
    cp "$work/seeds/$name"/* "$corpus"/
  fi
  local started=$SECONDS rc=0
  if [ "$#" -gt 0 ]; then
    # Replaying given inputs.
    "$bin_dir/$name" "$@" 2>"$log" || rc=$?
  else
    "$bin_dir/$name" "$corpus" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 \
      -max_len=262144 -print_final_stats=1 -artifact_prefix="$artifacts" 2>"$log" || rc=$?
  fi
  local runs crashes
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(find "$artifacts" -type f -newer "$log.start" 2>/dev/null | wc -l)
  echo "$name: ${runs:-?} executions in $((SECONDS - started)) s, corpus $(ls "$corpus" | wc -l) inputs, $crashes crash(es)"
  if [ "$rc" -ne 0 ]; then
    echo "fuzz.sh: $name failed (exit $rc); the end of its log ($log):" >&2
    tail -n 40 "$log" >&2
    ls "$artifacts" >&2
    return 1
  fi
}

status=0
for name in $( [ "$target" = all ] && echo "$TARGETS" || echo "$target" ); do
  mkdir -p "$work/logs"
  touch "$work/logs/$name.log.start"
  run_one "$name" "$seconds" "${@:3}" || status=1
done
exit $status
