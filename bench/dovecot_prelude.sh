# Sourced by the server benchmarks (bench/imap.sh, bench/pop3.sh): builds the release binary,
# loads the linux-man corpus into a private Dovecot on 127.0.0.1 (tests/harness/dovecot.sh) and
# sets R (the binary), corpus, work (a scratch directory removed on exit), the harness's
# DV_* ports and DV_CA, and RAPPORT_CONFIG / BENCH_PW for a `bench` account.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cargo build --locked --release -p rapport-cli >/dev/null 2>&1 || cargo build --locked --release -p rapport-cli
source tests/lib.sh
R=$(target_dir)/release/rapport
corpus=$("$root/scripts/corpora.sh" lore-linux-man)/lore-linux-man/cur
work=$(mktemp -d "/tmp/rapport-$(basename "$0" .sh)-bench.XXXXXX"); chmod 755 "$work"
export DV_DIR=$work/dovecot
export RAPPORT_CONFIG=$work/accounts.toml BENCH_PW=alice-pw
trap '"$root/tests/harness/dovecot.sh" stop >/dev/null 2>&1; rm -rf "$work"' EXIT
"$root/tests/harness/dovecot.sh" start "$corpus" > "$work/start.log" 2>&1
. "$DV_DIR/env"   # the free ports the harness picked

# Best of 3, taken in turn with a bare client (the machine's speed drifts): record_run takes one
# run's bare seconds and the rapport run's bench/measure.py JSON, and keeps the best of each
# (bare_s; rapport_s with its JSON in rapport_best) and every ratio (median_ratio prints theirs).
seconds_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])'; }
bare_s=999; rapport_s=999; rapport_best=; ratios=()
record_run() { # label, bare seconds, rapport json
  local s
  s=$(echo "$3" | seconds_of)
  ratios+=("$(python3 -c "print(round($s / $2, 2))")")
  echo "run ${#ratios[@]}: $1 $2 s, rapport $s s, ratio ${ratios[-1]}" >&2
  bare_s=$(python3 -c "print(min($bare_s, $2))")
  if python3 -c "import sys; sys.exit(0 if $s < $rapport_s else 1)"; then
    rapport_s=$s
    rapport_best=$3
  fi
}
median_ratio() { printf '%s\n' "${ratios[@]}" | sort -g | sed -n 2p; }
