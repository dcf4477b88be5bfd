#!/usr/bin/env bash
# Exchange over EWS end to end (issue #12), against the protocol-faithful double
# tests/e2e/exchange/server.py (no Exchange can run here; its doc says where it departs from
# one). NTLM is checked by pyspnego with Extended Protection required; TLS is real (a test CA,
# a P-384 leaf signed with SHA-384, so the channel binding takes the certificate's own hash).
#
#   1. login forms: what the user typed, the address, the part before @, DOMAIN\user — each
#      form the only one the server takes, over NTLM and over Basic; the one that works is saved
#   2. a wrong password, and a binding that does not match (a TLS-intercepting proxy): clear
#      refusals, nothing saved; requests that break the EWS schema refused as Exchange does
#   3. first sync = importing the same .eml files (stats, contacts, threads); a second sync
#      fetches nothing
#   4. new, deleted and moved items; then each fault once (busy in HTTP 200 and 500, 503, the
#      connection limit, an NTLM connection closed while idle, a server whose schema lacks the
#      archive folder name, an invalid sync state, an item gone
#      between sync and get, a per-item error); kill -9 mid-sync, three times: afterwards the database equals the model
#   5. watch picks up new mail by polling
#   6. Graph: device-code sign-in from this script, tokens private; first sync = import, and
#      identical stats through EWS and Graph; new and deleted items; 429 with and without
#      Retry-After, 503, 410, an empty page with a next link; an expired token refreshed; never
#      more than 4 requests in flight (and the double refusing a fifth); kill -9 twice; sign-in
#      in a browser with PKCE; a declined sign-in; tokens in the OS keyring (a real gnome-keyring
#      on a private session bus: kept, read, refreshed, removed; a refusing keyring falls back to
#      the file); EWS with a Bearer token from --oauth2-command (hybrid modern auth), and a token
#      the server refuses; an unknown client id
#      and IMAP XOAUTH2 against a real Dovecot whose oauth2 passdb asks the sign-in service:
#      IMAP, EWS and Graph give identical stats
#   7. Autodiscover by each of the four routes and through a RedirectAddr (root only: ports 443
#      and 80 on names under .localhost, which Rapport resolves to this machine)
# Prints "N passed, M failed, K skipped"; exits non-zero on failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/lib.sh"
R=$(rapport_bin) || exit 2
HERE=$root/tests/e2e/exchange
python3 -c 'import spnego, cryptography, lxml' 2>/dev/null ||
  { echo "pyspnego or lxml is not installed (python3 -m pip install pyspnego lxml)"; exit 2; }
work=$(mktemp -d /tmp/rapport-exchange-e2e.XXXXXX)
export RAPPORT_CONFIG=$work/accounts.toml PW='Corp-Passw0rd!'
# Tokens in files, never in the keyring of whoever runs the tests; the keyring case below runs
# against a keyring of its own.
export RAPPORT_KEYRING=off
me=dana@corp.localhost
server_pid=
aux_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  [ -n "$aux_pid" ] && kill "$aux_pid" 2>/dev/null
  wait 2>/dev/null
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

# ---- TLS: a CA and a leaf for every name the tests use -----------------------------------------
names="mail.corp.localhost corp.localhost autodiscover.corp.localhost localhost"
for d in d1 d2 d3 d4 d5; do names="$names $d.localhost autodiscover.$d.localhost mail.$d.localhost"; done
names="$names exchange.hoster.localhost"
san=$(for n in $names; do printf 'DNS:%s,' "$n"; done)IP:127.0.0.1
tls() { # DIR: ca.pem, cert.pem, key.pem
  mkdir -p "$1" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -days 2 -subj "/CN=Rapport Exchange test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$1/ca.key" -out "$1/ca.pem" 2>/dev/null &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -subj /CN=mail.corp.localhost \
      -keyout "$1/key.pem" -out "$1/leaf.csr" 2>/dev/null &&
    printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature extendedKeyUsage=serverAuth \
      "subjectAltName=$san" > "$1/leaf.ext" &&
    openssl x509 -req -sha384 -in "$1/leaf.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial \
      -days 2 -extfile "$1/leaf.ext" -out "$1/cert.pem" 2>/dev/null
}
tls "$work/tls" && tls "$work/proxy" || { echo "openssl failed"; exit 2; }
CA=$work/tls/ca.pem

# ---- the mailboxes: real list mail, its busiest sender renamed to the owner ----------------------
# small: the shipped corpus (login and Autodiscover cases); big: linux-man when the shared corpora
# are there (sync, faults, kills), else the shipped corpus again.
python3 "$HERE/make_mailbox.py" "$(small_corpus)/maildir/cur" "$work/small" "$me" 1000 > /dev/null
if c=$(corpus lore-linux-man); then
  src="$c/lore-linux-man/cur"; big_count=3000
else
  echo "linux-man is not available ($c): the sync cases use the shipped corpus"
  src="$(small_corpus)/maildir/cur"; big_count=1000
fi
python3 "$HERE/make_mailbox.py" "$src" "$work/all" "$me" "$big_count" > "$work/mailbox.txt"
# The model starts without the last 20 messages of its Inbox: they arrive later as new mail.
mkdir -p "$work/big" "$work/later"
cp -r "$work/all/." "$work/big/"
ls "$work/big/Inbox" | tail -n 20 | while read -r f; do mv "$work/big/Inbox/$f" "$work/later/"; done

start_server() { # MAILBOX [server options…]: starts the double, sets PORT and URL
  local mailbox=$1
  shift
  stop_server
  rm -f "$work/port"
  python3 "$HERE/server.py" --cert "$work/tls/cert.pem" --key "$work/tls/key.pem" --mailbox "$mailbox" \
    --owner "$me" --password "$PW" --ready-file "$work/port" --verbose "$@" > "$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
  PORT=$(cat "$work/port" 2>/dev/null)
  URL=https://mail.corp.localhost:$PORT/EWS/Exchange.asmx
  [ -n "$PORT" ]
}
stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; server_pid=; }
control() { curl -s --cacert "$CA" -X "${2:-POST}" "https://mail.corp.localhost:$PORT/_control/$1" --data-binary "${3:-}"; }
json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
saved_user() { python3 -c "import tomllib,sys; print(next(a['user'] for a in tomllib.load(open(sys.argv[1],'rb'))['account'] if a['name']==sys.argv[2]))" "$RAPPORT_CONFIG" "$1" 2>/dev/null; }
add() { # NAME [flags…]: account add --exchange with the endpoint, CA and password
  local name=$1
  shift
  rm -f "$RAPPORT_CONFIG"
  "$R" --json account add "$name" --exchange --email "$me" --ews-url "$URL" --ca-file "$CA" --password-env PW "$@" \
    > "$work/add.json" 2> "$work/add.err"
}

# ---- 1. login forms -----------------------------------------------------------------------------
for scheme in ntlm basic; do
  while read -r accepted typed expected why; do
    # Basic learns no domain from the server (checked below).
    [ "$scheme" = basic ] && [ "${why#*NTLM domain}" != "$why" ] && continue
    start_server "$work/small" --auth "$scheme" --logins "$accepted" || { bad "the double starts"; continue; }
    if [ "$typed" = - ]; then add work; else add work --username "$typed"; fi
    got=$(saved_user work)
    how=$(json_field 'd.get("auth_scheme")' < "$work/add.json" 2>/dev/null)
    if [ "$got" = "$expected" ] && [ "$how" = "$scheme" ]; then
      ok "$scheme: $why (saved $expected)"
    else
      bad "$scheme: $why — saved '${got:-nothing}' over '${how:-?}': $(tail -n 2 "$work/add.err")"
    fi
  done <<EOF
CORP\\dana CORP\\dana CORP\\dana DOMAIN\\user as typed
dana@corp.localhost - dana@corp.localhost the whole address
dana - dana the part before @ after the address is refused
CORP\\dana - CORP\\dana DOMAIN\\user from the server's NTLM domain after address and name are refused
dana@corp.localhost dana dana@corp.localhost the address after the typed name is refused
EOF
done
# Basic learns no domain from the server: DOMAIN\user comes only from what the user typed.
start_server "$work/small" --auth basic --logins 'CORP\dana'
add work
said() { cat "$work/add.err" "$work/add.json" 2>/dev/null | grep -q -- "$1"; }   # stderr, or --json's error
check_refused() { ! [ -s "$RAPPORT_CONFIG" ] && said "refused every login form"; }
step "basic: without a typed domain, DOMAIN\\user cannot be guessed: refused, nothing saved" check_refused

# ---- 2. refusals --------------------------------------------------------------------------------
start_server "$work/small" --auth ntlm,basic
PW=wrong add work
step "a wrong password: refused naming the forms tried, nothing saved" check_refused
start_server "$work/small" --auth ntlm --binding-cert "$work/proxy/cert.pem"
add work
step "NTLM through a certificate the server did not issue (channel binding differs): refused" check_refused
grep -q "channel bindings\|bindings do not match" "$work/server.log" && ok "…and the server says why: the binding" ||
  bad "the server log names the binding: $(grep -i refused "$work/server.log" | tail -n 1)"
start_server "$work/small" --auth ntlm --cbt require
add work
step "NTLM with Extended Protection required: accepted" test "$(saved_user work)" = "$me"
[ "$(control stats GET | json_field 'd.get("ntlm_ok",0)')" -ge 1 ] && ok "…by the NTLM acceptor (pyspnego)" || bad "pyspnego accepted no NTLM login"

# The double validates every request against the EWS schema (tests/e2e/exchange/schema):
# requests that break it are refused as Exchange refuses them.
start_server "$work/small" --auth basic
soap() { # OPERATION_XML: POSTs one request as dana over Basic; prints the HTTP status and the answer
  curl -s --cacert "$CA" -u "dana@corp.localhost:$PW" -H 'Content-Type: text/xml; charset=utf-8' -w '\nHTTP %{http_code}' \
    --data-binary "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"><soap:Header><t:RequestServerVersion Version=\"Exchange2013_SP1\"/></soap:Header><soap:Body>$1</soap:Body></soap:Envelope>" "$URL"
}
shape='<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId>'
refused_by_schema() { # WHAT OPERATION_XML EXPECTED_TEXT
  local answer
  answer=$(soap "$2")
  if grep -q "HTTP 500" <<< "$answer" && grep -q "ErrorSchemaValidation" <<< "$answer" && grep -q -- "$3" <<< "$answer"; then
    ok "schema: $1 is refused (ErrorSchemaValidation, naming $3)"
  else bad "schema: $1 was not refused as invalid: $(tail -c 300 <<< "$answer")"; fi
}
step "schema: a valid SyncFolderItems is answered" grep -q "HTTP 200" <<< "$(soap "<m:SyncFolderItems>$shape<m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>")"
refused_by_schema "MaxChangesReturned above 512" "<m:SyncFolderItems>$shape<m:MaxChangesReturned>513</m:MaxChangesReturned></m:SyncFolderItems>" "maxInclusive"
refused_by_schema "SyncScope before MaxChangesReturned" "<m:SyncFolderItems>$shape<m:SyncScope>NormalItems</m:SyncScope><m:MaxChangesReturned>5</m:MaxChangesReturned></m:SyncFolderItems>" "SyncScope"
refused_by_schema "an unknown FieldURI" '<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="message:Nonsense"/></t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="x"/></m:ItemIds></m:GetItem>' "message:Nonsense"
refused_by_schema "an unknown distinguished folder" '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="attic"/></m:FolderIds></m:GetFolder>' "attic"
refused_by_schema "ResolveNames without ReturnFullContactData" '<m:ResolveNames><m:UnresolvedEntry>dana</m:UnresolvedEntry></m:ResolveNames>' "ReturnFullContactData"
refused_by_schema "GetItem without ids" '<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds/></m:GetItem>' "ItemIds"

# ---- 3. first sync = the import of the same files -----------------------------------------------
start_server "$work/big" --auth ntlm
add work > /dev/null
import_oracle() { # DB DIR…: imports the files into a fresh database
  local db=$1
  shift
  rm -f "$db"
  "$R" --db "$db" --quiet import "$@" --me "$me" > /dev/null 2>&1
}
import_oracle "$work/oracle.db" "$work/big/Inbox" "$work/big/Projects" "$work/big/Sent Items"
"$R" --db "$work/ews.db" --json sync work > "$work/sync1.json" 2> "$work/sync1.err"
step "first sync succeeds" test -s "$work/sync1.json"
step "first sync: stats --json equal the import's" test "$("$R" --db "$work/ews.db" stats --json)" = "$("$R" --db "$work/oracle.db" stats --json)"
step "first sync: contacts and threads equal the import's" test "$(fingerprint "$work/ews.db")" = "$(fingerprint "$work/oracle.db")"
step "Sent Items mail is outbound (its senders resolved from Exchange-internal addresses)" \
  test "$("$R" --db "$work/ews.db" stats --json | json_field 'd["by_direction"].get("outbound",0)')" -gt 0
[ "$(control stats GET | json_field 'd.get("ResolveNames",0)')" -ge 1 ] && ok "…through ResolveNames" || bad "no ResolveNames call"
# The conformance of #7: the same mail from two paths into one database, files first.
import_oracle "$work/both.db" "$work/big/Inbox" "$work/big/Projects" "$work/big/Sent Items"
"$R" --db "$work/both.db" --quiet sync work > /dev/null 2>&1
step "files then EWS into one database: same stats, contacts and threads as EWS alone" \
  test "$(fingerprint "$work/both.db")" = "$(fingerprint "$work/ews.db")"
step "…with every message seen at two sources" \
  test "$("$R" --db "$work/both.db" stats --json | json_field 'd["sources"]')" = "$((2 * $("$R" --db "$work/ews.db" stats --json | json_field 'd["sources"]')))"
"$R" --db "$work/ews.db" --json sync work > "$work/sync2.json" 2>/dev/null
step "a second sync fetches nothing" test "$(json_field 'd[0]["fetched"]' < "$work/sync2.json")" = 0
control stats GET > "$work/stats-sync.json"
step "every request of both syncs was valid against the EWS schema" \
  test "$(json_field 'd.get("schema_invalid", 0) == 0 and d["schema_valid"] == sum(d.get(o, 0) for o in ("GetFolder", "SyncFolderHierarchy", "SyncFolderItems", "GetItem", "ResolveNames")) > 0' < "$work/stats-sync.json")" = True

# ---- 4. changes, faults and kills ---------------------------------------------------------------
oracle_dirs=("$work/big/Inbox" "$work/big/Projects" "$work/big/Sent Items" "$work/arrived")
mkdir -p "$work/arrived"
control_file() { curl -s --cacert "$CA" -X POST "https://mail.corp.localhost:$PORT/_control/$1" --data-binary "@$2"; }
arrive() { # N: the next N held-back messages arrive in the Inbox (and join the oracle)
  local f
  for f in $(ls "$work/later" | head -n "$1"); do
    control_file "add?folder=Inbox" "$work/later/$f" > /dev/null
    mv "$work/later/$f" "$work/arrived/"
  done
}
equals_model() { # NAME: sync, then compare with the import of every file the model ever held
  "$R" --db "$work/ews.db" --json sync work > "$work/last.json" 2> "$work/last.err"
  import_oracle "$work/oracle.db" "${oracle_dirs[@]}"
  if [ "$(fingerprint "$work/ews.db")" = "$(fingerprint "$work/oracle.db")" ]; then ok "$1: the database equals the model"
  else bad "$1: the database differs from the model ($(tail -n 2 "$work/last.err"))"; fi
}
msgid() { grep -im1 '^message-id:' "$1" | sed 's/^[^:]*: *//; s/\r$//'; }
arrive 3
equals_model "three new items"
step "…fetching only them" test "$(json_field 'd[0]["fetched"]' < "$work/last.json")" = 3
# Deleted and moved on the server: the mail stays in the history; a moved item is seen again.
first_inbox=$(ls "$work/big/Inbox" | head -n 1)
second_inbox=$(ls "$work/big/Inbox" | sed -n 2p)
control "delete?message_id=$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1]))' "$(msgid "$work/big/Inbox/$first_inbox")")" > /dev/null
control "move?to=Projects&message_id=$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1]))' "$(msgid "$work/big/Inbox/$second_inbox")")" > /dev/null
equals_model "a deleted and a moved item"
step "…the moved item fetched once, in its new folder" \
  test "$(json_field 'sum(f["fetched"] for f in d[0]["folders"] if f["folder"].endswith("Projects"))' < "$work/last.json")" = 1
for fault in busy200 busy500 http503 connection_limit silent_close schema_without_archive; do
  arrive 1
  control faults POST "{\"$fault\": 1}" > /dev/null
  equals_model "fault $fault"
  [ "$(control stats GET | json_field "d.get('fault_$fault',0)")" -ge 1 ] && ok "…the fault $fault did happen" || bad "the fault $fault never fired"
done
before=$("$R" --db "$work/ews.db" stats --json | json_field 'd["messages"]')
arrive 1
control faults POST '{"invalid_sync_state": 1}' > /dev/null
equals_model "an invalid sync state (the folder is resynced)"
step "…without duplicates (one message more, not a folder more)" \
  test "$("$R" --db "$work/ews.db" stats --json | json_field 'd["messages"]')" = "$((before + 1))"
gone=$(ls "$work/later" | head -n 1)
control_file "add?folder=Inbox" "$work/later/$gone" > /dev/null
rm "$work/later/$gone"
control faults POST '{"item_gone": 1}' > /dev/null
equals_model "an item deleted between SyncFolderItems and GetItem"
[ "$(control stats GET | json_field "d.get('fault_item_gone',0)")" -ge 1 ] && ok "…the item did vanish" || bad "item_gone never fired"
# kill -9 mid-sync, three times, at different points: the next sync leaves no gap and no duplicate.
for round in 1 2 3; do
  stop_server
  start_server "$work/big" --auth ntlm --delay-ms 20 || bad "restart the double"
  add work > /dev/null
  rm -f "$work/ews.db"
  "$R" --db "$work/ews.db" --quiet sync work > /dev/null 2>&1 &
  pid=$!
  want=$(((round - 1) * 500 + 1))   # the pipeline commits 500 at a time
  for _ in $(seq 600); do
    n=$(sqlite3 "$work/ews.db" "SELECT count(*) FROM source" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge "$want" ] && break
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  n=$(sqlite3 "$work/ews.db" "SELECT count(*) FROM source" 2>/dev/null || echo 0)
  oracle_dirs=("$work/big/Inbox" "$work/big/Projects" "$work/big/Sent Items")
  equals_model "kill -9 after $n sources, then sync again (round $round)"
done
stop_server
start_server "$work/big" --auth ntlm
add work > /dev/null
rm -f "$work/ews.db"
"$R" --db "$work/ews.db" --quiet sync work > /dev/null 2>&1
victim=$(ls "$work/later" | head -n 1)
control_file "add?folder=Inbox" "$work/later/$victim" > /dev/null
control faults POST '{"get_item_error": 1}' > /dev/null
"$R" --db "$work/ews.db" --json sync work > "$work/last.json" 2> "$work/last.err"
step "a per-item error (ErrorCorruptData) is skipped and reported, the sync goes on" \
  test "$(json_field 'd[0]["skipped"]' < "$work/last.json")" = 1

# ---- 5. watch -----------------------------------------------------------------------------------
rm -f "$work/watch.db"
"$R" --db "$work/watch.db" --quiet sync work > /dev/null 2>&1
before=$("$R" --db "$work/watch.db" stats --json | json_field 'd["messages"]')
"$R" --db "$work/watch.db" watch work --poll 1 > "$work/watch.log" 2>&1 &
watch_pid=$!
sleep 1
next=$(ls "$work/later" | sed -n 2p)
control_file "add?folder=Inbox" "$work/later/$next" > /dev/null
got=$before
for _ in $(seq 100); do
  got=$("$R" --db "$work/watch.db" stats --json 2>/dev/null | json_field 'd["messages"]')
  [ "$got" -gt "$before" ] && break
  sleep 0.1
done
kill "$watch_pid" 2>/dev/null
wait "$watch_pid" 2>/dev/null
step "watch polls Exchange and stores new mail within seconds" test "$got" = "$((before + 1))"


# ---- 6. Microsoft Graph: sign-in, sync, faults --------------------------------------------------
stop_server
start_server "$work/big" --auth ntlm --token-lifetime 3600 || bad "the double for Graph"
graph_add() { # NAME [flags…]: account add (against the double running now), the device code
  # approved from this script
  local name=$1 code=
  shift
  rm -f "$RAPPORT_CONFIG"
  "$R" account add "$name" --provider office365 --client-id rapport-test-client --email "$me" --ca-file "$CA" \
    --authority "https://mail.corp.localhost:$PORT/common" --graph-url "https://mail.corp.localhost:$PORT/v1.0" \
    "$@" > "$work/gadd.out" 2> "$work/gadd.err" &
  local pid=$!
  for _ in $(seq 100); do
    code=$(grep -o "enter the code [A-Z0-9]*" "$work/gadd.err" | awk '{print $4}')
    [ -n "$code" ] && break
    sleep 0.1
  done
  # The user signs in a moment later: Rapport's first polls are answered "pending".
  for _ in $(seq 50); do
    [ "$(control stats GET | json_field 'd.get("device_pending",0)')" -ge 1 ] && break
    sleep 0.1
  done
  [ -n "$code" ] && control "approve?user_code=$code" > /dev/null
  wait "$pid"
}
graph_add m365
step "device-code sign-in from a script: the account is saved" test "$(saved_user m365)" = "$me"
[ "$(control stats GET | json_field 'd.get("device_pending",0)')" -ge 1 ] && ok "…after at least one pending poll" || bad "no pending poll was answered"
tokens=$(dirname "$RAPPORT_CONFIG")/tokens/m365.json
step "…its tokens in a file only the user can read" test "$(stat -c %a "$tokens" 2>/dev/null)" = 600
secret_shown() { # TOKENS_JSON FILE…: whether a token of TOKENS_JSON appears in any FILE
  python3 - "$@" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
text = "".join(open(f).read() for f in sys.argv[2:])
sys.exit(0 if t["access_token"] in text or t["refresh_token"] in text else 1)
PY
}
if secret_shown "$tokens" "$work/gadd.out" "$work/gadd.err"; then bad "a token was printed"; else ok "…and never on the screen"; fi
rm -f "$work/graph.db"
"$R" --db "$work/graph.db" --json sync m365 > "$work/gsync.json" 2> "$work/gsync.err"
oracle_dirs=("$work/big/Inbox" "$work/big/Projects" "$work/big/Sent Items")
import_oracle "$work/oracle.db" "${oracle_dirs[@]}"
step "Graph first sync: contacts and threads equal the import's" test "$(fingerprint "$work/graph.db")" = "$(fingerprint "$work/oracle.db")"
rm -f "$work/ews3.db"
add work > /dev/null   # the EWS account again (graph_add replaced the accounts file)
"$R" --db "$work/ews3.db" --quiet sync work > /dev/null 2>&1
step "the same mailbox through EWS and Graph: identical stats --json" \
  test "$("$R" --db "$work/ews3.db" stats --json)" = "$("$R" --db "$work/graph.db" stats --json)"
graph_add m365
sqlite3 "$work/ews3.db" ".backup $work/ews-then-graph.db"
"$R" --db "$work/ews-then-graph.db" --quiet sync m365 > /dev/null 2>&1
step "EWS then Graph into one database: same stats, contacts and threads as Graph alone" \
  test "$(fingerprint "$work/ews-then-graph.db")" = "$(fingerprint "$work/graph.db")"
graph_equals_model() { # NAME
  "$R" --db "$work/graph.db" --json sync m365 > "$work/last.json" 2> "$work/last.err"
  import_oracle "$work/oracle.db" "${oracle_dirs[@]}"
  if [ "$(fingerprint "$work/graph.db")" = "$(fingerprint "$work/oracle.db")" ]; then ok "Graph, $1: the database equals the model"
  else bad "Graph, $1: the database differs ($(tail -n 2 "$work/last.err"))"; fi
}
oracle_dirs+=("$work/arrived")
rm -rf "$work/arrived"; mkdir -p "$work/arrived"
arrive 2
graph_equals_model "two new items"
step "…fetching only them" test "$(json_field 'd[0]["fetched"]' < "$work/last.json")" = 2
third=$(ls "$work/big/Inbox" | sed -n 3p)
control "delete?message_id=$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1]))' "$(msgid "$work/big/Inbox/$third")")" > /dev/null
graph_equals_model "a deleted item (@removed)"
for fault in graph_429 graph_429_bare graph_503 graph_410 graph_empty_page; do
  arrive 1
  control faults POST "{\"$fault\": 1}" > /dev/null
  graph_equals_model "fault $fault"
  [ "$(control stats GET | json_field "d.get('fault_$fault',0)")" -ge 1 ] && ok "…the fault $fault did happen" || bad "the fault $fault never fired"
done
control expire > /dev/null
arrive 1
graph_equals_model "an expired access token"
[ "$(control stats GET | json_field 'd.get("token_refresh",0)')" -ge 1 ] && ok "…renewed with the refresh token" || bad "no refresh happened"
step "Rapport never had more than 4 Graph requests in flight" test "$(control stats GET | json_field 'd.get("mailbox_concurrency",0)')" = 0
# The double's own limit, checked from outside: 8 requests at once, some refused.
stop_server
start_server "$work/small" --delay-ms 400 || bad "the double for the concurrency check"
graph_add m365 > /dev/null
tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$tokens")
burst=()
for _ in 1 2 3 4 5 6 7 8; do
  curl -s -o /dev/null -w '%{http_code}\n' --cacert "$CA" -H "Authorization: Bearer $tok" \
    "https://mail.corp.localhost:$PORT/v1.0/me/mailFolders/delta" >> "$work/burst.txt" &
  burst+=($!)
done
wait "${burst[@]}"
step "the double refuses more than 4 requests in flight (429 MailboxConcurrency)" grep -q 429 "$work/burst.txt"
# kill -9 mid-sync, then sync again.
stop_server
start_server "$work/big" --delay-ms 20 || bad "restart the double"
graph_add m365
for round in 1 2; do
  rm -f "$work/graph.db"
  "$R" --db "$work/graph.db" --quiet sync m365 > /dev/null 2>&1 &
  pid=$!
  want=$(((round - 1) * 400 + 1))
  for _ in $(seq 600); do
    n=$(sqlite3 "$work/graph.db" "SELECT count(*) FROM source" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge "$want" ] && break
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  oracle_dirs=("$work/big/Inbox" "$work/big/Projects" "$work/big/Sent Items")
  graph_equals_model "kill -9 after $(sqlite3 "$work/graph.db" "SELECT count(*) FROM source" 2>/dev/null) sources, then sync again (round $round)"
done
# Sign-in in a browser: PKCE on a loopback redirect; this script is the browser.
rm -f "$tokens"
"$R" account login m365 --browser > "$work/login.out" 2> "$work/login.err" &
pid=$!
for _ in $(seq 100); do
  page=$(grep -o "https://[^ ]*authorize[^ ]*" "$work/login.err")
  [ -n "$page" ] && break
  sleep 0.1
done
curl -s -L --cacert "$CA" "$page" > "$work/browser.html"
wait "$pid"
step "browser sign-in (authorization code with PKCE, loopback redirect): signed in" test -s "$tokens"
[ "$(control stats GET | json_field 'd.get("token_pkce",0)')" = 1 ] && ok "…the code exchanged with its verifier" || bad "no PKCE exchange"
"$R" account login m365 > /dev/null 2> "$work/login2.err" &
pid=$!
for _ in $(seq 100); do
  code=$(grep -o "enter the code [A-Z0-9]*" "$work/login2.err" | awk '{print $4}')
  [ -n "$code" ] && break
  sleep 0.1
done
control "decline?user_code=$code" > /dev/null
wait "$pid"
step "a declined sign-in: a clear refusal" grep -q "declined" "$work/login2.err"

# Tokens in the OS keyring: a real Secret Service (gnome-keyring) on a session bus of its own.
private_bus() { # DATA_DIR: a D-Bus session bus with its own keyring directory; sets bus_pid
  mkdir -p "$1/data" "$1/run" && chmod 700 "$1/run"
  export XDG_DATA_HOME=$1/data XDG_RUNTIME_DIR=$1/run
  { read -r DBUS_SESSION_BUS_ADDRESS; read -r bus_pid; } < <(dbus-daemon --session --fork --print-address=1 --print-pid=1 2>/dev/null)
  export DBUS_SESSION_BUS_ADDRESS
}
if command -v secret-tool > /dev/null && command -v gnome-keyring-daemon > /dev/null && command -v dbus-daemon > /dev/null; then
  outer_env=$(declare -p XDG_DATA_HOME XDG_RUNTIME_DIR DBUS_SESSION_BUS_ADDRESS 2>/dev/null)
  private_bus "$work/keyring"
  printf 'keyring-password' | gnome-keyring-daemon --unlock --components=secrets > /dev/null 2>&1
  unset RAPPORT_KEYRING
  in_keyring() { secret-tool lookup application rapport file "$tokens" 2>/dev/null; }
  graph_add m365
  step "with a keyring: the sign-in keeps the tokens in it" grep -q "tokens kept in the keyring" "$work/gadd.err"
  in_keyring > "$work/keyring-tokens.json"
  step "…the keyring holds them, refresh token included" test "$(json_field 'bool(d["refresh_token"])' < "$work/keyring-tokens.json" 2>/dev/null)" = True
  step "…no tokens file beside the accounts file" test ! -e "$tokens"
  if secret_shown "$work/keyring-tokens.json" "$work/gadd.out" "$work/gadd.err"; then bad "a token was printed"; else ok "…never on the screen"; fi
  step "account list: signed in, tokens in the keyring" grep -q "sign-in (keyring)" <("$R" account list 2>&1)
  step "doctor: signed in, tokens in the keyring" grep -q "tokens in the keyring" <("$R" doctor 2>&1)
  rm -f "$work/graph.db"
  graph_equals_model "tokens read from the keyring"
  control expire > /dev/null
  before=$(json_field 'd["access_token"]' < "$work/keyring-tokens.json")
  refreshes=$(control stats GET | json_field 'd.get("token_refresh",0)')
  graph_equals_model "an expired token, refreshed"
  step "…the refresh happened" test "$(control stats GET | json_field 'd.get("token_refresh",0)')" -gt "$refreshes"
  step "…and the new tokens went back to the keyring, not to a file" \
    test "$(in_keyring | json_field 'd["access_token"]')" != "$before" -a ! -e "$tokens"
  RAPPORT_KEYRING=off "$R" --db "$work/graph.db" sync m365 > /dev/null 2> "$work/nokeyring.err"
  step "keyring turned off: not signed in, and the message says the tokens may be in the keyring" \
    grep -q "keyring answered" "$work/nokeyring.err"
  "$R" account remove m365 2> /dev/null
  step "account remove signs out: the keyring entry is gone" test -z "$(in_keyring)"
  kill "$bus_pid" 2> /dev/null
  # A keyring that cannot take the tokens (nothing unlocked, no one to ask): the file, at once.
  private_bus "$work/keyring-locked"
  graph_add m365
  step "a keyring that refuses: the tokens go to a file only the user can read" test "$(stat -c %a "$tokens" 2>/dev/null)" = 600
  kill "$bus_pid" 2> /dev/null
  unset XDG_DATA_HOME XDG_RUNTIME_DIR DBUS_SESSION_BUS_ADDRESS
  eval "$outer_env"
  export RAPPORT_KEYRING=off
else
  skip "tokens in the OS keyring" "needs secret-tool, gnome-keyring and dbus-daemon (apt-get install libsecret-tools gnome-keyring)"
fi
# EWS with a Bearer token (hybrid modern auth): an access token of the sign-in service, given by
# a command, as for IMAP's XOAUTH2.
stop_server
start_server "$work/big" --auth bearer || bad "the double for Bearer"
graph_add m365 > /dev/null
token_command="python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"access_token\"])' $tokens"
"$R" --json account add hybrid --exchange --email "$me" --ews-url "$URL" --ca-file "$CA" --oauth2-command "$token_command" \
  > "$work/add.json" 2> "$work/add.err"
step "EWS with a Bearer token from --oauth2-command: the account is saved" grep -q 'name = "hybrid"' "$RAPPORT_CONFIG"
rm -f "$work/bearer.db"
"$R" --db "$work/bearer.db" --quiet sync hybrid > /dev/null 2> "$work/bearer.err"
import_oracle "$work/oracle.db" "${oracle_dirs[@]}"
step "…its first sync equals the model" test "$(fingerprint "$work/bearer.db")" = "$(fingerprint "$work/oracle.db")"
[ "$(control stats GET | json_field 'd.get("bearer_ok",0)')" -ge 1 ] && ok "…authenticated by the token" || bad "no Bearer login"
"$R" --json account add hybrid2 --exchange --email "$me" --ews-url "$URL" --ca-file "$CA" --oauth2-command "echo not-a-token" \
  > "$work/add.json" 2> "$work/add.err"
step "a Bearer token the server does not take: refused, nothing saved" test "$(grep -c 'hybrid2' "$RAPPORT_CONFIG")" = 0
step "…with a message saying so" grep -q "refused the access token" "$work/add.err" "$work/add.json"
rm -f "$RAPPORT_CONFIG"
"$R" account add m365 --provider office365 --client-id not-registered --email "$me" --ca-file "$CA" \
  --authority "https://mail.corp.localhost:$PORT/common" --graph-url "https://mail.corp.localhost:$PORT/v1.0" > /dev/null 2> "$work/gbad.err"
step "an unknown client id: a clear refusal naming the sign-in service's reason" grep -q "unauthorized_client" "$work/gbad.err"

# ---- IMAP XOAUTH2 against a real Dovecot whose oauth2 passdb asks the sign-in service -----------
if [ -x /usr/sbin/dovecot ]; then
  export DV_DIR=$work/dovecot DV_OAUTH2_INTROSPECT=https://127.0.0.1:$PORT/_oauth2/introspect DV_OAUTH2_CA=$CA
  chmod 755 "$work" "$work/tls"
  chmod 644 "$CA"
  if "$root/tests/harness/dovecot.sh" start "$work/big/Inbox" > "$work/dovecot.log" 2>&1; then
    . "$DV_DIR/env"
    run_user=nobody; [ "$(id -u)" = 0 ] || run_user=$(id -un)
    for pair in "Sent Items:.Sent" "Projects:.Projects"; do
      dir=$DV_DIR/home/alice/Maildir/${pair#*:}
      mkdir -p "$dir"/{cur,new,tmp}
      i=0; for f in "$work/big/${pair%%:*}"/*; do i=$((i + 1)); cp "$f" "$dir/cur/$(printf '%07d' $i).x:2,S"; done
    done
    [ "$(id -u)" = 0 ] && chown -R "$run_user" "$DV_DIR/home"
    rm -f "$RAPPORT_CONFIG"
    cp "$tokens" "$work/imap-token.json"
    "$R" account add imapx --email "$me" --host 127.0.0.1 --port "$DV_IMAPS_PORT" --security tls --user alice \
      --oauth2-command "python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"access_token\"])' $work/imap-token.json" \
      --ca-file "$DV_CA" > /dev/null 2> "$work/imapx.err"
    rm -f "$work/imap.db"
    "$R" --db "$work/imap.db" --quiet sync imapx > /dev/null 2> "$work/imapx.err"
    step "IMAP XOAUTH2 against the real Dovecot, its token checked by the sign-in service" \
      test "$("$R" --db "$work/imap.db" stats --json 2>/dev/null | json_field 'd["messages"]')" -gt 0
    [ "$(control stats GET | json_field 'd.get("introspect",0)')" -ge 1 ] && ok "…which Dovecot asked" ||
      bad "Dovecot never asked the sign-in service ($(tail -n 2 "$work/imapx.err"))"
    same3() {
      local g
      g=$("$R" --db "$work/graph.db" stats --json)
      [ "$("$R" --db "$work/imap.db" stats --json)" = "$g" ] && [ "$("$R" --db "$work/ews3.db" stats --json)" = "$g" ]
    }
    step "the same mailbox through IMAP, EWS and Graph: identical stats --json" same3
    control expire > /dev/null
    "$R" --db "$work/imap.db" --quiet sync imapx > /dev/null 2> "$work/imapx.err"
    step "an expired token: the IMAP login is refused with a clear message" grep -qi "authentication failed" "$work/imapx.err"
    "$root/tests/harness/dovecot.sh" stop > /dev/null 2>&1
  else
    bad "Dovecot with an oauth2 passdb starts ($(tail -n 3 "$work/dovecot.log"))"
  fi
else
  skip "IMAP XOAUTH2 against Dovecot" "dovecot is not installed (apt-get install dovecot-imapd)"
fi

# ---- 7. Autodiscover ----------------------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
  skip "Autodiscover by its four routes" "needs root for ports 443 and 80 (run as root, as CI does)"
  summary
fi
for port in 80 443; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    skip "Autodiscover by its four routes" "127.0.0.1:$port is already in use"
    summary
  fi
done
stop_server
start_server "$work/small" --port 443 --auth ntlm \
  --autodiscover-hosts d1.localhost,autodiscover.d2.localhost,mail.d3.localhost,exchange.hoster.localhost,d5.localhost \
  --redirect dana@d5.localhost=dana@d1.localhost || bad "the double on port 443"
python3 "$HERE/aux_servers.py" --http-port 80 --ready-file "$work/aux" \
  --redirect autodiscover.d3.localhost=https://mail.d3.localhost/autodiscover/autodiscover.xml \
  --srv _autodiscover._tcp.d4.localhost=exchange.hoster.localhost:443 > "$work/aux.log" 2>&1 &
aux_pid=$!
for _ in $(seq 100); do [ -s "$work/aux" ] && break; sleep 0.05; done
export RAPPORT_DNS_SERVER=127.0.0.1:$(awk '{print $2}' "$work/aux")
discover() { # DOMAIN [flags…]
  local domain=$1
  shift
  rm -f "$RAPPORT_CONFIG"
  "$R" --json account add work --exchange --email "dana@$domain" --username "$me" --ca-file "$CA" --password-env PW "$@" \
    > "$work/add.json" 2> "$work/add.err"
}
while read -r domain route url flags; do
  discover "$domain" $flags
  if [ "$(json_field 'd["discovery"]["route"]' < "$work/add.json" 2>/dev/null)" = "$route" ] &&
    [ "$(json_field 'd["ews_url"]' < "$work/add.json" 2>/dev/null)" = "$url" ]; then
    ok "Autodiscover for $domain by the $route route → $url"
  else
    bad "Autodiscover for $domain by $route: $(tail -n 3 "$work/add.err") $(head -c 600 "$work/add.json")"
  fi
done <<EOF
d1.localhost domain https://d1.localhost/EWS/Exchange.asmx
d2.localhost autodiscover https://autodiscover.d2.localhost/EWS/Exchange.asmx
d3.localhost http-redirect https://mail.d3.localhost/EWS/Exchange.asmx
d4.localhost srv https://exchange.hoster.localhost/EWS/Exchange.asmx --allow-redirect
d5.localhost domain https://d1.localhost/EWS/Exchange.asmx
EOF
step "…the d5 answer came through RedirectAddr" test "$(json_field 'd["discovery"]["redirects"]' < "$work/add.json")" = "['dana@d1.localhost']"
discover d4.localhost
check_untrusted() { ! [ -s "$RAPPORT_CONFIG" ] && said "allow-redirect"; }
step "a server outside the domain (SRV) is not trusted unasked: nothing saved, --allow-redirect named" check_untrusted
discover nowhere.localhost
step "no Autodiscover anywhere: a clear error naming --server and --ews-url" said "give --server or --ews-url"
summary
