// The dashboard on a real mailing-list archive (the shared linux-man corpus, 17,885 messages):
// the pages show what `rapport --json` answers, at that size. Skipped, with the reason, when the
// corpus is not there (a plain clone without ../shared).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { ROOT, startUi, cli, run, tempDir } = require("./helpers");
const b = require("./browser");

/** The extracted corpus's message directory, or why there is none. */
function corpus() {
  try {
    const dir = execFileSync(path.join(ROOT, "scripts", "corpora.sh"), ["lore-linux-man"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
    return { dir: path.join(dir, "lore-linux-man", "cur") };
  } catch (e) {
    return { why: ((e.stdout || "") + (e.stderr || "")).trim() || "the shared corpus lore-linux-man is not available" };
  }
}

const found = corpus();
const skip = found.why ? `linux-man: ${found.why}` : false;
let db;
let ui;
let browser;
let page;

test.before(async () => {
  if (skip) return;
  db = path.join(tempDir(), "linux-man.db");
  // As the bindings' comparison does: the maintainer is "me", and people he answered are contacts.
  run(db, ["identity", "add", "mtk.manpages@gmail.com"]);
  run(db, ["policy", "sent-and-received"]);
  run(db, ["--quiet", "import", found.dir]);
  ui = await startUi(db);
  browser = await b.launch();
  page = await (await b.context(browser, ui)).newPage();
});
test.after(async () => {
  if (browser) await browser.close();
  if (ui) ui.stop();
});

test("contacts: count and first page as `rapport contacts`, at 17,885 messages", { skip }, async () => {
  const count = cli(db, ["contacts", "--count"]).count;
  assert.ok(count > 100, `${count} contacts`);
  await b.open(page, ui, "#/contacts?sort=messages", "contacts-ready", []);
  await page.waitForFunction((n) => document.querySelector('[data-testid="contacts-count"]').textContent === `${n} contacts`, count);
  await page.waitForSelector('[data-testid="contacts-table"] [data-testid="row"]');
  const shown = await page.$$eval('[data-testid="contacts-table"] [data-testid="row"]', (rows) => rows.map((r) => r.dataset.email));
  assert.deepEqual(shown, cli(db, ["contacts", "--sort", "messages", "--limit", String(shown.length)]).map((c) => c.email));
  // Scrolling far down fetches later pages (200 rows each): the rows there are the CLI's rows there.
  const index = Math.floor(count * 0.8);
  await page.evaluate((i) => { const v = document.querySelector(".viewport"); v.scrollTop = 40 * i; v.dispatchEvent(new Event("scroll")); }, index);
  await page.waitForSelector(`[data-testid="contacts-table"] [aria-rowindex="${index + 2}"]`);
  const deep = await page.getAttribute(`[data-testid="contacts-table"] [aria-rowindex="${index + 2}"]`, "data-email");
  assert.equal(deep, cli(db, ["contacts", "--sort", "messages", "--limit", "1", "--offset", String(index)])[0].email);
});

test("the busiest contact's page and Today agree with the CLI", { skip }, async () => {
  const top = cli(db, ["contacts", "--sort", "messages", "--limit", "1"])[0];
  const c = cli(db, ["contact", top.email, "--timeline", "20"]);
  await b.open(page, ui, `#/contact/${encodeURIComponent(top.email)}`, "contact-inbound-count", []);
  assert.equal(await b.text(page, "contact-inbound-count"), String(c.inbound_count));
  assert.equal(await b.text(page, "contact-outbound-count"), String(c.outbound_count));
  assert.equal(await b.text(page, "contact-thread-count"), String(c.thread_count));
  const months = await page.$$eval('[data-testid="contact-monthly"] tbody tr', (rows) => rows.length);
  assert.equal(months, c.monthly.length);
  assert.ok(c.monthly.length > 12, "years of history");

  await b.open(page, ui, "#/today", "today-ready", []);
  assert.equal(await b.text(page, "today-fig-me"), String(cli(db, ["awaiting", "--on", "me"]).length));
  assert.equal(await b.text(page, "today-fig-them"), String(cli(db, ["awaiting", "--on", "them"]).length));
  await b.open(page, ui, "#/threads", "threads-ready", []);
  assert.equal(await page.locator('[data-testid="threads-table"] [data-testid="row"]').count(), cli(db, ["threads", "--limit", "200"]).length);
  await b.open(page, ui, "#/sources", "sources-ready", []);
  assert.equal(await b.text(page, "sources-messages"), String(cli(db, ["stats"]).messages));
  assert.deepEqual(await b.texts(page, "sightings"), cli(db, ["sources"]).map((s) => String(s.sightings)));

  // The longest thread of the archive as a reply tree, depth by depth.
  const longest = cli(db, ["threads", "--limit", "200"]).sort((a, c) => c.message_count - a.message_count)[0];
  const t = cli(db, ["thread", String(longest.id)]);
  await b.open(page, ui, `#/thread/${longest.id}`, "thread-ready", []);
  assert.deepEqual(await page.$$eval('[data-testid="thread-message"]', (m) => m.map((x) => Number(x.dataset.depth))), t.messages.map((m) => m.depth));

  // Groups and triage: everyone starts in no group.
  await b.open(page, ui, "#/groups", "groups-ready", []);
  assert.equal(await b.text(page, "groups-ungrouped"), String(cli(db, ["contacts", "--ungrouped", "--count"]).count));
  await b.open(page, ui, "#/triage", "triage-ready", []);
  assert.equal(await b.text(page, "triage-email"), cli(db, ["contacts", "--ungrouped", "--limit", "1"])[0].email);
});

test("a running import's progress shows on Sources while it runs", { skip }, async () => {
  const fresh = path.join(tempDir(), "fresh.db");
  run(fresh, ["identity", "add", "mtk.manpages@gmail.com"]);
  const ui2 = await startUi(fresh);
  const p = await (await b.context(browser, ui2)).newPage();
  try {
    await b.open(p, ui2, "#/sources", "sources-ready", []);
    // Small batches: more commits, each recording the progress.
    const { spawn } = require("node:child_process");
    const importing = spawn(require("./helpers").BIN, ["--db", fresh, "--quiet", "import", "--batch", "50", found.dir], { stdio: "ignore" });
    const done = new Promise((resolve) => importing.once("exit", resolve));
    let seen = null;
    while (!seen) {
      const runs = await ui2.api("imports");
      if (runs[0] && runs[0].state === "running" && runs[0].bytes_total > 0 && runs[0].bytes_done < runs[0].bytes_total) seen = runs[0];
      else if (runs[0] && runs[0].state === "finished") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(seen, "the API showed the import running, part done");
    await p.waitForSelector('[data-testid="import-row"][data-state="running"] [data-testid="import-progress"]', { timeout: 20000 });
    assert.equal(await done, 0);
    await p.waitForSelector('[data-testid="import-row"][data-state="finished"]', { timeout: 10000 });
    const last = (await ui2.api("imports"))[0];
    assert.equal(last.stored, cli(fresh, ["stats"]).messages);
    assert.equal(last.bytes_done, last.bytes_total);
  } finally {
    ui2.stop();
  }
});
