#!/usr/bin/env bash
# Account set-up from the address alone (issue #13 item 4), end to end against a real Dovecot and
# an autoconfig web server started here. Names under .localhost are loopback to Rapport
# (RFC 6761), so autoconfig.rapport.localhost and imap.rapport.localhost reach 127.0.0.1 with no
# change to /etc/hosts; the test needs the standard ports (80 for autoconfig; 993, 143, 995 and
# 110 relayed to Dovecot), so it runs as root (CI) and reports itself skipped otherwise.
#
#   rapport.localhost   autoconfig over http at autoconfig.<domain>, user name %EMAILADDRESS%;
#                       Dovecot knows the user as "alice": the whole address is refused, the
#                       local part logs in and is saved
#   guess.localhost     no autoconfig: imap.<domain>:993 by guessing; bob@guess.localhost logs in
#                       with the whole address
#   popper.localhost    autoconfig at <domain>/.well-known/…, POP3 only
#   evil.localhost      an autoconfig over http naming a server outside the domain: ignored
#   nobody.localhost    nothing answers with a valid certificate: a clear error naming --host
# Plus: no password source (found, not saved), a wrong password (refused with every user name,
# nothing saved), --pop3, --json, and a sync of the discovered account.
# Prints "N passed, M failed, K skipped"; exits non-zero on failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/lib.sh"
if [ "$(id -u)" != 0 ]; then
  skip "account set-up end to end" "needs root for ports 80, 110, 143, 993 and 995 (run as root, as CI does)"
  summary
fi
for port in 80 110 143 993 995; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    skip "account set-up end to end" "127.0.0.1:$port is already in use on this machine"
    summary
  fi
done
export DV_TLS_NAMES="DNS:*.rapport.localhost,DNS:*.guess.localhost,DNS:*.popper.localhost,DNS:*.evil.localhost"
source "$root/tests/e2e/mail_server_lib.sh" account-setup
HERE=$root/tests/e2e/account_setup
export RAPPORT_SETUP_PW=alice-pw RAPPORT_BOB_PW=bob-pw
cleanup() {
  [ -n "${servers_pid:-}" ] && kill "$servers_pid" 2>/dev/null && wait "$servers_pid" 2>/dev/null
  "$DOVECOT" stop > /dev/null 2>&1
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/inbox"
cp "$small"/* "$work/inbox/"
n_inbox=$(ls "$work/inbox" | wc -l)
dovecot_start "$work/inbox" || { echo "cannot start dovecot: $(cat "$work/dovecot-start.log")"; exit 2; }
# bob logs in with his whole address (passwd-file is re-read when it changes).
mkdir -p "$DV_DIR/home/bob"
printf 'bob@guess.localhost:{PLAIN}bob-pw:%s:%s::%s/home/bob\n' "$(id -u "$run_user")" "$(id -g "$run_user")" "$DV_DIR" >> "$DV_DIR/users"
chown -R "$run_user" "$DV_DIR/home"

# ---- the autoconfig files --------------------------------------------------------------------
ac=$work/autoconfig
mkdir -p "$ac/autoconfig.rapport.localhost/mail" "$ac/popper.localhost/.well-known/autoconfig/mail" \
  "$ac/autoconfig.evil.localhost/mail"
cat > "$ac/autoconfig.rapport.localhost/mail/config-v1.1.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="rapport.localhost">
    <domain>rapport.localhost</domain>
    <displayName>Rapport test mail</displayName>
    <incomingServer type="pop3">
      <hostname>pop.%EMAILDOMAIN%</hostname>
      <port>995</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.rapport.localhost</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp"><hostname>smtp.rapport.localhost</hostname><port>465</port></outgoingServer>
  </emailProvider>
</clientConfig>
XML
cat > "$ac/popper.localhost/.well-known/autoconfig/mail/config-v1.1.xml" <<'XML'
<clientConfig version="1.1"><emailProvider id="popper.localhost">
  <incomingServer type="pop3"><hostname>pop.popper.localhost</hostname><port>110</port>
    <socketType>STARTTLS</socketType><username>%EMAILLOCALPART%</username>
    <authentication>password-cleartext</authentication></incomingServer>
</emailProvider></clientConfig>
XML
cat > "$ac/autoconfig.evil.localhost/mail/config-v1.1.xml" <<'XML'
<clientConfig version="1.1"><emailProvider id="evil.localhost">
  <incomingServer type="imap"><hostname>imap.attacker.localhost</hostname><port>993</port>
    <socketType>SSL</socketType><username>%EMAILADDRESS%</username></incomingServer>
</emailProvider></clientConfig>
XML
python3 "$HERE/servers.py" "$ac" "$work/http.log" \
  "993:$DV_IMAPS_PORT" "143:$DV_IMAP_PORT" "995:$DV_POP3S_PORT" "110:$DV_POP3_PORT" > "$work/servers.out" 2>&1 &
servers_pid=$!
for _ in $(seq 100); do grep -q ready "$work/servers.out" 2>/dev/null && break; sleep 0.05; done
grep -q ready "$work/servers.out" || { echo "the test servers did not start: $(cat "$work/servers.out")"; exit 2; }

add() { # name, email, more flags…: `account add` with nothing but the address (and the password, the CA)
  local name=$1 email=$2; shift 2
  "$R" --json account add "$name" --email "$email" --ca-file "$CA" "$@" > "$work/$name.json" 2> "$work/$name.err"
}
saved() { python3 -c '
import sys, tomllib
accounts = {a["name"]: a for a in tomllib.load(open(sys.argv[1], "rb")).get("account", [])}
a = accounts.get(sys.argv[2])
print("-" if a is None else " ".join(str(a.get(k, "")) for k in ("kind", "host", "port", "security", "user")))' "$RAPPORT_CONFIG" "$1"; }
j() { field "$2" < "$work/$1.json"; }

# --- 1. autoconfig at autoconfig.<domain> (http), both user name forms --------------------------
add auto alice@rapport.localhost --password-env RAPPORT_SETUP_PW
check "autoconfig: 'account add auto --email alice@rapport.localhost' succeeds" test $? -eq 0
check "autoconfig: IMAP preferred to the POP3 server listed first; the local part saved" \
  test "$(saved auto)" = "imap imap.rapport.localhost 993 tls alice"
check "autoconfig: the whole address was tried first and refused, then the local part logged in" \
  test "$(j auto '[a["outcome"] for a in d["discovery"]["attempts"] if a["what"].startswith("log in")]')" = "['rejected', 'logged in']"
check "autoconfig: found through http://autoconfig.rapport.localhost/mail/config-v1.1.xml" \
  test "$(j auto 'd["discovery"]["found"]["source"]')" = "http://autoconfig.rapport.localhost/mail/config-v1.1.xml"
check "autoconfig: the request carried the address (emailaddress=alice%40rapport.localhost)" \
  grep -q "^autoconfig.rapport.localhost /mail/config-v1.1.xml?emailaddress=alice%40rapport.localhost 200" "$work/http.log"
check "autoconfig: progress lines on stderr say what is tried" \
  grep -q "logging in to imap.rapport.localhost with the address as the user name" "$work/auto.err"
check "autoconfig: the saved account works (account test)" "$R" account test auto
"$R" --db "$work/auto.db" --json sync auto > "$work/auto-sync.json" 2>/dev/null
check "autoconfig: the saved account syncs all $n_inbox messages" \
  test "$(field 'd[0]["fetched"]' < "$work/auto-sync.json")" = "$n_inbox"

# --- 2. guessing imap.<domain>, the whole address ---------------------------------------------
add guessed bob@guess.localhost --password-env RAPPORT_BOB_PW
check "guessing: 'account add guessed --email bob@guess.localhost' succeeds" test $? -eq 0
check "guessing: imap.guess.localhost:993, the whole address saved" \
  test "$(saved guessed)" = "imap imap.guess.localhost 993 tls bob@guess.localhost"
check "guessing: found by guessing after autoconfig answered 404" \
  eval '[ "$(j guessed "d[\"discovery\"][\"found\"][\"source\"]")" = guess ] && grep -q "^autoconfig.guess.localhost .* 404" "$work/http.log"'
check "guessing: the saved account works (account test)" "$R" account test guessed

# --- 3. .well-known, POP3 only, STLS on 110 ------------------------------------------------------
add popper alice@popper.localhost --password-env RAPPORT_SETUP_PW
check "well-known: POP3 pop.popper.localhost:110 STLS with the local part" \
  test "$(saved popper)" = "pop3 pop.popper.localhost 110 starttls alice"
check "well-known: found at popper.localhost/.well-known/autoconfig/…" \
  test "$(j popper 'd["discovery"]["found"]["source"]')" = "http://popper.localhost/.well-known/autoconfig/mail/config-v1.1.xml"
check "well-known: the saved POP3 account works (account test)" bash -c "'$R' account test popper | grep -q UIDL"

# --- 4. --pop3 takes the autoconfig's POP3 server -------------------------------------------------
add auto-pop alice@rapport.localhost --pop3 --password-env RAPPORT_SETUP_PW
check "--pop3: pop.rapport.localhost:995 from the same autoconfig" \
  test "$(saved auto-pop)" = "pop3 pop.rapport.localhost 995 tls alice"

# --- 5. an http autoconfig naming a server outside the domain is ignored ------------------------------
add evil alice@evil.localhost --password-env RAPPORT_SETUP_PW
check "http trust: the server outside evil.localhost is ignored (the guess is saved)" \
  test "$(saved evil)" = "imap imap.evil.localhost 993 tls alice"
check "http trust: the attempt says why" \
  grep -q "ignored imap.attacker.localhost: fetched over plain http" "$work/evil.json"

# --- 6. no password source: found, not verified, not saved -------------------------------------------
add nosecret alice@rapport.localhost; rc=$?
check "no password: exits non-zero" test $rc -ne 0
check "no password: names the server found and says nothing was saved" \
  grep -q "Found IMAP imap.rapport.localhost:993 (tls).*Nothing was saved" "$work/nosecret.err"
check "no password: reported as not verified" test "$(j nosecret 'd["found"]["verified"]')" = False
check "no password: not in the accounts file" test "$(saved nosecret)" = -

# --- 7. wrong password: every user name refused, nothing saved --------------------------------------------
RAPPORT_SETUP_PW=wrong-secret add wrongpw alice@rapport.localhost --password-env RAPPORT_SETUP_PW; rc=$?
check "wrong password: exits non-zero" test $rc -ne 0
check "wrong password: says every user name tried was refused" \
  grep -q "refused the password with every user name tried (address, local part)" "$work/wrongpw.json"
check "wrong password: leaks no secret" bash -c "! grep -q wrong-secret '$work/wrongpw.err' '$work/wrongpw.json'"
check "wrong password: not in the accounts file" test "$(saved wrongpw)" = -

# --- 8. nothing to be found ------------------------------------------------------------------------
start=$SECONDS
add none alice@nobody.localhost --password-env RAPPORT_SETUP_PW; rc=$?
check "no server: exits non-zero" test $rc -ne 0
check "no server: says no mail server was found and to pass --host" \
  grep -q "no mail server found for nobody.localhost: .*pass --host" "$work/none.json"
check "no server: within the probe time ($((SECONDS - start)) s)" test $((SECONDS - start)) -le 20

# --- 9. --host still means no discovery -------------------------------------------------------------
: > "$work/http.log"
"$R" account add direct --email alice@rapport.localhost --host 127.0.0.1 --port "$DV_IMAPS_PORT" \
  --user alice --password-env RAPPORT_SETUP_PW --ca-file "$CA" > /dev/null 2>&1
check "--host: added without asking any autoconfig server" \
  eval '[ "$(saved direct)" = "imap 127.0.0.1 $DV_IMAPS_PORT tls alice" ] && [ ! -s "$work/http.log" ]'

summary
