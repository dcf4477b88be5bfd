#!/usr/bin/env bash
# The dashboard on a 100,000-message database (synthetic, as bench/queries.sh: one user, 2,000
# correspondents, threads both ways, lists and newsletters; groups and cadences set on the busiest
# contacts): the time to first render of Today and of the contacts table in headless Chromium
# (navigation start → the page's data on screen, as the page marks it; median and worst of 5), and the median and 95th
# percentile of every API call the pages make (50 calls each over one keep-alive connection,
# after one warm-up). Then the contacts table on a second database of 40,000 contacts
# (UI_BENCH_CONTACTS): first render, paging calls, and a jump to row 30,000. Budgets (design): first render < 500 ms, API p95 < 50 ms. A report, not a
# test: nothing fails on a slow figure.
#
#   bash bench/ui.sh [MESSAGES]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
n=${1:-100000}
cargo build --locked --release -p rapport-cli -p rapport-bench >/dev/null 2>&1 || cargo build --locked --release -p rapport-cli -p rapport-bench
source tests/lib.sh
R=$(target_dir)/release/rapport
B=$(target_dir)/release/rapport-bench
[ -d ui/node_modules/playwright-core ] || (cd ui && npm ci --no-audit --no-fund --loglevel=error)
work=$(mktemp -d /tmp/rapport-ui-bench.XXXXXX)
trap 'kill "${ui_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
db=$work/ui.db
export RAPPORT_CONFIG=$work/accounts.toml

"$B" synth "$work/mail" "$n" > /dev/null
"$R" --db "$db" --quiet import "$work/mail" --me me@northwind.example > /dev/null
# Groups and cadences, as a user would have them: the 300 busiest contacts in three groups.
mapfile -t busiest < <("$R" --db "$db" contacts --sort messages --limit 300 --json | python3 -c 'import json,sys; [print(c["email"]) for c in json.load(sys.stdin)]')
"$R" --db "$db" --quiet group add clients "${busiest[@]:0:100}" > /dev/null
"$R" --db "$db" --quiet group add partners "${busiest[@]:100:100}" > /dev/null
"$R" --db "$db" --quiet group add friends "${busiest[@]:200:100}" > /dev/null
"$R" --db "$db" --quiet group cadence clients 30 > /dev/null
"$R" --db "$db" --quiet group cadence partners 60 > /dev/null
"$R" --db "$db" --quiet group cadence friends 90 > /dev/null

"$R" --db "$db" ui --no-open --port 0 --json > "$work/ui.json" 2> "$work/ui.err" &
ui_pid=$!
for _ in $(seq 100); do [ -s "$work/ui.json" ] && break; sleep 0.05; done
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$work/ui.json")
stats=$("$R" --db "$db" stats --json)
contacts=$(echo "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["contacts"])')
messages=$(echo "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"])')
top=${busiest[0]}
thread=$("$R" --db "$db" threads --limit 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')

echo "bash bench/ui.sh $n — $(date -u +%Y-%m-%d), $(nproc) cores"
echo "database: $messages messages, $contacts contacts; busiest contact $top"
echo

# The first use of the link logs in; the session cookie then serves the API calls and the browser.
top_q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$top")
python3 bench/ui_api.py "$url" "$work/cookie" \
  "today=/api/today" \
  "contacts (first page of 200)=/api/contacts?limit=200" \
  "contacts/count=/api/contacts/count" \
  "contacts by name, offset 1,000=/api/contacts?limit=200&offset=1000&sort=name" \
  "contacts search 'an'=/api/contacts?limit=200&search=an" \
  "contacts in no group=/api/contacts?limit=200&ungrouped=1" \
  "contact (busiest, 20 recent)=/api/contact?address=$top_q&timeline=20" \
  "thread=/api/thread?id=$thread" \
  "threads (200)=/api/threads?limit=200" \
  "groups=/api/groups" \
  "awaiting on me=/api/awaiting?on=me" \
  "neglected=/api/neglected" \
  "search=/api/search?q=project" \
  "sources=/api/sources" \
  "status=/api/status" \
  "imports=/api/imports" \
  "stats=/api/stats" \
  "changes=/api/changes"
echo

cookie=$(cat "$work/cookie")
node - "$url" "$cookie" <<'JS'
const { chromium } = require(process.cwd() + "/ui/node_modules/playwright-core");
(async () => {
  const [url, cookie] = process.argv.slice(2);
  const origin = new URL(url).origin;
  const [name, value] = cookie.split("=");
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.addCookies([{ name, value, domain: "127.0.0.1", path: "/", httpOnly: true, sameSite: "Strict" }]);
  const page = await ctx.newPage();
  console.log(`${"first render".padEnd(34)} ${"median".padStart(9)} ${"worst".padStart(9)}  budget < 500 ms`);
  // Each page marks (performance.mark) when its data first reaches the screen: Today when its
  // lists are in, the contacts table when its first rows are.
  for (const [label, hash, ready, mark] of [["Today", "#/today", '[data-testid="today-ready"]', "rapport:today"], ["contacts table", "#/contacts", '[data-testid="contacts-table"] [data-testid="row"]', "rapport:contacts-rows"]]) {
    const times = [];
    for (let i = 0; i < 6; i++) {
      await page.goto("about:blank");
      await page.goto(`${origin}/${hash}`);
      await page.waitForSelector(ready, { state: "attached" });
      const ms = await page.evaluate((m) => performance.getEntriesByName(m)[0].startTime, mark);
      if (i) times.push(ms);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    console.log(`${label.padEnd(34)} ${median.toFixed(0).padStart(6)} ms ${times[times.length - 1].toFixed(0).padStart(6)} ms  ${median < 500 ? "ok" : "OVER"}`);
  }
  await browser.close();
})();
JS

# ---- tens of thousands of contacts: the contacts table's case ----
echo
contacts_n=${UI_BENCH_CONTACTS:-40000}
python3 - "$work/many" "$contacts_n" <<'PY'
import os, sys
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{out}/cur", exist_ok=True)
os.makedirs(f"{out}/new", exist_ok=True)
os.makedirs(f"{out}/tmp", exist_ok=True)
for i in range(n):
    day = 1 + i % 28
    with open(f"{out}/cur/{i}.eml", "w") as f:
        f.write(f"From: Me <me@northwind.example>\r\nTo: Person {i} <person{i}@company{i % 997}.example>\r\n"
                f"Subject: Hello {i}\r\nDate: Mon, {day:02} Sep 2025 10:{i % 60:02}:00 +0000\r\n"
                f"Message-ID: <many-{i}@northwind.example>\r\n\r\nHi.\r\n")
PY
many=$work/many.db
"$R" --db "$many" --quiet import "$work/many" --me me@northwind.example > /dev/null
kill "$ui_pid" 2>/dev/null || true
"$R" --db "$many" ui --no-open --port 0 --json > "$work/ui2.json" 2> "$work/ui2.err" &
ui_pid=$!
for _ in $(seq 100); do [ -s "$work/ui2.json" ] && break; sleep 0.05; done
url2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$work/ui2.json")
echo "database: $("$R" --db "$many" contacts --count --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])') contacts (one message each)"
python3 bench/ui_api.py "$url2" "$work/cookie2" \
  "contacts (first page of 200)=/api/contacts?limit=200" \
  "contacts by name, offset 30,000=/api/contacts?limit=200&offset=30000&sort=name" \
  "contacts/count=/api/contacts/count" \
  "contacts search 'person123'=/api/contacts?limit=200&search=person123" \
  "contacts/count of that search=/api/contacts/count?search=person123"
echo
node - "$url2" "$(cat "$work/cookie2")" <<'JS'
const { chromium } = require(process.cwd() + "/ui/node_modules/playwright-core");
(async () => {
  const [url, cookie] = process.argv.slice(2);
  const origin = new URL(url).origin;
  const [name, value] = cookie.split("=");
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.addCookies([{ name, value, domain: "127.0.0.1", path: "/", httpOnly: true, sameSite: "Strict" }]);
  const page = await ctx.newPage();
  const times = [];
  for (let i = 0; i < 6; i++) {
    await page.goto("about:blank");
    await page.goto(`${origin}/#/contacts?sort=name`);
    await page.waitForSelector('[data-testid="contacts-table"] [data-testid="row"]', { state: "attached" });
    const ms = await page.evaluate(() => performance.getEntriesByName("rapport:contacts-rows")[0].startTime);
    if (i) times.push(ms);
  }
  times.sort((a, b) => a - b);
  // Jumping deep into the table: scroll to row 30,000 and wait for it to be drawn.
  const jumps = [];
  for (let i = 0; i < 5; i++) {
    const row = 30000 + i * 1000;
    const ms = await page.evaluate(async (r) => {
      const v = document.querySelector(".viewport");
      const start = performance.now();
      v.scrollTop = r * 40;
      v.dispatchEvent(new Event("scroll"));
      while (!document.querySelector(`[aria-rowindex="${r + 2}"]`)) await new Promise((f) => requestAnimationFrame(f));
      return performance.now() - start;
    }, row);
    jumps.push(ms);
  }
  jumps.sort((a, b) => a - b);
  console.log(`${"first render".padEnd(34)} ${"median".padStart(9)} ${"worst".padStart(9)}  budget < 500 ms`);
  console.log(`${"contacts table".padEnd(34)} ${times[Math.floor(times.length / 2)].toFixed(0).padStart(6)} ms ${times[times.length - 1].toFixed(0).padStart(6)} ms  ${times[Math.floor(times.length / 2)] < 500 ? "ok" : "OVER"}`);
  console.log(`${"scroll to row 30,000+ drawn".padEnd(34)} ${jumps[Math.floor(jumps.length / 2)].toFixed(0).padStart(6)} ms ${jumps[jumps.length - 1].toFixed(0).padStart(6)} ms`);
  await browser.close();
})();
JS
