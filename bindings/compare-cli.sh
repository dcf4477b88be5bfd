#!/usr/bin/env bash
# Imports the linux-man corpus through the Node package and through the Python module (public API
# only: bindings/node/examples/corpus-report.js, bindings/uniffi/examples/corpus_report.py), then
# checks that each one's "ten most frequent correspondents" and "awaiting reply" lists agree with
# `rapport --json` on the same database, and with each other.
#
# What is compared: linux-man is a mailing-list archive, and list mail only makes contacts in
# threads the user took part in. So the user is the list's maintainer (his three addresses are
# the identities) and the policy is sent-and-received: the contacts are the people in threads he
# answered, "most frequent" is `contacts --sort messages --limit 10`, and "awaiting reply" is
# `awaiting --limit 50` (threads waiting on him, and on them). "Now" is pinned so ages agree.
#
# Needs: the built Node addon (npm run build:debug), the generated Python module
# (bindings/uniffi/generate.sh), and the CLI (rapport_bin in tests/lib.sh). Without ../shared it
# reports itself skipped. Prints "N passed, M failed, K skipped"; exits non-zero on a mismatch.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source tests/lib.sh
rapport=$(rapport_bin) || { bad "no rapport binary"; summary; }
corpus=$(corpus lore-linux-man) || { skip "linux-man: node and python vs rapport --json" "$corpus"; summary; }
py=${RAPPORT_PY_DIR:-$root/target/bindings/python}
now=2026-03-08T00:00:00Z
me=(--me alx@kernel.org --me alx.manpages@gmail.com --me colomar.6.4.3@gmail.com)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail=0
node bindings/node/examples/corpus-report.js "$corpus" "$work/node.db" "${me[@]}" --now "$now" \
  --json "$work/node.json" >"$work/node.out" || { echo "FAILED: node corpus-report"; fail=1; }
PYTHONPATH=$py python3 bindings/uniffi/examples/corpus_report.py "$corpus" "$work/py.db" "${me[@]}" \
  --now "$now" --json "$work/py.json" >"$work/py.out" || { echo "FAILED: python corpus_report"; fail=1; }
for side in node py; do
  "$rapport" --db "$work/$side.db" --now "$now" --json contacts --sort messages --limit 10 >"$work/$side.cli-top.json"
  "$rapport" --db "$work/$side.db" --now "$now" --json awaiting --limit 50 >"$work/$side.cli-awaiting.json"
done
sed -n '1,16p' "$work/node.out"
[ $fail = 0 ] || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

python3 - "$work" <<'PY'
import json, re, sys
work = sys.argv[1]
def load(name):
    with open(f"{work}/{name}") as f:
        return json.load(f)
def snake(k):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower()
def norm(v):
    """Node's camelCase keys to snake_case; absent, null and None are the same."""
    if isinstance(v, dict):
        return {snake(k): norm(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v
passed = failed = 0
def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1; print(f"ok: {name}")
    else:
        failed += 1; print(f"FAILED: {name} {detail}")
node, py = norm(load("node.json")), norm(load("py.json"))
for side, got in (("node", node), ("python", py)):
    f = "node" if side == "node" else "py"
    cli_top, cli_awaiting = norm(load(f"{f}.cli-top.json")), norm(load(f"{f}.cli-awaiting.json"))
    check(f"{side}: ten most frequent correspondents match rapport --json", got["top"] == cli_top,
          f"\n  {side}: {[c['email'] for c in got['top']]}\n  cli: {[c['email'] for c in cli_top]}")
    check(f"{side}: awaiting-reply list matches rapport --json", got["awaiting"] == cli_awaiting,
          f"\n  {side}: {len(got['awaiting'])} items, cli: {len(cli_awaiting)}")
check("node and python imported the same messages",
      (node["summary"]["messages_read"], node["summary"]["stored"]) == (py["summary"]["messages_read"], py["summary"]["stored"]))
check("node and python agree on the top ten (without ids)",
      [{k: v for k, v in c.items() if k != "id"} for c in node["top"]] == [{k: v for k, v in c.items() if k != "id"} for c in py["top"]])
check("node and python agree on awaiting (without thread ids)",
      [(a["subject"], a["contact_email"], a["waiting_on"], a["since"]) for a in node["awaiting"]]
      == [(a["subject"], a["contact_email"], a["waiting_on"], a["since"]) for a in py["awaiting"]])
check("the lists are not empty", len(node["top"]) == 10 and len(node["awaiting"]) > 0,
      f"(top {len(node['top'])}, awaiting {len(node['awaiting'])})")
print(f"{passed} passed, {failed} failed, 0 skipped")
sys.exit(1 if failed else 0)
PY
