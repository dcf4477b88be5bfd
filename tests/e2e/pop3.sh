#!/usr/bin/env bash
# POP3 end to end against two real servers started here on 127.0.0.1: Dovecot's POP3 and GNU
# Mailutils' pop3d. The first poll equals importing the same maildir; new mail appears on the
# next poll and a poll with nothing new fetches nothing; mail another client deletes between
# polls stays in the store; the server's mailbox is byte-identical after Rapport's polls
# (nothing deleted, nothing marked); POP3S and STLS; a wrong password; a server without TOP
# (Dovecot behind a relay that hides TOP); Dovecot killed mid-poll, then a poll that resumes
# with nothing missing and nothing twice.
# The mailbox is the shipped tests/corpus/notmuch-default; the kill test needs a big mailbox:
# the shared linux-man corpus, or without ../shared 340 renamed copies of the shipped one.
# Prints "N passed, M failed, K skipped"; exits non-zero on failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[ -x /usr/sbin/pop3d ] || { echo "GNU pop3d is not installed (apt-get install mailutils-pop3d)"; exit 2; }
source "$root/tests/e2e/mail_server_lib.sh" pop3
TOOL="python3 $root/tests/e2e/pop3/pop3_tool.py"
MAILUTILS="$root/tests/harness/mailutils-pop3d.sh"
export MU_DIR=$work/mailutils RAPPORT_POP3_PW=alice-pw
cleanup() {
  [ -n "${relay_pid:-}" ] && kill "$relay_pid" 2>/dev/null
  [ -n "${watch_pid:-}" ] && kill "$watch_pid" 2>/dev/null
  "$MAILUTILS" stop > /dev/null 2>&1
  "$DOVECOT" stop > /dev/null 2>&1
  "$DOVECOT" kill > /dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

poll() { "$R" --db "$1" --quiet sync "$2" > "$work/poll-$2.out" 2>&1; }

mkdir -p "$work/inbox"
cp "$small"/* "$work/inbox/"
# The user is the address the most messages come from (their own mail, as received copies).
me=$(grep -h -i -m1 '^From:' "$work"/inbox/* | grep -o '[[:alnum:]._%+-]*@[[:alnum:].-]*' | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
n_inbox=$(ls "$work/inbox" | wc -l)
echo "test mailbox: $n_inbox messages (user $me)"

dovecot_start "$work/inbox" || { echo "cannot start dovecot: $(cat "$work/dovecot-start.log")"; exit 2; }
[ "$(id -u)" = 0 ] && chown -R "$run_user" "$DV_DIR/home"
"$MAILUTILS" start "$work/inbox" "$DV_DIR/tls" > "$work/mailutils-start.log" 2>&1 ||
  { echo "cannot start GNU pop3d: $(cat "$work/mailutils-start.log")"; exit 2; }
# shellcheck disable=SC1091
. "$MU_DIR/env"
dv_maildir=$DV_DIR/home/alice/Maildir

add() { "$R" account add "$@" --pop3 --email "$me" --password-env RAPPORT_POP3_PW --ca-file "$CA" > "$work/add.out" 2>&1; }
add dovecot --host 127.0.0.1 --port "$DV_POP3S_PORT" --security tls --user alice
check "a POP3S account is added" test $? -eq 0
add dovecot-stls --host 127.0.0.1 --port "$DV_POP3_PORT" --security starttls --user alice
add mailutils --host 127.0.0.1 --port "$MU_POP3_PORT" --security starttls --user alice@example.test

# Each server's own bookkeeping on a client's first visit (GNU pop3d writes the UID it assigns
# into each message, and renames its files) comes before the fingerprints: what must not change
# is anything Rapport's polls would change.
$TOOL touch "$DV_POP3_PORT" alice
$TOOL touch "$MU_POP3_PORT" alice@example.test "$CA"
$TOOL fingerprint "$dv_maildir" > "$work/dv-before.txt"
$TOOL fingerprint "$MU_MAILDIR" > "$work/mu-before.txt"

# --- 1. first poll == import of the same files, on both servers --------------------------------
"$R" --db "$work/import.db" --quiet import "$work/inbox" --me "$me" > /dev/null 2>&1
poll "$work/dovecot.db" dovecot
check "first poll of Dovecot (POP3S) succeeds" test $? -eq 0
if same_stats "$work/dovecot.db" "$work/import.db"; then ok "Dovecot poll: stats --json equal the import's"
else bad "Dovecot poll stats differ: $(stats "$work/dovecot.db" | counts) vs $(stats "$work/import.db" | counts)"; fi
poll "$work/mailutils.db" mailutils
check "first poll of GNU pop3d (STLS) succeeds" test $? -eq 0
if same_stats "$work/mailutils.db" "$work/import.db"; then ok "GNU pop3d poll: stats --json equal the import's"
else bad "GNU pop3d poll stats differ: $(stats "$work/mailutils.db" | counts) vs $(stats "$work/import.db" | counts)"; fi
check "Dovecot over STLS too" poll "$work/stls.db" dovecot-stls
check "account test names the POP3 capabilities" bash -c "'$R' account test dovecot | grep -q UIDL"

# --- 2. polling again fetches nothing; the mailbox is untouched --------------------------------
"$R" --db "$work/dovecot.db" --json sync dovecot > "$work/again.json" 2>/dev/null
check "a poll with nothing new fetches nothing" test "$(field 'd[0]["fetched"]' < "$work/again.json")" = 0
poll "$work/mailutils.db" mailutils
unchanged() { # NAME MAILDIR: the message files are as they were, name for name and byte for byte
  $TOOL fingerprint "$2" > "$work/$1-after.txt"
  diff "$work/$1-before.txt" "$work/$1-after.txt" | head -n 6
  cmp -s "$work/$1-before.txt" "$work/$1-after.txt"
}
check "Dovecot's mailbox is byte-identical after the polls" unchanged dv "$dv_maildir"
check "GNU pop3d's mailbox is byte-identical after the polls" unchanged mu "$MU_MAILDIR"

# --- 3. new mail appears on the next poll ------------------------------------------------------
new_mail=$work/new.eml
printf 'From: Newcomer <new@example.org>\nTo: %s\nSubject: fresh\nDate: Wed, 02 Dec 2026 10:00:00 +0000\nMessage-ID: <fresh-1@example.org>\n\nhello\n' "$me" > "$new_mail"
cp "$new_mail" "$dv_maildir/new/1796000000.fresh1.rapport"
[ "$(id -u)" = 0 ] && chown -R "$run_user" "$dv_maildir"
before=$(stats "$work/dovecot.db" | field 'd["messages"]')
"$R" --db "$work/dovecot.db" --json sync dovecot > "$work/new.json" 2>/dev/null
check "the next poll fetches only the new message" test "$(field 'd[0]["fetched"]' < "$work/new.json")" = 1
check "…and stores it" test "$(stats "$work/dovecot.db" | field 'd["messages"]')" = $((before + 1))

# --- 3b. `watch` polls: a message delivered meanwhile is stored within two poll periods --------
"$R" --db "$work/dovecot.db" --quiet watch dovecot --poll 5 > "$work/watch.out" 2>&1 &
watch_pid=$!
sleep 1
sed 's/fresh-1@/fresh-2@/; s/Subject: fresh/Subject: fresher/' "$new_mail" > "$dv_maildir/new/1796000001.fresh2.rapport"
[ "$(id -u)" = 0 ] && chown -R "$run_user" "$dv_maildir"
stored=no
for i in $(seq 60); do
  if [ "$(sqlite3 "$work/dovecot.db" "SELECT count(*) FROM node WHERE mid = 'fresh-2@example.org'")" = 1 ]; then
    stored=yes; break
  fi
  sleep 0.25
done
check "watch stores a message delivered meanwhile within 15 s" test "$stored" = yes
"$R" --db "$work/dovecot.db" status > "$work/status.txt"
check "status shows the POP3 mailbox polling" grep -qE "dovecot +INBOX +.* polling" "$work/status.txt"
kill "$watch_pid" 2>/dev/null; wait "$watch_pid" 2>/dev/null; watch_pid=

# --- 4. mail another client deletes between polls stays in the store ---------------------------
$TOOL delete "$DV_POP3_PORT" alice 1
kept=$(stats "$work/dovecot.db" | counts)
poll "$work/dovecot.db" dovecot
check "a poll after another client deleted a message succeeds" test $? -eq 0
check "the deleted message stays in the store" test "$(stats "$work/dovecot.db" | counts)" = "$kept"

# --- 5. wrong password: clear error, non-zero exit, store untouched ----------------------------
RAPPORT_POP3_PW=wrong-secret "$R" --db "$work/dovecot.db" sync dovecot > "$work/wrongpw.txt" 2>&1; rc=$?
check "wrong password exits non-zero" test $rc -ne 0
check "wrong password says authentication failed" grep -qi "authentication failed" "$work/wrongpw.txt"
check "wrong password leaks no secret" bash -c "! grep -q wrong-secret '$work/wrongpw.txt'"
check "wrong password leaves the store untouched" test "$(stats "$work/dovecot.db" | counts)" = "$kept"

# --- 6. a server without TOP: the poller falls back to RETR and keeps the header ---------------
relay_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$TOOL no-top-relay "$relay_port" "$DV_POP3_PORT" & relay_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$relay_port") 2>/dev/null && break; sleep 0.05; done
"$R" account add notop --pop3 --email "$me" --host 127.0.0.1 --port "$relay_port" --security none \
  --user alice --password-env RAPPORT_POP3_PW > /dev/null 2>&1
"$R" --db "$work/notop.db" --quiet import "$dv_maildir" --me "$me" > /dev/null 2>&1
poll "$work/notop-poll.db" notop
check "a poll without TOP (RETR) succeeds" test $? -eq 0
"$R" --db "$work/dv-now.db" --quiet import "$dv_maildir" --me "$me" > /dev/null 2>&1
if same_stats "$work/notop-poll.db" "$work/dv-now.db"; then ok "…and stores what an import of the mailbox stores"
else bad "without TOP: $(stats "$work/notop-poll.db" | counts) vs $(stats "$work/dv-now.db" | counts)"; fi
kill "$relay_pid" 2>/dev/null; wait "$relay_pid" 2>/dev/null; relay_pid=

# --- 7. Dovecot killed mid-poll, then a poll that resumes --------------------------------------
corpus=$(big_mailbox "$work") || { bad "make a big mailbox"; summary; }
"$DOVECOT" stop > /dev/null 2>&1
dovecot_start "$corpus" || bad "restart dovecot with the big mailbox"
[ "$(id -u)" = 0 ] && chown -R "$run_user" "$DV_DIR/home"
total=$(find "$DV_DIR/home/alice/Maildir/cur" -type f | wc -l)
sync_then_crash_dovecot "$work/big.db" dovecot 2000 "$work/big1.txt"; rc=$?
partial=$(sqlite3 "$work/big.db" "SELECT count(*) FROM source")
check "a poll fails when the server dies (exit $rc, $partial of $total kept)" test $rc -ne 0
check "…after storing part of the mailbox" test "$partial" -gt 0 -a "$partial" -lt "$total"
"$DOVECOT" restart > /dev/null 2>&1 || bad "dovecot restart"
"$R" --db "$work/big.db" --json sync dovecot > "$work/big2.json" 2>/dev/null
check "the poll after the restart succeeds" test $? -eq 0
check "…fetching only what the first one did not store" \
  test "$(field 'd[0]["fetched"]' < "$work/big2.json")" = $((total - partial))
"$R" --db "$work/bigimport.db" --quiet import "$corpus" --me "$me" > /dev/null 2>&1
if same_stats "$work/big.db" "$work/bigimport.db"; then ok "after kill and resume: stats equal a clean import's"
else bad "after kill and resume: $(stats "$work/big.db" | counts) vs $(stats "$work/bigimport.db" | counts)"; fi

summary
