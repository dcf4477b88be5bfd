#!/usr/bin/env bash
# Every writer at one database at once: a first import of a generated mailbox (200,000 messages
# by default, RAPPORT_CONCURRENCY_MESSAGES to change) and a second import beside it, then a
# re-import of the whole mailbox, each with, at the same time, a CLI edit every second, a
# native-host capture every 0.3 s, a bridge capture every 0.5 s and `rapport contacts` in a loop
# (tests/e2e/concurrency/drive.py). Checks: no writer fails, and the database equals the same
# work done one thing after another (stats, contacts, threads). Prints each writer's p50/p99.
# Prints "N passed, M failed, K skipped"; exits non-zero on failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/lib.sh"
R=$(rapport_bin) || exit 2
DRIVE="python3 $root/tests/e2e/concurrency/drive.py"
count=${RAPPORT_CONCURRENCY_MESSAGES:-200000}

work=$(mktemp -d /tmp/rapport-concurrency.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
export RAPPORT_LOG=off

python3 "$root/tests/e2e/concurrency/make_mailbox.py" "$work/big.mbox" "$count" 1 m
python3 "$root/tests/e2e/concurrency/make_mailbox.py" "$work/second.mbox" $((count / 10)) 2 s
echo "generated $count + $((count / 10)) messages"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One database with its own bridge: `rapport install outlook` then `rapport serve`.
prepare() { # name → $work/NAME/{rapport.db,outlook}, bridge port in $work/NAME/port
  local d=$work/$1 port
  mkdir -p "$d"
  port=$(free_port)
  echo "$port" > "$d/port"
  "$R" --db "$d/rapport.db" -q identity add me@rapport.test > /dev/null || return 1
  "$R" --db "$d/rapport.db" --json install outlook --dir "$d/outlook" --port "$port" > /dev/null || return 1
  "$R" --db "$d/rapport.db" serve --dir "$d/outlook" 2> "$d/serve.log" &
  pids+=($!)
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "rapport serve did not start: $(cat "$d/serve.log")"
  return 1
}
drive() { # mode, name
  local d=$work/$2
  $DRIVE "$1" "$R" "$d/rapport.db" "$d/outlook" "$(cat "$d/port")" "$work/done.json" \
    "$work/big.mbox" "$work/second.mbox"
}

step "bridge and database for the concurrent run" prepare together
step "bridge and database for the one-after-another run" prepare alone
step "every writer at once: none fails" drive concurrent together
step "the same work one thing after another" drive sequential alone

# Row numbers depend on the order things were stored in, and only they may differ: drop them
# and sort, so what is compared is the content.
canonical() { python3 -c '
import json, sys
rows = json.load(sys.stdin)
if isinstance(rows, list):
    for r in rows:
        r.pop("id", None)
    rows.sort(key=lambda r: json.dumps(r, sort_keys=True))
json.dump(rows, sys.stdout, indent=1, sort_keys=True)'; }
same() { # what, rapport args...
  local what=$1
  shift
  "$R" --db "$work/together/rapport.db" "$@" | canonical > "$work/together.$what" 2>&1
  "$R" --db "$work/alone/rapport.db" "$@" | canonical > "$work/alone.$what" 2>&1
  if cmp -s "$work/together.$what" "$work/alone.$what"; then return 0; fi
  diff "$work/together.$what" "$work/alone.$what" | head -n 20
  return 1
}
check_counts() {
  python3 - "$work/together.stats" "$count" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1]))
expected = int(sys.argv[2]) + int(sys.argv[2]) // 10
assert stats["messages"] >= expected, f"{stats['messages']} messages, expected at least {expected}"
print(f"{stats['messages']} messages, {stats['threads']} threads, {stats['contacts']} contacts")
PY
}
step "stats --json equal" same stats stats --json
step "every message stored" check_counts
step "contacts equal" same contacts contacts --json --limit 1000000 --sort messages
step "threads equal" same threads threads --json --limit 1000000
step "database integrity" "$R" --db "$work/together/rapport.db" doctor
summary
