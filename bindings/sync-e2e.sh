#!/usr/bin/env bash
# syncAccount / sync_account end to end: a private Dovecot (tests/harness/dovecot.sh) on loopback
# with the shipped threads (52 distinct messages); the Node package and the Python module each
# sync it over TLS with a private CA (progress reported, everything stored), resync it (nothing
# new), and fail with `Auth` for a wrong password. Then the same call with `kind: 'ews'` syncs the
# same messages from the Exchange double (tests/e2e/exchange/server.py, NTLM with channel binding
# over the same TLS certificate), and with `kind: 'graph'` from its Graph face, signed in
# beforehand by `rapport account add` (device code approved from here). Prints "N passed, M
# failed, K skipped".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${RAPPORT_PY_DIR:-$root/target/bindings/python}
source tests/lib.sh
[ -x /usr/sbin/dovecot ] || { bad "dovecot is not installed (scripts/setup.sh installs it)"; summary; }
corpus=$(small_corpus)/maildir/cur
work=$(mktemp -d /tmp/rapport-bindings-sync.XXXXXX)
chmod 755 "$work"   # Dovecot runs as an unprivileged user
export DV_DIR=$work/dovecot
# Graph tokens in the file the bindings are given, never in the keyring of whoever runs the tests.
export RAPPORT_KEYRING=off
dovecot=$root/tests/harness/dovecot.sh   # picks free loopback ports, written to $DV_DIR/env
trap '"$dovecot" stop >/dev/null 2>&1; [ -n "${ews_pid:-}" ] && kill "$ews_pid" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/inbox"
# The shipped threads, none sharing a Message-ID with another (the checks count stored = files).
python3 - "$corpus" "$work/inbox" <<'PY'
import os, re, shutil, sys
src, out = sys.argv[1:]
seen = set()
for name in sorted(os.listdir(src)):
    head = open(os.path.join(src, name), "rb").read().split(b"\n\n", 1)[0]
    m = re.search(rb"^message-id:\s*(\S+)", head, re.I | re.M)
    if m and m.group(1).lower() not in seen:
        seen.add(m.group(1).lower())
        shutil.copy(os.path.join(src, name), out)
PY
n=$(ls "$work/inbox" | wc -l)
[ "$n" -gt 0 ] || { bad "the test mailbox is empty"; summary; }
# The Exchange double's mailbox: the same files (Dovecot's loader moves them away).
mkdir -p "$work/ews/Inbox"
cp "$work/inbox"/* "$work/ews/Inbox/"
"$dovecot" start "$work/inbox" >"$work/dovecot.log" 2>&1 || { cat "$work/dovecot.log"; bad "start dovecot"; summary; }
. "$DV_DIR/env"
export RAPPORT_TEST_IMAP_PW=alice-pw RAPPORT_TEST_IMAP_BAD=wrong-pw
ca=$DV_DIR/tls/ca.pem

cat >"$work/sync.js" <<JS
const { Rapport } = require('$root/bindings/node')
;(async () => {
  const account = { name: 'local', host: '127.0.0.1', port: $DV_IMAPS_PORT, security: 'tls', user: 'alice',
                    passwordEnv: 'RAPPORT_TEST_IMAP_PW', caFile: '$ca' }
  const db = Rapport.openInMemory()
  let calls = 0
  const first = await db.syncAccount(account, null, () => calls++)
  await new Promise((r) => setImmediate(r))
  const second = await db.syncAccount(account)
  let code = null
  try { await db.syncAccount({ ...account, passwordEnv: 'RAPPORT_TEST_IMAP_BAD' }) } catch (e) { code = e.code }
  const messages = (await db.stats()).messages
  await db.close()
  console.log(JSON.stringify({ stored: first.stored, calls, again: second.fetched, code, messages }))
})()
JS
cat >"$work/sync.py" <<PY
import asyncio, json
from rapport_ffi import Rapport, RapportError, SyncAccount, SyncProgressListener
class Count(SyncProgressListener):
    calls = 0
    def on_progress(self, progress):
        Count.calls += 1
async def main():
    account = dict(name="local", host="127.0.0.1", port=$DV_IMAPS_PORT, security="tls", user="alice", ca_file="$ca")
    db = Rapport.open_in_memory()
    first = await db.sync_account(SyncAccount(**account, password_env="RAPPORT_TEST_IMAP_PW"), None, Count())
    second = await db.sync_account(SyncAccount(**account, password_env="RAPPORT_TEST_IMAP_PW"))
    code = None
    try:
        await db.sync_account(SyncAccount(**account, password_env="RAPPORT_TEST_IMAP_BAD"))
    except RapportError as e:
        code = type(e).__name__
    messages = (await db.stats()).messages
    await db.close()
    print(json.dumps({"stored": first.stored, "calls": Count.calls, "again": second.fetched, "code": code, "messages": messages}))
asyncio.run(main())
PY

# The Exchange double, on the Dovecot harness's certificate (localhost, 127.0.0.1).
python3 -c 'import spnego, lxml' 2>/dev/null || python3 -m pip install --quiet pyspnego lxml 2>/dev/null ||
  python3 -m pip install --quiet --break-system-packages pyspnego lxml > /dev/null 2>&1
python3 tests/e2e/exchange/server.py --cert "$DV_DIR/tls/cert.pem" --key "$DV_DIR/tls/key.pem" \
  --mailbox "$work/ews" --owner dana@corp.localhost --password ews-pw --auth ntlm \
  --ready-file "$work/ews-port" > "$work/ews.log" 2>&1 &
ews_pid=$!
for _ in $(seq 100); do [ -s "$work/ews-port" ] && break; sleep 0.05; done
export RAPPORT_TEST_EWS_PW=ews-pw
ews_port=$(cat "$work/ews-port" 2>/dev/null)
ews_url=https://localhost:$ews_port/EWS/Exchange.asmx
# Graph: sign in once with the CLI (the double's device code approved from this script).
tokens=$work/tokens/graph.json
R=$(rapport_bin) && RAPPORT_CONFIG=$work/accounts.toml "$R" account add graph --provider office365 \
  --client-id rapport-test-client --email dana@corp.localhost --ca-file "$ca" \
  --authority "https://localhost:$ews_port/common" --graph-url "https://localhost:$ews_port/v1.0" \
  > /dev/null 2> "$work/graph-add.err" &
graph_add=$!
for _ in $(seq 100); do
  code=$(grep -o "enter the code [A-Z0-9]*" "$work/graph-add.err" 2>/dev/null | awk '{print $4}')
  [ -n "$code" ] && break
  sleep 0.1
done
curl -s --cacert "$ca" -X POST "https://localhost:$ews_port/_control/approve?user_code=$code" > /dev/null
wait "$graph_add"
cat >"$work/ews.js" <<JS
const { Rapport } = require('$root/bindings/node')
;(async () => {
  const account = { kind: 'ews', name: 'work', host: 'localhost', ewsUrl: '$ews_url', user: 'CORP\\\\dana',
                    email: 'dana@corp.localhost', passwordEnv: 'RAPPORT_TEST_EWS_PW', caFile: '$ca' }
  const db = Rapport.openInMemory()
  const first = await db.syncAccount(account)
  const second = await db.syncAccount(account)
  const messages = (await db.stats()).messages
  await db.close()
  const graph = { kind: 'graph', name: 'graph', host: '', user: '', email: 'dana@corp.localhost',
                  clientId: 'rapport-test-client', authority: 'https://localhost:$ews_port/common',
                  graphUrl: 'https://localhost:$ews_port/v1.0', tokenFile: '$tokens', caFile: '$ca' }
  const gdb = Rapport.openInMemory()
  const graphed = await gdb.syncAccount(graph)
  const graphMessages = (await gdb.stats()).messages
  await gdb.close()
  console.log(JSON.stringify({ stored: first.stored, again: second.fetched, messages, graph: graphed.stored, graphMessages }))
})()
JS
cat >"$work/ews.py" <<PY
import asyncio, json
from rapport_ffi import Rapport, SyncAccount
async def main():
    account = SyncAccount(kind="ews", name="work", host="localhost", ews_url="$ews_url", user="CORP\\\\dana",
                          email="dana@corp.localhost", password_env="RAPPORT_TEST_EWS_PW", ca_file="$ca")
    db = Rapport.open_in_memory()
    first = await db.sync_account(account)
    second = await db.sync_account(account)
    messages = (await db.stats()).messages
    await db.close()
    graph = SyncAccount(kind="graph", name="graph", host="", user="", email="dana@corp.localhost",
                        client_id="rapport-test-client", authority="https://localhost:$ews_port/common",
                        graph_url="https://localhost:$ews_port/v1.0", token_file="$tokens", ca_file="$ca")
    gdb = Rapport.open_in_memory()
    graphed = await gdb.sync_account(graph)
    graph_messages = (await gdb.stats()).messages
    await gdb.close()
    print(json.dumps({"stored": first.stored, "again": second.fetched, "messages": messages,
                      "graph": graphed.stored, "graphMessages": graph_messages}))
asyncio.run(main())
PY

check() { # name, json, python expression over d
  if python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if ($3) else 1)" "$2" 2>/dev/null; then
    ok "$1"
  else
    bad "$1 ($2)"
  fi
}
for side in node python; do
  if [ $side = node ]; then out=$(node "$work/sync.js" 2>&1); else out=$(PYTHONPATH=$py python3 "$work/sync.py" 2>&1); fi
  check "$side: a first sync stores every message" "$out" "d['stored'] == $n and d['messages'] == $n"
  check "$side: progress is reported" "$out" "d['calls'] > 0"
  check "$side: a second sync fetches nothing" "$out" "d['again'] == 0"
  check "$side: a wrong password fails with Auth" "$out" "d['code'] == 'Auth'"
  if [ $side = node ]; then out=$(node "$work/ews.js" 2>&1); else out=$(PYTHONPATH=$py python3 "$work/ews.py" 2>&1); fi
  check "$side: the same call with kind 'ews' syncs Exchange (NTLM, channel binding)" "$out" "d['stored'] == $n and d['messages'] == $n"
  check "$side: …and a second EWS sync fetches nothing" "$out" "d['again'] == 0"
  check "$side: the same call with kind 'graph' syncs Microsoft Graph (signed in by the CLI)" "$out" "d['graph'] == $n and d['graphMessages'] == $n"
done
summary
