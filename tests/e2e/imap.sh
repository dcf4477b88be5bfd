#!/usr/bin/env bash
# IMAP end to end against a real Dovecot (Debian packages, started here on 127.0.0.1):
# initial sync equals a file import, IDLE delivery within 5 s, no-change resync fetches nothing,
# a recreated folder (new UIDVALIDITY) duplicates nothing, Dovecot killed mid-sync loses nothing,
# TLS with a private CA, STARTTLS, refusal of plaintext to a remote host, wrong password, audit.
# The mailbox is the shipped tests/corpus/notmuch-default; the kill test needs a big folder: the
# shared linux-man corpus, or without ../shared 340 renamed copies of the shipped one.
# Prints "N passed, M failed, K skipped"; exits non-zero on failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/e2e/mail_server_lib.sh" imap
TOOL="python3 $root/tests/e2e/imap/imap_tool.py"
export RAPPORT_IMAP_PW=alice-pw

dovecot_restart() { "$DOVECOT" restart > /dev/null 2>&1; }   # same configuration and mail
cleanup() {
  [ -n "${watch_pid:-}" ] && kill "$watch_pid" 2>/dev/null
  "$DOVECOT" stop > /dev/null 2>&1
  "$DOVECOT" kill > /dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

messages() { stats "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"])'; }

# --- a few hundred threaded messages, and the Sent folder of their most frequent sender -------
mkdir -p "$work/inbox" "$work/sent"
cp "$small"/* "$work/inbox/"
me=$(python3 - "$work/inbox" <<'PY'
import collections, email.utils, os, sys
d = sys.argv[1]; c = collections.Counter()
for f in os.listdir(d):
    with open(os.path.join(d, f), 'rb') as fh:
        for line in fh.read().split(b'\n\n', 1)[0].decode('latin-1').splitlines():
            if line.lower().startswith('from:'):
                c[email.utils.parseaddr(line[5:])[1].lower()] += 1
                break
print(c.most_common(1)[0][0])
PY
)
grep -li "^From:.*$me" "$work"/inbox/* | while read -r f; do mv "$f" "$work/sent/"; done
n_inbox=$(ls "$work/inbox" | wc -l); n_sent=$(ls "$work/sent" | wc -l)
echo "test mailbox: $n_inbox in INBOX, $n_sent in Sent (from $me)"

dovecot_start "$work/inbox" || { echo "cannot start dovecot: $(cat "$work/dovecot-start.log")"; exit 2; }
sent_dir=$DV_DIR/home/alice/Maildir/.Sent
mkdir -p "$sent_dir"/{cur,new,tmp}
i=0; for f in "$work"/sent/*; do i=$((i+1)); cp "$f" "$sent_dir/cur/$(printf '%07d' $i).sent:2,S"; done
[ "$(id -u)" = 0 ] && chown -R "$run_user" "$DV_DIR/home"

"$R" account add local --email "$me" --host 127.0.0.1 --port "$DV_IMAPS_PORT" --security tls \
  --user alice --password-env RAPPORT_IMAP_PW --ca-file "$CA" > /dev/null 2>&1

# --- 1. initial sync == import of the same files -----------------------------------------------
"$R" --db "$work/sync.db" --quiet sync > "$work/sync1.out" 2>&1
check "initial sync succeeds" test $? -eq 0
"$R" --db "$work/import.db" --quiet import "$work/inbox" "$work/sent" --me "$me" > /dev/null 2>&1
if same_stats "$work/sync.db" "$work/import.db"; then ok "sync stats --json equal import's"
else bad "sync stats differ from import: $(stats "$work/sync.db" | counts) vs $(stats "$work/import.db" | counts)"; fi
check "Sent-folder mail is outbound" test "$(stats "$work/sync.db" | field 'd["by_direction"].get("outbound",0)')" -gt 0

# --- 1b. conformance: files then IMAP into one database equals IMAP alone ----------------------
# (the same mail from two sources, in the other order: one database; every place it was seen is a
# source, so only the source count doubles)
"$R" --db "$work/both.db" --quiet import "$work/inbox" "$work/sent" --me "$me" > /dev/null 2>&1
"$R" --db "$work/both.db" --quiet sync > /dev/null 2>&1
check "files then IMAP in one database: same stats, contacts and threads as IMAP alone" \
  test "$(fingerprint "$work/both.db")" = "$(fingerprint "$work/sync.db")"
check "…with every message seen at two sources" \
  test "$(stats "$work/both.db" | field 'd["sources"]')" = "$(( 2 * $(stats "$work/sync.db" | field 'd["sources"]') ))"

# --- 2. no-change resync fetches nothing -------------------------------------------------------
"$R" --db "$work/sync.db" --json sync > "$work/resync.json" 2>/dev/null
check "no-change sync fetches no headers" test "$(field 'd[0]["fetched"]' < "$work/resync.json")" = 0
check "no-change sync reports folders unchanged" \
  test "$(field 'sorted(set(f["status"] for f in d[0]["folders"]))' < "$work/resync.json")" = "['unchanged']"

# --- 3. audit: zero gaps, then names a message deleted from the store --------------------------
"$R" --db "$work/sync.db" --json audit local > "$work/audit1.json"
check "audit finds no gaps after sync" test "$(field 'd["gaps"]' < "$work/audit1.json")" = 0
victim=$(sqlite3 "$work/sync.db" "SELECT key FROM message ORDER BY id LIMIT 1 OFFSET 10")
sqlite3 "$work/sync.db" "PRAGMA foreign_keys=ON; DELETE FROM message WHERE key = '$victim';"
"$R" --db "$work/sync.db" --json audit local > "$work/audit2.json"; rc=$?
check "audit exits 2 on gaps" test $rc -eq 2
check "audit names the deleted message" grep -qF "$victim" "$work/audit2.json"

# --- 4. a message appended while watch runs is stored within 5 s (IDLE) ------------------------
"$R" --db "$work/sync.db" --quiet sync > /dev/null 2>&1   # the audit's victim comes back? no: it is not new
before=$(messages "$work/sync.db")
"$R" --db "$work/sync.db" --json watch --idle 300 --poll 300 > "$work/watch.log" 2>&1 &
watch_pid=$!
for _ in $(seq 100); do grep -q '"synced"' "$work/watch.log" && break; sleep 0.1; done
new_msg=$work/new.eml
printf 'From: New Person <new.person@example.net>\r\nTo: %s\r\nSubject: arrives during watch\r\nDate: %s\r\nMessage-ID: <watch-%s@example.net>\r\n\r\nhello\r\n' \
  "$me" "$(date -R)" "$$" > "$new_msg"
sleep 0.5
t0=$(date +%s.%N)
$TOOL "$DV_IMAPS_PORT" "$CA" append INBOX "$new_msg"
stored=no
for _ in $(seq 50); do
  if [ "$(messages "$work/sync.db")" -gt "$before" ]; then stored=yes; break; fi
  sleep 0.1
done
t1=$(date +%s.%N)
secs=$(python3 -c "print(round($t1-$t0,2))")
check "message appended during watch stored within 5 s (took ${secs}s)" test "$stored" = yes
"$R" --db "$work/sync.db" status > "$work/status.txt"
check "status shows IDLE mode for INBOX" grep -qE "INBOX +.* idle" "$work/status.txt"
kill "$watch_pid" 2>/dev/null; wait "$watch_pid" 2>/dev/null; watch_pid=

# --- 5. folder recreated with a new UIDVALIDITY: nothing duplicated ---------------------------
proj=$(ls "$work"/inbox/* | head -40)
$TOOL "$DV_IMAPS_PORT" "$CA" create Projects $proj
"$R" --db "$work/sync.db" --quiet sync > /dev/null 2>&1
before=$(stats "$work/sync.db" | counts)
v1=$($TOOL "$DV_IMAPS_PORT" "$CA" uidvalidity Projects)
$TOOL "$DV_IMAPS_PORT" "$CA" recreate Projects $proj
v2=$($TOOL "$DV_IMAPS_PORT" "$CA" uidvalidity Projects)
check "Projects got a new UIDVALIDITY ($v1 → $v2)" test "$v1" != "$v2"
"$R" --db "$work/sync.db" --json sync > "$work/recreate.json" 2>/dev/null
after=$(stats "$work/sync.db" | counts)
check "recreated folder: same messages, threads, contacts, sources" test "$before" = "$after"
check "recreated folder: UIDVALIDITY change handled" grep -qE '"uidvalidity_change": "(reapproved|rebuilt)"' "$work/recreate.json"

# --- 6. TLS, STARTTLS, and no plaintext to a remote host ---------------------------------------
"$R" account add starttls --email "$me" --host 127.0.0.1 --port "$DV_IMAP_PORT" --security starttls \
  --user alice --password-env RAPPORT_IMAP_PW --ca-file "$CA" > /dev/null 2>&1
check "STARTTLS login works" "$R" account test starttls
"$R" account add notrust --host 127.0.0.1 --port "$DV_IMAPS_PORT" --security tls --user alice --password-env RAPPORT_IMAP_PW > /dev/null 2>&1
"$R" account test notrust > "$work/notrust.txt" 2>&1; rc=$?
check "TLS without the test CA is refused" test $rc -ne 0
check "…with a TLS error" grep -qi "tls\|certificate" "$work/notrust.txt"
"$R" account add remote --host mail.example.com --security none --user alice --password-env RAPPORT_IMAP_PW > "$work/remote.txt" 2>&1; rc=$?
check "plaintext to a non-loopback host is refused" test $rc -ne 0
check "…saying why" grep -qi "refusing an unencrypted connection" "$work/remote.txt"
check "plaintext to loopback is allowed" "$R" account add plain --host 127.0.0.1 --port "$DV_IMAP_PORT" --security none --user alice --password-env RAPPORT_IMAP_PW

# --- 7. wrong password: clear error, non-zero exit, state untouched ---------------------------
before=$(stats "$work/sync.db" | counts)
RAPPORT_IMAP_PW=wrong "$R" --db "$work/sync.db" sync local > "$work/wrongpw.txt" 2>&1; rc=$?
check "wrong password exits non-zero" test $rc -ne 0
check "wrong password says authentication failed" grep -qi "authentication failed" "$work/wrongpw.txt"
check "wrong password leaks no secret" bash -c "! grep -q wrong '$work/wrongpw.txt' || grep -qi 'authentication failed' '$work/wrongpw.txt'"
check "wrong password leaves the store untouched" test "$before" = "$(stats "$work/sync.db" | counts)"

# --- 8. Dovecot killed mid-sync and restarted: nothing missing, nothing twice ------------------
# Needs a folder big enough for the kill to land mid-sync: the shared linux-man corpus, else 340
# copies of the shipped one, each with its own Message-IDs (as many messages as linux-man).
corpus=$(big_mailbox "$work") || { bad "make a big mailbox"; summary; }
if [ "$corpus" = "$work/big" ]; then
  big_total=$((340 * $(field 'd["messages"]' < "$(small_corpus)/expected.json")))
else
  big_total=17879
fi
"$DOVECOT" stop > /dev/null 2>&1
dovecot_start "$corpus" || { bad "restart dovecot with the full corpus"; }
RAPPORT_IMAP_PW=alice-pw sync_then_crash_dovecot "$work/big.db" local 3000 "$work/big1.txt"; rc=$?
partial=$(sqlite3 "$work/big.db" "SELECT count(*) FROM message")
check "sync fails when the server dies (exit $rc, $partial messages kept)" test $rc -ne 0
check "…after storing part of the folder" test "$partial" -gt 0 -a "$partial" -lt "$big_total"
dovecot_restart || bad "dovecot restart"
"$R" --db "$work/big.db" --quiet sync local > "$work/big2.txt" 2>&1
check "sync after the restart succeeds" test $? -eq 0
"$R" --db "$work/bigimport.db" --quiet import "$corpus" > /dev/null 2>&1
"$R" --db "$work/bigimport.db" --quiet identity add "$me" > /dev/null 2>&1
if same_stats "$work/big.db" "$work/bigimport.db"; then ok "after kill and resume: stats equal a clean import's"
else bad "after kill and resume: $(stats "$work/big.db" | counts) vs $(stats "$work/bigimport.db" | counts)"; fi
"$R" --db "$work/big.db" --json audit local > "$work/audit3.json"
check "audit after resume: no gaps" test "$(field 'd["gaps"]' < "$work/audit3.json")" = 0

summary
