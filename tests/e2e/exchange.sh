#!/usr/bin/env bash
# Exchange over EWS end to end (issue #12), against the protocol-faithful double
# tests/e2e/exchange/server.py (no Exchange can run here; its doc says where it departs from
# one). NTLM is checked by pyspnego with Extended Protection required; TLS is real (a test CA,
# a P-384 leaf signed with SHA-384, so the channel binding takes the certificate's own hash).
#
#   1. login forms: what the user typed, the address, the part before @, DOMAIN\user — each
#      form the only one the server takes, over NTLM and over Basic; the one that works is saved
#   2. a wrong password, and a binding that does not match (a TLS-intercepting proxy): clear
#      refusals, nothing saved
#   3. first sync = importing the same .eml files (stats, contacts, threads); a second sync
#      fetches nothing
#   4. new, deleted and moved items; then each fault once (busy in HTTP 200 and 500, 503, the
#      connection limit, an invalid sync state, an item gone between sync and get, a per-item
#      error); kill -9 mid-sync, three times: afterwards the database equals the model
#   5. watch picks up new mail by polling
#   6. Autodiscover by each of the four routes and through a RedirectAddr (root only: ports 443
#      and 80 on names under .localhost, which Rapport resolves to this machine)
# Prints "N passed, M failed, K skipped"; exits non-zero on failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/lib.sh"
R=$(rapport_bin) || exit 2
HERE=$root/tests/e2e/exchange
python3 -c 'import spnego, cryptography' 2>/dev/null ||
  { echo "pyspnego is not installed (python3 -m pip install pyspnego)"; exit 2; }
work=$(mktemp -d /tmp/rapport-exchange-e2e.XXXXXX)
export RAPPORT_CONFIG=$work/accounts.toml PW='Corp-Passw0rd!'
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
"$R" --db "$work/ews.db" --json sync work > "$work/sync2.json" 2>/dev/null
step "a second sync fetches nothing" test "$(json_field 'd[0]["fetched"]' < "$work/sync2.json")" = 0

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
for fault in busy200 busy500 http503 connection_limit; do
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

# ---- 6. Autodiscover ----------------------------------------------------------------------------
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
