#!/usr/bin/env bash
# syncAccount / sync_account end to end: a private Dovecot (../shared/recipes/dovecot) on loopback
# with 60 linux-man messages; the Node package and the Python module each sync it over TLS with a
# private CA (progress reported, everything stored), resync it (nothing new), and fail with `Auth`
# for a wrong password. Prints "N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${RAPPORT_PY_DIR:-$root/target/bindings/python}
[ -x /usr/sbin/dovecot ] || { echo "dovecot is not installed (scripts/setup.sh installs it)"; echo "0 passed, 1 failed"; exit 1; }
corpus=$(./scripts/corpora.sh lore-linux-man)/lore-linux-man/cur || exit 1
work=$(mktemp -d /tmp/rapport-bindings-sync.XXXXXX)
chmod 755 "$work"   # Dovecot runs as an unprivileged user
export DV_DIR=$work/dovecot
# Four free loopback ports (other tests may run their own Dovecot at the same time).
read -r DV_IMAP_PORT DV_IMAPS_PORT DV_POP3_PORT DV_POP3S_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
')
export DV_IMAP_PORT DV_IMAPS_PORT DV_POP3_PORT DV_POP3S_PORT
dovecot=$root/../shared/recipes/dovecot/dovecot-ci.sh
trap '"$dovecot" stop >/dev/null 2>&1; rm -rf "$work"' EXIT
mkdir -p "$work/inbox"
ls "$corpus" | sort | head -n 60 | while read -r f; do cp "$corpus/$f" "$work/inbox/"; done
"$dovecot" start "$work/inbox" >"$work/dovecot.log" 2>&1 || { cat "$work/dovecot.log"; echo "0 passed, 1 failed"; exit 1; }
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

pass=0; fail=0
check() { # name, json, python expression over d
  if python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if ($3) else 1)" "$2" 2>/dev/null; then
    pass=$((pass+1)); echo "ok: $1"
  else
    fail=$((fail+1)); echo "FAILED: $1 ($2)"
  fi
}
n=$(ls "$work/inbox" | wc -l)
for side in node python; do
  if [ $side = node ]; then out=$(node "$work/sync.js" 2>&1); else out=$(PYTHONPATH=$py python3 "$work/sync.py" 2>&1); fi
  check "$side: a first sync stores every message" "$out" "d['stored'] == $n and d['messages'] == $n"
  check "$side: progress is reported" "$out" "d['calls'] > 0"
  check "$side: a second sync fetches nothing" "$out" "d['again'] == 0"
  check "$side: a wrong password fails with Auth" "$out" "d['code'] == 'Auth'"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
