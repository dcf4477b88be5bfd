#!/usr/bin/env bash
# Outlook data files end to end, held to Debian's readpst (libpst, an independent reader of the
# same format) on public sample files: Microsoft's empty PST (shipped with outlook-pst), an
# Outlook-written PST from pstconv (Apache-2.0, in tests/fixtures/pst), and the EDRM Enron PST
# that the npm package pst-extractor ships (fetched with `npm pack`, cached in the target dir).
# Same item count, Message-IDs and senders as readpst; the same `stats --json` as readpst's
# .eml output imported; re-importing the file or a newer copy stores nothing twice; a truncated
# and a byte-flipped PST store nothing wrong and say what is wrong, and one damaged item is
# skipped by name while the rest are stored; a `pst` account syncs like an import, and `watch`
# waits while the file cannot be opened, then reads what is new; an OST is refused by name.
# Prints "N passed, M failed, K skipped"; exits non-zero on failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/lib.sh"
command -v readpst >/dev/null || { echo "readpst is not installed (apt-get install pst-utils)"; exit 2; }
R=$(rapport_bin)
work=$(mktemp -d)
trap '[ -n "${watch_pid:-}" ] && kill "$watch_pid" 2>/dev/null; rm -rf "$work"' EXIT
COMPARE="python3 $root/tests/e2e/pst/compare_readpst.py"
fixtures=$root/tests/fixtures/pst

stats() { "$R" --db "$1" stats --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))'; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
import_json() { "$R" --db "$1" --quiet import "$2" --json; }
# readpst's .eml files for FILE in DIR (one job: parallel jobs can overwrite each other's files).
readpst_eml() { mkdir -p "$2" && readpst -q -e -j 0 -o "$2" "$1" > /dev/null 2>&1; }

# The Enron sample: from the npm registry, once per target directory.
cache=$(target_dir)/pst-samples
enron=$cache/package/example/testdata/enron.pst
if [ ! -f "$enron" ]; then
  mkdir -p "$cache"
  (cd "$cache" && npm pack --silent pst-extractor@1.12.0 > /dev/null 2>&1 &&
    tar xzf pst-extractor-1.12.0.tgz package/example/testdata) ||
    echo "cannot fetch pst-extractor@1.12.0 from the npm registry"
fi

# --- 1. each sample against readpst -------------------------------------------------------------
for sample in "$fixtures/Empty.pst" "$fixtures/pstconv-outlook.pst" "$enron"; do
  name=$(basename "$sample")
  if [ ! -f "$sample" ]; then bad "$name: sample missing"; continue; fi
  db=$work/$name.db
  out=$(import_json "$db" "$sample")
  check_skips=$(echo "$out" | field 'd["skipped"]')
  step "$name: imported with nothing skipped" test "$check_skips" = 0
  readpst_eml "$sample" "$work/readpst-$name"
  if $COMPARE "$db" "$work/readpst-$name" > "$work/compare-$name.txt"; then
    ok "$name: same items, Message-IDs and senders as readpst ($(tail -n 1 "$work/compare-$name.txt"))"
  else
    cat "$work/compare-$name.txt"
    bad "$name: differs from readpst"
  fi
done
n_empty=$(stats "$work/Empty.pst.db" | field 'd["messages"]')
step "Empty.pst: no messages" test "$n_empty" = 0
n_pstconv=$(stats "$work/pstconv-outlook.pst.db" | field 'd["messages"]')
step "pstconv outlook.pst: its 3 mails (one with no recipients, one in a nested folder)" test "$n_pstconv" = 3

if [ -f "$enron" ]; then
  db=$work/enron.pst.db
  # --- 2. the PST and the same mail as .eml give the same database ------------------------------
  eml_db=$work/enron-eml.db
  import_json "$eml_db" "$work/readpst-enron.pst" > /dev/null
  step "enron: the PST gives the stats --json of the same mail as .eml" \
    test "$(stats "$db")" = "$(stats "$eml_db")"

  # --- 3. again, and a newer copy at the same place: nothing twice ------------------------------
  cp "$enron" "$work/mail.pst"
  import_json "$work/copy.db" "$work/mail.pst" > /dev/null
  before=$(stats "$work/copy.db")
  again=$(import_json "$work/copy.db" "$work/mail.pst" | field 'd["stored"]')
  cp "$enron" "$work/mail.pst.new" && mv "$work/mail.pst.new" "$work/mail.pst"
  newer=$(import_json "$work/copy.db" "$work/mail.pst" | field 'd["stored"]')
  step "re-importing the file and a newer copy of it stores nothing ($again, $newer)" \
    test "$again:$newer:$(stats "$work/copy.db")" = "0:0:$before"

  # --- 4. damaged files: a clear error, nothing wrong stored ------------------------------------
  size=$(stat -c %s "$enron")
  head -c $((size / 2)) "$enron" > "$work/truncated.pst"
  python3 - "$enron" "$work/flipped.pst" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
# Flip a byte every 4 KiB past the header: the B-trees, heaps and tables all take damage.
for at in range(4096, len(data), 4096):
    data[at] ^= 0x5A
open(sys.argv[2], "wb").write(data)
# One byte of one item's data block (found by trying seeded flips on this pinned sample).
one = bytearray(open(sys.argv[1], "rb").read())
one[7239344] ^= 0x5A
open(sys.argv[2].replace("flipped", "one-item"), "wb").write(one)
PY
  for damaged in truncated flipped one-item; do
    ddb=$work/$damaged.db
    out=$("$R" --db "$ddb" --quiet import "$work/$damaged.pst" --json 2> "$work/$damaged.err")
    code=$?
    step "$damaged.pst: the import finishes (exit $code) without a crash" test "$code" -eq 0
    said=$(echo "$out" | field '"; ".join(e["reason"] + ": " + e["detail"] for e in d["errors"][:2])')
    step "$damaged.pst: says what is wrong ($said)" test -n "$said"
    # Whatever was stored is mail of the good file, with the same sender, date and subject.
    wrong=$(sqlite3 "$ddb" "ATTACH '$db' AS good;
      SELECT count(*) FROM message m LEFT JOIN address a ON a.id = m.from_address_id
      WHERE NOT EXISTS (SELECT 1 FROM good.message g LEFT JOIN good.address ga ON ga.id = g.from_address_id
        WHERE g.key = m.key AND g.date = m.date AND g.subject = m.subject
          AND coalesce(ga.email, '') = coalesce(a.email, ''))")
    step "$damaged.pst: nothing stored that differs from the good file ($wrong wrong)" test "$wrong" = 0
  done
  # One unreadable item is reported by its folder and node; the other 70 are stored.
  out=$(import_json "$work/one-item-again.db" "$work/one-item.pst")
  line=$(echo "$out" | field 'str(d["stored"]) + " " + d["errors"][0]["location"].split("/")[-1] if d["errors"] else "none"')
  case $line in
    "70 "[0-9]*) ok "one damaged item is skipped by name, the other 70 stored ($line)" ;;
    *) bad "one damaged item is skipped by name, the other 70 stored: $line" ;;
  esac
  # A good import into the damaged file's database afterwards completes it.
  import_json "$work/flipped.db" "$enron" > /dev/null
  step "the good file afterwards completes the database" \
    test "$(stats "$work/flipped.db" | field 'd["messages"]')" = "$(stats "$db" | field 'd["messages"]')"
else
  bad "the Enron sample could not be fetched: its checks did not run"
fi

# --- 5. a pst account: sync = import; watch waits for the file, then reads what is new --------
export RAPPORT_CONFIG=$work/accounts.toml
acct_db=$work/account.db
"$R" account add outlook --pst "$work/outlook/mail.pst" > "$work/add.out" 2>&1
step "a pst account is added" grep -q "Outlook data file" "$work/add.out"
doctor=$("$R" --db "$acct_db" doctor 2>&1)
case $doctor in
  *"outlook: pst"*"cannot be read now"*"Outlook locks the data file"*) ok "doctor explains a data file it cannot read (Outlook's lock)" ;;
  *) echo "$doctor"; bad "doctor explains a data file it cannot read" ;;
esac
mkdir -p "$work/outlook"
"$R" --db "$acct_db" watch outlook --poll 5 --json > "$work/watch.jsonl" 2> "$work/watch.err" &
watch_pid=$!
wait_for() { # pattern, seconds
  for _ in $(seq 1 $(($2 * 5))); do grep -q "$1" "$work/watch.jsonl" && return 0; sleep 0.2; done
  return 1
}
step "watch waits while the file cannot be opened" wait_for '"event":"waiting"' 10
cp "$fixtures/pstconv-outlook.pst" "$work/outlook/mail.pst.tmp" && mv "$work/outlook/mail.pst.tmp" "$work/outlook/mail.pst"
step "watch reads the file once it can: 3 stored" wait_for '"stored":3' 15
if [ -f "$enron" ]; then
  # The user's Outlook wrote more mail into the file (here: another file in its place).
  cp "$enron" "$work/outlook/mail.pst.tmp" && touch -d '+1 min' "$work/outlook/mail.pst.tmp" &&
    mv "$work/outlook/mail.pst.tmp" "$work/outlook/mail.pst"
  step "watch reads what changed: 71 more stored" wait_for '"stored":71' 15
fi
kill "$watch_pid" 2>/dev/null; wait "$watch_pid" 2>/dev/null
again=$("$R" --db "$acct_db" --quiet sync outlook --json | field 'd[0]["stored"]')
step "a sync afterwards stores nothing ($again)" test "$again" = 0
if [ -f "$enron" ]; then
  # Pulling the Enron file alone through the account gives what importing it gives (sources
  # aside: an import and an account name their places differently).
  "$R" account add enron --pst "$enron" > /dev/null 2>&1
  "$R" --db "$work/enron-account.db" --quiet sync enron > /dev/null 2>&1
  without_sources() { stats "$1" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d.pop("sources"); print(json.dumps(d, sort_keys=True))'; }
  step "syncing a pst account gives the stats of importing the file" \
    test "$(without_sources "$work/enron-account.db")" = "$(without_sources "$work/enron.pst.db")"
fi

# --- 6. an offline file ---------------------------------------------------------------------------
ost=$cache/package/example/testdata/pstextractortest@outlook.com.ost
if [ -f "$ost" ]; then
  out=$(import_json "$work/ost.db" "$ost")
  reason=$(echo "$out" | field 'd["errors"][0]["reason"] + ": " + d["errors"][0]["detail"]')
  case $reason in
    "Outlook offline file: "*"not supported"*) ok "an OST is refused by name ($reason)" ;;
    *) bad "an OST is refused by name: $reason" ;;
  esac
else
  bad "the OST sample could not be fetched"
fi
summary
