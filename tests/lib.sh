# Shared shell helpers for Rapport's test scripts (tiers, e2e scripts, binding checks).
# Source it; it does not change the shell options of the caller.
#
#   step NAME CMD...      runs CMD; counts and prints "ok: NAME" or "FAILED: NAME"
#   ok NAME / bad NAME    count a result decided by the caller
#   skip NAME REASON      counts a skip; prints "skipped: NAME — REASON"
#   run_counted NAME CMD… runs a runner that prints its own counts and adds them (see count_log)
#   summary               prints "N passed, M failed, K skipped" and exits non-zero on failures
#   rapport_bin           the built `rapport` ($RAPPORT_BIN, else release, else debug)
#   target_dir            cargo's target directory ($CARGO_TARGET_DIR, else target/)
#   shared_dir            $RAPPORT_SHARED, else ../shared beside the project
#   corpus NAME           prints the extracted shared corpus, or the reason it is missing (exit 3)
#   small_corpus          tests/corpus/notmuch-default (shipped: threaded list mail + notmuch answer)
#   big_mailbox WORK      linux-man's messages, else 340 renamed copies of the shipped corpus
#   fingerprint DB        a database's stats (less sources), contacts and threads, for comparing

# The checkout this file belongs to (test.sh exports the same).
RAPPORT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pass=0
fail=0
skipped=0

ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAILED: $*"; }
step() { # name, command...
  local name=$1
  shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}
skip() { # name, reason
  skipped=$((skipped + 1))
  echo "skipped: $1 — $2"
}
summary() {
  echo "$pass passed, $fail failed, $skipped skipped"
  [ "$fail" -eq 0 ] && exit 0
  exit 1
}

# Adds the counts of a runner's last "N passed, M failed[, K skipped]" line, or node:test's
# "# pass N" / "# fail M" / "# skipped K"; skip lines it printed are already on the screen.
count_log() { # log, name
  local line p f s
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
  if [ -n "$line" ]; then
    p=$(echo "$line" | awk '{print $1}')
    f=$(echo "$line" | awk '{print $3}' | tr -d ,)
    s=$(echo "$line" | grep -oE '[0-9]+ skipped' | awk '{print $1}')
  else
    p=$(grep -E '^# pass [0-9]+' "$1" | tail -n 1 | awk '{print $3}')
    f=$(grep -E '^# fail [0-9]+' "$1" | tail -n 1 | awk '{print $3}')
    s=$(grep -E '^# skipped [0-9]+' "$1" | tail -n 1 | awk '{print $3}')
  fi
  pass=$((pass + ${p:-0}))
  fail=$((fail + ${f:-0}))
  skipped=$((skipped + ${s:-0}))
  echo "$2: ${p:-0} passed, ${f:-0} failed, ${s:-0} skipped"
}
has_counts() { grep -qE '^(# pass [0-9]+|[0-9]+ passed, [0-9]+ failed)' "$1"; }
run_counted() { # name, command... (a non-zero exit with no failure counted is one failure)
  local name=$1
  shift
  local log rc before=$fail
  log=$(mktemp)
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count_log "$log" "$name"
  if [ "$rc" -ne 0 ] && [ "$fail" -eq "$before" ]; then bad "$name exited $rc"; fi
  has_counts "$log" || bad "$name printed no result line"
  rm -f "$log"
}

target_dir() {
  local t=${CARGO_TARGET_DIR:-target}
  # cargo reads a relative CARGO_TARGET_DIR from where it runs: the tiers run it at the root.
  case $t in /*) echo "$t" ;; *) echo "$RAPPORT_ROOT/$t" ;; esac
}
rapport_bin() {
  if [ -n "${RAPPORT_BIN:-}" ]; then
    echo "$RAPPORT_BIN"
    return 0
  fi
  local t p
  t=$(target_dir)
  for p in "$t/release/rapport" "$t/debug/rapport"; do
    [ -x "$p" ] && { echo "$p"; return 0; }
  done
  echo "no rapport binary in $t/release or $t/debug: cargo build --release -p rapport-cli, or set RAPPORT_BIN" >&2
  return 1
}

shared_dir() { echo "${RAPPORT_SHARED:-$RAPPORT_ROOT/../shared}"; }
corpus() { # name: prints the extracted directory; else prints why not and returns 3
  local out
  if out=$("$RAPPORT_ROOT/scripts/corpora.sh" "$1" 2>&1); then echo "$out"; else
    echo "${out:-cannot extract corpus $1}"
    return 3
  fi
}
# Threaded list mail the project ships (tests/corpus/notmuch-default, with notmuch's answer).
small_corpus() { echo "$RAPPORT_ROOT/tests/corpus/notmuch-default"; }
# A maildir big enough for a kill to land mid-sync: the shared linux-man corpus, else (saying
# so on stderr) 340 copies of the shipped corpus with renamed ids, made under WORK_DIR. Prints
# the directory of its message files.
big_mailbox() { # work dir
  local c
  if c=$(corpus lore-linux-man); then echo "$c/lore-linux-man/cur"; return 0; fi
  echo "340 renamed copies of the shipped corpus instead of linux-man ($c)" >&2
  python3 "$RAPPORT_ROOT/tests/harness/renamed_copies.py" "$(small_corpus)/maildir/cur" "$1/big" 340 &&
    echo "$1/big"
}
fingerprint() { # DB: stats without the source count, contacts and threads without row ids ($R: the binary)
  python3 - "${R:-$(rapport_bin)}" "$1" <<'PY'
import json, subprocess, sys
r, db = sys.argv[1:]
def run(*args):
    return json.loads(subprocess.run([r, "--db", db, "--json", *args], check=True,
                                     capture_output=True, text=True).stdout)
stats = run("stats"); stats.pop("sources", None)
strip = lambda items: sorted((json.dumps({k: v for k, v in i.items() if k != "id"}, sort_keys=True)
                              for i in items))
print(json.dumps([stats, strip(run("contacts", "--limit", "1000000")),
                  strip(run("threads", "--limit", "1000000"))], sort_keys=True))
PY
}
