#!/usr/bin/env bash
# End to end through the real thing: Thunderbird (headless, Debian package) with a fresh profile
# holding a POP3 account on a loopback Dovecot started here, the built Rapport extension
# (plugin-thunderbird/dist/rapport.xpi), and the real `rapport native-host`, registered by
# `rapport install thunderbird` in this test's own HOME. Checks go through `rapport --db … --json`.
#
#   tests/e2e/thunderbird.sh        prints one ok:/FAILED: line per check and "N passed, M failed, K skipped"
#
# Sessions (Thunderbird is restarted on the same profile instead of waiting a minute for its
# periodic mail check; every start fetches new mail while the extension is running):
#   0. without the extension, Thunderbird downloads mail dated 2019 (the user's history);
#   1. with the extension installed: mail waiting at start-up is stored, with the right contacts
#      and threads (compared with `rapport import` of the same server bytes); the 2019 mail comes
#      in through the first-run backfill;
#   2. new mail: plain, moved by filters into Projects and into Trash, two copies with one
#      Message-ID; the test driver replies to Bob through a loopback SMTP sink (outbound);
#   3. 40 larger messages while the host is killed mid-run (nothing lost); the driver opens Bob's
#      message and the extension's badge must show Bob's message count from the database;
#   5. an IMAP account added beside the POP3 one: the profile Thunderbird writes back is read by
#      `rapport account import thunderbird` (both accounts, no password) and both log in.
# Then the same mailbox read over IMAP (`rapport sync`, or `rapport import` of the server's
# files when sync is not available) must add no message.
#
# Environment: RAPPORT_BIN (default: rapport_bin in tests/lib.sh: target/release/rapport, else
# debug), RAPPORT_XPI (default: plugin-thunderbird/dist/rapport.xpi, built if missing), TB_DIR (/usr/lib/thunderbird),
# KEEP=1 keeps the run directory, TB_WAIT (seconds per wait, default 90), E2E_IMAP=import reads the
# server's files with `rapport import` instead of `rapport sync`, E2E_LIVE=biff delivers session 2's
# mail while Thunderbird runs and waits for its periodic check (about a minute more).
# Test-only helpers (mail sets, SMTP sink, password store, the driver extension): tests/e2e/thunderbird/.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/e2e/thunderbird
TB_DIR=${TB_DIR:-/usr/lib/thunderbird}
TB_WAIT=${TB_WAIT:-90}
EXT_ID=rapport@rapport.invalid
DRIVER_ID=e2e-driver@rapport.invalid

source "$ROOT/tests/lib.sh"
check() { step "$@"; } # description, command...
die() { echo "thunderbird e2e: $*" >&2; bad "$*"; summary; }

# ---- preflight ----------------------------------------------------------------------------
RAPPORT=$(rapport_bin)
[ -n "$RAPPORT" ] && [ -x "$RAPPORT" ] || die "no rapport binary: build it (cargo build --release -p rapport-cli) or set RAPPORT_BIN"
[ -x "$TB_DIR/thunderbird" ] || die "no Thunderbird at $TB_DIR/thunderbird (apt-get install thunderbird, or set TB_DIR)"
DOVECOT=$(command -v dovecot || echo /usr/sbin/dovecot)
[ -x "$DOVECOT" ] || die "no dovecot (apt-get install dovecot-imapd dovecot-pop3d)"
command -v python3 >/dev/null || die "no python3"
command -v node >/dev/null || die "no node (builds the extension packages)"
XPI=${RAPPORT_XPI:-$ROOT/plugin-thunderbird/dist/rapport.xpi}
if [ ! -f "$XPI" ]; then
  node "$ROOT/plugin-thunderbird/scripts/build.mjs" --out "$XPI" >/dev/null || die "building $XPI failed"
fi

# ---- run directory, ports, users -----------------------------------------------------------
RUN=$(mktemp -d "${TMPDIR:-/tmp}/rapport-tb-e2e.XXXXXX") || die "mktemp failed"
chmod 755 "$RUN" # Dovecot's mail user must reach the Maildir below it
echo "run directory: $RUN"
DB=$RUN/rapport.db
PROFILE=$RUN/profile
SERVER=$RUN/server # copies of the server's bytes
mkdir -p "$RUN"/{home,smtp} "$PROFILE/extensions" "$SERVER"
# The mail user of the project's Dovecot harness (tests/harness/dovecot.sh), which owns the maildir.
if [ "$(id -u)" = 0 ]; then MAIL_USER=nobody; else MAIL_USER=$(id -un); fi
MAIL_UID=$(id -u "$MAIL_USER"); MAIL_GID=$(id -g "$MAIL_USER")
SMTP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Thunderbird and the host see only this run's HOME; nothing of the caller's is touched.
unset XDG_CONFIG_HOME XDG_CACHE_HOME XDG_DATA_HOME XDG_STATE_HOME RAPPORT_DB RAPPORT_CONFIG
export HOME=$RUN/home
export MOZ_REMOTE_SETTINGS_DEVTOOLS=1 # honour services.settings.server=127.0.0.1:9
export RAPPORT_LOG=${RAPPORT_LOG:-info}
R() { "$RAPPORT" --db "$DB" "$@"; }

PIDS=() # everything started here; stopped by PID on exit
TBPID=
stop_pid() { # pid: TERM, then KILL after 15 s; reap
  local p=$1 i
  kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 0; }
  kill "$p" 2>/dev/null
  for i in $(seq 75); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  return 0
}
host_pids() { pgrep -f -- "--db $DB native-host" || true; }
cleanup() {
  [ -n "$TBPID" ] && stop_pid "$TBPID"
  [ -n "${DV_DIR:-}" ] && "$ROOT/tests/harness/dovecot.sh" stop >/dev/null 2>&1
  for p in $(host_pids); do kill -9 "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  if [ "${KEEP:-0}" = 1 ] || [ "$fail" -gt 0 ]; then echo "kept $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { local i; for i in $(seq 100); do port_open "$1" && return 0; sleep 0.1; done; return 1; }

# ---- Dovecot: POP3 for Thunderbird, IMAP for the sync check (same mailbox) -------------------
# The project's harness: alice / alice-pw, plaintext logins allowed on 127.0.0.1.
export DV_DIR=$RUN/dovecot
"$ROOT/tests/harness/dovecot.sh" start >"$RUN/dovecot-start.log" 2>&1 ||
  die "Dovecot did not start: $(cat "$RUN/dovecot-start.log")"
# shellcheck disable=SC1091
. "$DV_DIR/env"
POP3_PORT=$DV_POP3_PORT
IMAP_PORT=$DV_IMAP_PORT
MAILDIR=$DV_DIR/home/alice/Maildir
python3 "$HERE/smtp_sink.py" "$SMTP_PORT" "$RUN/smtp" >"$RUN/smtp.log" 2>&1 &
PIDS+=($!)
wait_port "$SMTP_PORT" || die "the SMTP sink did not start: $(cat "$RUN/smtp.log")"

deliver() { # set name
  local owner=()
  [ "$(id -u)" = 0 ] && owner=(--owner "$MAIL_UID:$MAIL_GID")
  python3 "$HERE/mail.py" "$MAILDIR" "$1" "${owner[@]}" --copy "$SERVER/$1" >"$RUN/sent-$1.json" ||
    die "delivering the $1 mail failed"
}

# ---- JSON helpers -----------------------------------------------------------------------------
# jget EXPR: evaluates a Python expression over the JSON on stdin (bound to d); prints the value.
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); v=eval(sys.argv[1]); print(json.dumps(v) if isinstance(v,(dict,list)) else v)' "$1" 2>/dev/null; }
stat_of() { R stats --json 2>/dev/null | jget "d$1"; }
wait_until() { # description, timeout seconds, command...
  local what=$1 t=$2; shift 2
  local end=$((SECONDS + t))
  while [ $SECONDS -lt $end ]; do
    "$@" && return 0
    if [ -n "$TBPID" ] && ! kill -0 "$TBPID" 2>/dev/null; then echo "  (Thunderbird exited while waiting for: $what)"; return 1; fi
    sleep 0.3
  done
  echo "  (timed out after ${t}s waiting for: $what)"
  return 1
}
messages_are() { [ "$(stat_of "['messages']")" = "$1" ]; }
messages_at_least() { local n; n=$(stat_of "['messages']"); [ "${n:-0}" -ge "$1" ]; }
stored() { # message id: in the database (prints why not)
  local err
  err=$(R thread "$1" --json 2>&1 >/dev/null) || { echo "  ($1: ${err:-not found})"; return 1; }
}
tb_log() { cat "$RUN"/tb-*.log 2>/dev/null; }
# driver_said WHAT: the driver's reports of that kind, one JSON object a line. Thunderbird prints
# console.log("RAPPORT-E2E {…}") as: console.log: "RAPPORT-E2E {\"what\":…}" (a JSON string).
driver_said() {
  tb_log | python3 -c '
import json, sys
for line in sys.stdin:
    head, sep, rest = line.strip().partition("console.log: ")
    if not sep or "RAPPORT-E2E " not in rest:
        continue
    try:
        d = json.loads(json.loads(rest).split("RAPPORT-E2E ", 1)[1])
    except ValueError:
        continue
    if d.get("what") == sys.argv[1]:
        print(json.dumps(d))' "$1"
}

# ---- install: the real host, registered by `rapport install thunderbird` --------------------
R install thunderbird --xpi "$XPI" >"$RUN/install.txt" 2>&1 || { cat "$RUN/install.txt"; die "rapport install thunderbird failed"; }
MANIFEST=$HOME/.mozilla/native-messaging-hosts/rapport.json
check "install: host manifest written for $EXT_ID" \
  python3 -c 'import json,os,sys; m=json.load(open(sys.argv[1])); assert m["name"]=="rapport" and m["type"]=="stdio" and m["allowed_extensions"]==[sys.argv[2]] and os.access(m["path"], os.X_OK), m' "$MANIFEST" "$EXT_ID"
LAUNCHER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["path"])' "$MANIFEST")
check "install: launcher runs this rapport on this database" grep -q -- "--db '$DB' native-host" "$LAUNCHER"
check "install: prints the next steps and the package" grep -q "Install Add-on From File" "$RUN/install.txt"

# The host answers a framed request on stdout only, and refuses other extensions.
check "host: hello over native-messaging frames; stdout carries only the frame" python3 - "$LAUNCHER" "$MANIFEST" "$EXT_ID" <<'PY'
import json, struct, subprocess, sys
launcher, manifest, ext = sys.argv[1:]
req = json.dumps({"id": 1, "method": "hello"}).encode()
p = subprocess.run([launcher, manifest, ext], input=struct.pack("=I", len(req)) + req,
                   capture_output=True, timeout=30)
n = struct.unpack("=I", p.stdout[:4])[0]
assert len(p.stdout) == 4 + n, (len(p.stdout), n)
reply = json.loads(p.stdout[4:])
assert reply["id"] == 1 and reply["result"]["protocol"] >= 1, reply
assert p.returncode == 0, p.returncode
PY
check "host: refuses a caller with another extension id (no output, exit 2)" python3 - "$LAUNCHER" "$MANIFEST" <<'PY'
import json, struct, subprocess, sys
launcher, manifest = sys.argv[1:]
req = json.dumps({"id": 1, "method": "stats"}).encode()
p = subprocess.run([launcher, manifest, "evil@example.com"], input=struct.pack("=I", len(req)) + req,
                   capture_output=True, timeout=30)
assert p.returncode == 2 and p.stdout == b"", (p.returncode, p.stdout)
PY

# ---- profile: prefs, stored POP3 password, filters, the two extensions ---------------------------
python3 - "$HERE/prefs.js.in" "$PROFILE/prefs.js" "$POP3_PORT" "$SMTP_PORT" <<'PY'
import sys
src, dst, pop3, smtp = sys.argv[1:]
text = open(src).read().replace("@POP3_PORT@", pop3).replace("@SMTP_PORT@", smtp)
assert "@" not in text.replace("@example.test", ""), "unfilled placeholder"
open(dst, "w").write(text)
PY
LD_LIBRARY_PATH=$TB_DIR TB_DIR=$TB_DIR python3 "$HERE/nss_login.py" "$PROFILE" mailbox://127.0.0.1 alice alice-pw ||
  die "storing the POP3 password failed"
mkdir -p "$PROFILE/Mail/127.0.0.1"
: >"$PROFILE/Mail/127.0.0.1/Projects"
cat >"$PROFILE/Mail/127.0.0.1/msgFilterRules.dat" <<'EOF'
version="9"
logging="no"
name="projects"
enabled="yes"
type="17"
action="Move to folder"
actionValue="mailbox://alice@127.0.0.1/Projects"
condition="AND (subject,contains,[filter-projects])"
name="trash"
enabled="yes"
type="17"
action="Move to folder"
actionValue="mailbox://alice@127.0.0.1/Trash"
condition="AND (subject,contains,[filter-trash])"
EOF
node "$ROOT/plugin-thunderbird/scripts/build.mjs" --src "$HERE/driver" --out "$PROFILE/extensions/$DRIVER_ID.xpi" >/dev/null ||
  die "building the driver extension failed"

start_tb() { # session number
  "$TB_DIR/thunderbird" --headless --profile "$PROFILE" >"$RUN/tb-$1.log" 2>&1 &
  TBPID=$!
}
stop_tb() {
  [ -n "$TBPID" ] && stop_pid "$TBPID"
  TBPID=
  local i
  for i in $(seq 50); do [ -z "$(host_pids)" ] && return 0; sleep 0.1; done
  for p in $(host_pids); do kill -9 "$p" 2>/dev/null; done
}

# ================= session 0: Thunderbird without Rapport reads mail from 2019 ===================
# This is the mail a user has before installing the extension; its Date is outside the
# reconciliation window and it is not new in any later session: only the backfill finds it.
deliver archive
start_tb 0
in_inbox() { grep -a -q "Message-ID: <$1>" "$PROFILE/Mail/127.0.0.1/Inbox" 2>/dev/null; }
wait_until "Thunderbird downloaded the 2019 mail" "$TB_WAIT" eval 'in_inbox old1@e2e.test && in_inbox old2@e2e.test'
stop_tb
check "before install: nothing in the database yet" messages_are 0

# The extension is installed between two sessions. Thunderbird registers an add-on dropped into
# the profile at one start and runs it from the next, so start once to register it (no new mail
# is waiting then; from the Add-ons Manager it would run at once).
cp "$XPI" "$PROFILE/extensions/$EXT_ID.xpi"
registered() {
  python3 - "$PROFILE/extensions.json" "$EXT_ID" <<'PY' 2>/dev/null
import json, sys
addons = json.load(open(sys.argv[1]))["addons"]
sys.exit(0 if any(a["id"] == sys.argv[2] for a in addons) else 1)
PY
}
start_tb 0b
wait_until "Thunderbird registered the extension" 30 registered
sleep 2
stop_tb
check "install: Thunderbird registered the sideloaded rapport.xpi" registered

# ================= session 1: mail waiting at start-up ========================================
deliver startup
start_tb 1
wait_until "7 messages (5 waiting, 2 archived) in the database" "$TB_WAIT" messages_are 7
identity_synced() { R identity list --json 2>/dev/null | jget '[i["email"] for i in d if i["confirmed"]]' | grep -q alice@example.test; }
wait_until "alice@example.test confirmed as an identity" 30 identity_synced
stop_tb

check "options page: opened after the install, it shows the host connected" \
  grep -a -q "rapport: options page: Connected to Rapport" "$RUN/tb-1.log"
check "startup: the 5 waiting messages and the 2 archived ones are stored" messages_are 7
check "backfill: the 2019 mail Thunderbird held before the install (never new since, outside the reconciliation window) is stored" \
  eval 'stored old1@e2e.test && stored old2@e2e.test'
check "backfill: it was the backfill that added them (console: backfill done, 2 added)" \
  grep -a -q -E "rapport: backfill done: [0-9]+ folder\(s\), [0-9]+ message\(s\) checked, 2 added" "$RUN/tb-1.log"
check "backfill: Ivan is a contact from the archived exchange (1 each way)" \
  [ "$(R contact ivan@e2e.test --json | jget "(d['inbound_count'], d['outbound_count'])")" = "(1, 1)" ]
check "startup: the Thunderbird identity alice@example.test became one of the user's addresses" identity_synced
# The same server bytes imported into a fresh database must give the same picture.
ORACLE=$RUN/oracle.db
"$RAPPORT" --db "$ORACLE" identity add alice@example.test >/dev/null 2>&1
"$RAPPORT" --db "$ORACLE" import -q "$SERVER/archive" "$SERVER/startup" >/dev/null
same_as_import() {
  local keys='{k: d[k] for k in ("messages","threads","contacts","addresses","by_class","by_direction","first_date","last_date")}'
  local a b
  a=$(R stats --json | jget "$keys"); b=$("$RAPPORT" --db "$ORACLE" stats --json | jget "$keys")
  [ -n "$a" ] && [ "$a" = "$b" ] || { echo "  extension: $a"; echo "  import:    $b"; return 1; }
}
check "startup: counts, classes, directions and dates equal an import of the server's bytes" same_as_import
check "startup: 5 threads (Bob's two messages are one, and the archived exchange)" [ "$(stat_of "['threads']")" = 5 ]
check "startup: Bob's thread holds a1 and a2" [ "$(R thread a2@e2e.test --json | jget "d['message_count']")" = 2 ]
check "startup: Dave is a contact (the user wrote to him), outbound 1, inbound 0" \
  [ "$(R contact dave@e2e.test --json | jget "(d['outbound_count'], d['inbound_count'])")" = "(1, 0)" ]
check "startup: Bob is not a contact yet (policy sent-only), with 2 messages from him" \
  [ "$(R explain bob@e2e.test --json | jget "(d['is_contact'], d['messages_from'])")" = "(False, 2)" ]
check "startup: the mailing-list digest is classified list and makes no contact" \
  [ "$(R explain news@lists.e2e.test --json | jget "(d['is_contact'], sorted(d['by_class']))")" = "(False, ['list'])" ]

# ================= session 2: new mail, filters, duplicate Message-ID, sent mail ===============
if [ "${E2E_LIVE:-restart}" = biff ]; then
  # Deliver only once Thunderbird and the extension run, and wait for the periodic check (1 min).
  start_tb 2
  running() { [ -n "$(host_pids)" ]; } # the extension started at Thunderbird's start-up
  wait_until "the extension running (its host started)" 60 running
  sleep 3
  deliver live
  live_wait=$((TB_WAIT + 70))
else
  deliver live
  start_tb 2
  live_wait=$TB_WAIT
fi
# b1, b2, b3, b4 (twice, one Message-ID), the trigger, and the reply the driver sends: +6.
wait_until "13 messages in the database" "$live_wait" messages_are 13
smtp_got_one() { [ -f "$RUN/smtp/1.eml" ]; }
wait_until "the reply at the SMTP sink" 30 smtp_got_one
sleep 2 # let a late duplicate capture show itself, if there were one
stop_tb

check "new mail: a plain new message is stored" stored b1@e2e.test
in_folder() { grep -a -q "Message-ID: <$1>" "$PROFILE/Mail/127.0.0.1/$2"; }
check "filters: b2 was moved to Projects by Thunderbird and is stored" eval 'in_folder b2@e2e.test Projects && stored b2@e2e.test'
check "filters: b3 was moved to Trash by Thunderbird and is stored" eval 'in_folder b3@e2e.test Trash && stored b3@e2e.test'
two_copies() { [ "$(grep -a -c "Message-ID: <b4@e2e.test>" "$PROFILE/Mail/127.0.0.1/Inbox")" = 2 ]; }
check "duplicate Message-ID: Thunderbird holds both copies of b4" two_copies
check "duplicate Message-ID: one message in Rapport (13 in all, sources = messages)" \
  eval '[ "$(stat_of "[\"messages\"]")" = 13 ] && [ "$(stat_of "[\"sources\"]")" = 13 ]'
SENT_ID=$(driver_said sent | head -n 1 | jget "d['headerMessageId']")
check "sent: the driver's reply went out through the SMTP sink" grep -q "to=bob@e2e.test" "$RUN/smtp/envelopes.log"
check "sent: the reply ($SENT_ID) is stored as outbound" \
  [ "$(R thread "${SENT_ID:-none}" --json | jget "[m['direction'] for m in d['messages'] if m['message_id'].strip('<>')=='$SENT_ID']")" = '["outbound"]' ]
check "sent: the reply joined Bob's thread (3 messages, the last one outbound)" \
  [ "$(R thread a2@e2e.test --json | jget "(d['message_count'], d['last_direction'])")" = "(3, 'outbound')" ]
check "sent: Bob became a contact, 2 messages from him and 1 to him" \
  [ "$(R contact bob@e2e.test --json | jget "(d['inbound_count'], d['outbound_count'])")" = "(2, 1)" ]

# ================= session 3: the host is killed mid-run; the badge =============================
deliver bulk
BEFORE=$(stat_of "['messages']")
TARGET=$((BEFORE + 41))
start_tb 3
KILLED_AT=
FIRST_HOST=
end=$((SECONDS + TB_WAIT))
while [ $SECONDS -lt $end ]; do
  n=$(stat_of "['messages']")
  if [ "${n:-0}" -gt "$BEFORE" ]; then
    FIRST_HOST=$(host_pids | head -n 1)
    if [ -n "$FIRST_HOST" ]; then
      kill -9 "$FIRST_HOST"
      KILLED_AT=$(stat_of "['messages']")
      break
    fi
  fi
  sleep 0.05
done
wait_until "$TARGET messages after the host was killed" "$TB_WAIT" messages_are "$TARGET"
badge_seen() { driver_said shown >/dev/null && tb_log | grep -a -q "rapport: badge"; }
wait_until "the driver opened a message and the badge was set" 30 badge_seen
NEW_HOST=$(host_pids | head -n 1)
stop_tb

echo "  host $FIRST_HOST killed with $((${KILLED_AT:-0} - BEFORE)) of 41 new messages stored; host now ${NEW_HOST:-none}"
check "host killed mid-run: it was killed before all 41 messages were stored" \
  eval '[ -n "$KILLED_AT" ] && [ "$KILLED_AT" -lt "$TARGET" ]'
check "host killed mid-run: nothing lost, all 41 stored (queue retried through a new host)" messages_are "$TARGET"
check "host killed mid-run: the extension saw the host go away" eval 'grep -a -q "rapport: the native host went away" "$RUN/tb-3.log"'
check "host killed mid-run: a new host process served the retries" eval '[ -n "$FIRST_HOST" ] && [ -n "$NEW_HOST" ] && [ "$NEW_HOST" != "$FIRST_HOST" ]'
TAB=$(driver_said shown | head -n 1 | jget "d['tabId']")
BADGE=$(tb_log | grep -a -o "rapport: badge [^ ]* on tab ${TAB:-x}\b" | head -n 1 | awk '{print $3}')
BOB=$(R contact bob@e2e.test --json | jget "d['inbound_count'] + d['outbound_count']")
check "badge: the message display action of Bob's message shows his count from the database ($BADGE = $BOB)" \
  eval '[ -n "$BADGE" ] && [ "$BADGE" = "$BOB" ]'

# ================= session 4: no new mail; the extension still starts with Thunderbird ============
# (runtime.onStartup wakes the event page: the queue and the start-up reconciliation must not
# wait for the next new mail.)
start_tb 4
check "start-up: the extension runs and connects to its host with no mail arriving" \
  wait_until "the host started by the extension" 40 eval '[ -n "$(host_pids)" ]'
stop_tb

# ================= the same mailbox over IMAP: still one message each ============================
MSGS=$(stat_of "['messages']")
SRCS=$(stat_of "['sources']")
SERVER_COUNT=$(find "$MAILDIR/cur" "$MAILDIR/new" -type f | wc -l)
if [ "${E2E_IMAP:-sync}" = sync ] && "$RAPPORT" sync --help >/dev/null 2>&1 && "$RAPPORT" account --help >/dev/null 2>&1; then
  export RAPPORT_CONFIG=$RUN/accounts.toml E2E_IMAP_PW=alice-pw
  R account add local --host 127.0.0.1 --port "$IMAP_PORT" --security none --user alice \
    --password-env E2E_IMAP_PW --email alice@example.test >"$RUN/account.txt" 2>&1
  R sync -q >"$RUN/sync.txt" 2>&1
  sync_rc=$?
  how="IMAP sync (rapport sync)"
  check "imap: rapport sync of the same Dovecot mailbox succeeded" eval '[ "$sync_rc" = 0 ] || { cat "$RUN/account.txt" "$RUN/sync.txt"; false; }'
else
  R import -q "$SERVER/archive" "$SERVER/startup" "$SERVER/live" "$SERVER/bulk" >"$RUN/sync.txt" 2>&1
  how="rapport import of the server's files (not IMAP: $([ "${E2E_IMAP:-sync}" = sync ] && echo "rapport sync is not in this build" || echo "E2E_IMAP=$E2E_IMAP"))"
fi
check "imap: after $how the count is unchanged ($MSGS messages)" messages_are "$MSGS"
added=$(( $(stat_of "['sources']") - SRCS ))
check "imap: $how recorded the server's copies as new sources ($added added, $SERVER_COUNT on the server)" \
  [ "$added" -ge "$((SERVER_COUNT - 1))" ]

# Uncaught errors name the script (moz-extension://…); the extension's own handlers report a
# failed listener or start-up as "rapport: … failed: …".
ext_errors() {
  tb_log | grep -a -E 'moz-extension://.*[Ee]rror|rapport: [a-z -]+ failed:|rapport: could not' | sort -u | head -n 5
}
check "console: no error from the extension's scripts in any session" eval '[ -z "$(ext_errors)" ] || { ext_errors; false; }'

# ================= session 5: an IMAP account too; `rapport account import thunderbird` ===========
# The IMAP account is added to prefs.js between sessions (as a user or an admin would); Thunderbird
# reads it, sets the account up and writes prefs.js back in its own form at exit. That profile,
# with its POP3 account from the sessions above and this IMAP one, is what the import reads.
export E2E_IMAP_PW=alice-pw
rm -f "$PROFILE/extensions/$EXT_ID.xpi" # the extension's part is over: keep this session quiet
cat >>"$PROFILE/prefs.js" <<EOF
user_pref("mail.accountmanager.accounts", "account1,account2,account3");
user_pref("mail.account.account3.identities", "id2");
user_pref("mail.account.account3.server", "server3");
user_pref("mail.identity.id2.fullName", "Alice");
user_pref("mail.identity.id2.useremail", "alice.imap@example.test");
user_pref("mail.identity.id2.valid", true);
user_pref("mail.server.server3.type", "imap");
user_pref("mail.server.server3.hostname", "127.0.0.1");
user_pref("mail.server.server3.port", $IMAP_PORT);
user_pref("mail.server.server3.userName", "alice");
user_pref("mail.server.server3.name", "Alice IMAP");
user_pref("mail.server.server3.socketType", 0);
user_pref("mail.server.server3.authMethod", 3);
user_pref("mail.server.server3.check_new_mail", false);
EOF
LD_LIBRARY_PATH=$TB_DIR TB_DIR=$TB_DIR python3 "$HERE/nss_login.py" "$PROFILE" imap://127.0.0.1 alice alice-pw ||
  bad "storing the IMAP password failed"
start_tb 5
imap_set_up() { [ -d "$PROFILE/ImapMail" ]; }
wait_until "Thunderbird set up the IMAP account" 60 imap_set_up
sleep 3
stop_tb
check "profile: Thunderbird wrote prefs.js back with the IMAP account it set up (its directory-rel pref)" \
  grep -q '^user_pref("mail.server.server3.directory-rel", ' "$PROFILE/prefs.js"
IMPORTED=$RUN/imported.toml
RAPPORT_CONFIG=$IMPORTED R --json account import thunderbird "$PROFILE" --password-env E2E_IMAP_PW >"$RUN/import.json" 2>"$RUN/import.err"
import_rc=$?
check "import thunderbird: succeeds on the profile Thunderbird wrote" eval '[ "$import_rc" = 0 ] || cat "$RUN/import.err" "$RUN/import.json"'
imported_accounts() {
  jget 'sorted((a["kind"], a["host"], a["port"], a["security"], a["user"], a["email"]) for a in d["added"])' <"$RUN/import.json"
}
want_accounts="[[\"imap\", \"127.0.0.1\", $IMAP_PORT, \"none\", \"alice\", \"alice.imap@example.test\"], [\"pop3\", \"127.0.0.1\", $POP3_PORT, \"none\", \"alice\", \"alice@example.test\"]]"
check "import thunderbird: its IMAP and POP3 accounts, with servers, ports, encryption, users and addresses" \
  eval '[ "$(imported_accounts)" = "$want_accounts" ] || { echo "  got: $(imported_accounts)"; false; }'
check "import thunderbird: Local Folders skipped with a note" \
  [ "$(jget '[s["reason"] for s in d["skipped"]]' <"$RUN/import.json")" = '["Local Folders (no server)"]' ]
check "import thunderbird: never reads Thunderbird's passwords (none in the accounts file or the output)" \
  eval '! grep -q alice-pw "$IMPORTED" "$RUN/import.json" "$RUN/import.err" && grep -q "password_env = \"E2E_IMAP_PW\"" "$IMPORTED"'
IMAP_NAME=$(jget '[a["name"] for a in d["added"] if a["kind"] == "imap"][0]' <"$RUN/import.json")
POP3_NAME=$(jget '[a["name"] for a in d["added"] if a["kind"] == "pop3"][0]' <"$RUN/import.json")
check "import thunderbird: the imported IMAP account ($IMAP_NAME) logs in" env RAPPORT_CONFIG="$IMPORTED" "$RAPPORT" account test "$IMAP_NAME"
check "import thunderbird: the imported POP3 account ($POP3_NAME) logs in" env RAPPORT_CONFIG="$IMPORTED" "$RAPPORT" account test "$POP3_NAME"
RAPPORT_CONFIG=$IMPORTED R --json account import thunderbird "$PROFILE" >"$RUN/import2.json" 2>&1
check "import thunderbird: importing again adds nothing (both already configured)" \
  [ "$(jget '[len(d["added"]), sum("already configured" in s["reason"] for s in d["skipped"])]' <"$RUN/import2.json")" = "[0, 2]" ]
# Without PROFILE: the default profile of ~/.thunderbird/profiles.ini (this run's own HOME).
mkdir -p "$HOME/.thunderbird"
printf '[Profile0]\nName=e2e\nIsRelative=0\nPath=%s\nDefault=1\n' "$PROFILE" >"$HOME/.thunderbird/profiles.ini"
RAPPORT_CONFIG=$RUN/dry.toml R --json account import thunderbird --dry-run >"$RUN/import-dry.json" 2>&1
check "import thunderbird: without PROFILE, profiles.ini's default profile; --dry-run saves nothing" \
  eval '[ "$(jget "[d[\"profile\"], len(d[\"added\"])]" <"$RUN/import-dry.json")" = "[\"$PROFILE\", 2]" ] && [ ! -e "$RUN/dry.toml" ]'

# ---- uninstall ------------------------------------------------------------------------------
R install thunderbird --uninstall >/dev/null 2>&1
check "uninstall: manifest and launcher removed, database kept" \
  eval '[ ! -e "$MANIFEST" ] && [ ! -e "$LAUNCHER" ] && [ -f "$DB" ]'

summary
