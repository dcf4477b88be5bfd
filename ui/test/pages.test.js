// The real dashboard in headless Chromium on the demo database: each page shows what
// `rapport … --json` answers for the same query; the actions change what the CLI sees; the page
// follows an import run beside it; every page passes axe-core and reflows at 200 % zoom, in
// light and dark (screenshots in tests/artifacts/ui-*.png).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { demoDatabase, startUi, cli, run, tempDir } = require("./helpers");
const b = require("./browser");

let db;
let ui;
let browser;
let ctx;
let page;
const errors = [];

test.before(async () => {
  db = demoDatabase();
  ui = await startUi(db);
  browser = await b.launch();
  ctx = await b.context(browser, ui);
  page = await ctx.newPage();
});
test.after(async () => {
  if (browser) await browser.close();
  if (ui) ui.stop();
});

const emails = (list) => list.map((x) => x.email);

test("Today shows the four lists the CLI gives", async () => {
  await b.open(page, ui, "#/today", "today-ready", errors);
  const me = cli(db, ["awaiting", "--on", "me"]);
  const them = cli(db, ["awaiting", "--on", "them"]);
  const neglected = cli(db, ["neglected"]);
  const fresh = cli(db, ["contacts", "--new-since", "7d", "--sort", "new"]);
  assert.ok(me.length > 0 && them.length > 0 && neglected.length > 0, "the demo has something in each list");
  assert.equal(await b.text(page, "today-fig-me"), String(me.length));
  assert.equal(await b.text(page, "today-fig-them"), String(them.length));
  assert.equal(await b.text(page, "today-fig-neglected"), String(neglected.length));
  assert.equal(await b.text(page, "today-fig-new"), String(fresh.length));
  const ids = (testid) => page.$$eval(`[data-testid="${testid}"] [data-testid="row"]`, (rows) => rows.map((r) => Number(r.dataset.threadId)));
  assert.deepEqual(await ids("today-waiting-me"), me.map((t) => t.thread_id));
  assert.deepEqual(await ids("today-waiting-them"), them.map((t) => t.thread_id));
  assert.deepEqual(await b.texts(page, "age", '[data-testid="today-waiting-me"]'), me.map((t) => `${t.age_days} d`));
  const neglectedEmails = await page.$$eval('[data-testid="today-neglected"] [data-testid="row"]', (rows) => rows.map((r) => r.dataset.email));
  assert.deepEqual(neglectedEmails, emails(neglected));
  assert.deepEqual(await b.texts(page, "overdue"), neglected.map((n) => `${n.overdue_days} d over`));
});

test("Contacts: count, order, filters and search agree with `rapport contacts`", async () => {
  await b.open(page, ui, "#/contacts", "contacts-ready", errors);
  await page.waitForSelector('[data-testid="contacts-table"] [data-testid="row"]');
  const count = cli(db, ["contacts", "--count"]).count;
  assert.equal(await b.text(page, "contacts-count"), `${count} contacts`);
  const shown = await page.$$eval('[data-testid="contacts-table"] [data-testid="row"]', (rows) => rows.map((r) => r.dataset.email));
  assert.deepEqual(shown, emails(cli(db, ["contacts", "--limit", String(shown.length)])));
  const inbound = await b.texts(page, "inbound");
  assert.deepEqual(inbound, cli(db, ["contacts", "--limit", String(shown.length)]).map((c) => String(c.inbound_count)));

  await page.fill("#contact-search", "acme");
  await page.waitForFunction((n) => document.querySelector('[data-testid="contacts-count"]').textContent === `${n} contacts`, cli(db, ["contacts", "--count", "--search", "acme"]).count);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="contacts-table"] [data-testid="row"]').length > 0);
  const found = await page.$$eval('[data-testid="contacts-table"] [data-testid="row"]', (rows) => rows.map((r) => r.dataset.email));
  assert.deepEqual(found, emails(cli(db, ["contacts", "--search", "acme"])));
  await page.fill("#contact-search", "");
  await page.selectOption("#f-group", "clients");
  const clients = cli(db, ["contacts", "--group", "clients"]);
  await page.waitForFunction((n) => document.querySelector('[data-testid="contacts-count"]').textContent === `${n} contacts`, clients.length);
  await page.selectOption("#f-group", "");
  await page.selectOption("#f-flow", "sent-only");
  await page.waitForFunction((n) => document.querySelector('[data-testid="contacts-count"]').textContent === `${n} contacts`, cli(db, ["contacts", "--count", "--flow", "sent-only"]).count);
  await page.click('button[aria-label="Sort by Contact"]');
  await page.waitForFunction(() => location.hash.includes("sort=name"));
  await page.waitForFunction(
    (first) => document.querySelector('[data-testid="contacts-table"] [data-testid="row"]')?.dataset.email === first,
    cli(db, ["contacts", "--flow", "sent-only", "--sort", "name", "--limit", "1"])[0].email,
  );
});

test("A contact's page shows `rapport contact --json`'s figures and months", async () => {
  const address = "priya.shah@acme.example";
  const c = cli(db, ["contact", address, "--timeline", "20"]);
  await b.open(page, ui, `#/contact/${address}`, "contact-inbound-count", errors);
  assert.equal(await b.text(page, "contact-inbound-count"), String(c.inbound_count));
  assert.equal(await b.text(page, "contact-outbound-count"), String(c.outbound_count));
  assert.equal(await b.text(page, "contact-thread-count"), String(c.thread_count));
  assert.match(await b.text(page, "contact-first"), new RegExp(`^${c.first_contact.slice(0, 10)}`));
  assert.match(await b.text(page, "contact-last"), new RegExp(`^${c.last_contact.slice(0, 10)}`));
  assert.equal(await b.text(page, "contact-group"), c.group || "—");
  const months = await page.$$eval('[data-testid="contact-monthly"] tbody tr', (rows) => rows.map((r) => [...r.children].slice(0, 3).map((x) => x.textContent)));
  assert.deepEqual(months, c.monthly.map((m) => [m.month, String(m.inbound), String(m.outbound)]));
  assert.equal(await page.locator('[data-testid="contact-timeline"] tbody tr').count(), c.timeline.length);
  assert.equal(await page.locator('[data-testid="contact-open-threads"] li').count(), c.open_threads.length);
  assert.equal(await page.locator(".chart canvas").count(), 2, "both charts are drawn");
  // A known address that is not a contact gets the explanation instead.
  const stranger = cli(db, ["explain", "newsletter@weeklybrief.example"]);
  await b.open(page, ui, "#/contact/newsletter@weeklybrief.example", "explain", errors);
  assert.equal(await b.text(page, "explain-reason"), stranger.reason);
});

test("Groups, threads, a thread and sources show the CLI's figures", async () => {
  await b.open(page, ui, "#/groups", "groups-ready", errors);
  for (const g of cli(db, ["group", "list"])) {
    const row = page.locator(`[data-testid="group-row"][data-group="${g.group}"]`);
    assert.equal((await row.locator('[data-testid="group-contacts"]').textContent()).trim(), String(g.contacts));
    assert.equal((await row.locator('[data-testid="group-overdue"]').textContent()).trim(), String(g.overdue));
  }
  assert.equal(await b.text(page, "groups-ungrouped"), String(cli(db, ["contacts", "--ungrouped", "--count"]).count));

  const threads = cli(db, ["threads", "--limit", "200"]);
  await b.open(page, ui, "#/threads", "threads-ready", errors);
  assert.deepEqual(await page.$$eval('[data-testid="threads-table"] [data-testid="row"]', (r) => r.map((x) => Number(x.dataset.threadId))), threads.map((t) => t.id));
  assert.deepEqual(await b.texts(page, "message-count"), threads.map((t) => String(t.message_count)));

  const busiest = [...threads].sort((a, c) => c.message_count - a.message_count)[0];
  const t = cli(db, ["thread", String(busiest.id)]);
  await b.open(page, ui, `#/thread/${busiest.id}`, "thread-ready", errors);
  assert.deepEqual(await page.$$eval('[data-testid="thread-message"]', (m) => m.map((x) => Number(x.dataset.depth))), t.messages.map((m) => m.depth));

  const stats = cli(db, ["stats"]);
  await b.open(page, ui, "#/sources", "sources-ready", errors);
  assert.equal(await b.text(page, "sources-messages"), String(stats.messages));
  assert.equal(await b.text(page, "sources-contacts"), String(stats.contacts));
  assert.deepEqual(await b.texts(page, "sightings"), cli(db, ["sources"]).map((s) => String(s.sightings)));
  assert.equal(await page.locator('[data-testid="check"]').count(), require("./helpers").cli(db, ["doctor"]).length);
  assert.equal(await page.locator('[data-testid="import-row"]').count(), cli(db, ["imports"]).length);
});

test("Triage by keyboard puts contacts in groups, and undo takes them out again", async () => {
  await b.open(page, ui, "#/triage", "triage-ready", errors);
  await page.waitForSelector('[data-testid="triage-email"]');
  const first = await b.text(page, "triage-email");
  const group = (await b.texts(page, "triage-key"))[0].replace(/^1\s*/, "");
  assert.equal(cli(db, ["contact", first]).group, "", "starts in no group");
  await page.keyboard.press("1");
  await page.waitForFunction((e) => document.querySelector('[data-testid="triage-email"]')?.textContent !== e, first);
  const second = await b.text(page, "triage-email");
  await page.keyboard.press("2");
  await page.waitForFunction((e) => document.querySelector('[data-testid="triage-email"]')?.textContent !== e, second);
  const group2 = (await b.texts(page, "triage-key"))[1].replace(/^2\s*/, "");
  assert.equal(cli(db, ["contact", first]).group, group);
  assert.equal(cli(db, ["contact", second]).group, group2);
  assert.ok(emails(cli(db, ["contacts", "--group", group, "--limit", "500"])).includes(first));
  await page.keyboard.press("u");
  await page.waitForFunction((e) => document.querySelector('[data-testid="triage-email"]')?.textContent === e, second);
  assert.equal(cli(db, ["contact", second]).group, "", "undo restored the second");
  await page.keyboard.press("u");
  await page.waitForFunction((e) => document.querySelector('[data-testid="triage-email"]')?.textContent === e, first);
  assert.equal(cli(db, ["contact", first]).group, "", "undo restored the first");
  // Skip moves on without changing anything; n names a new group.
  await page.keyboard.press("s");
  await page.waitForFunction((e) => document.querySelector('[data-testid="triage-email"]')?.textContent !== e, first);
  const third = await b.text(page, "triage-email");
  await page.keyboard.press("n");
  await page.keyboard.type("speakers");
  await page.keyboard.press("Enter");
  await page.waitForFunction((e) => document.querySelector('[data-testid="triage-email"]')?.textContent !== e, third);
  assert.equal(cli(db, ["contact", third]).group, "speakers");
  assert.equal(cli(db, ["contact", first]).group, "");
});

test("A cadence set in the page shows in `rapport neglected`", async () => {
  const quiet = cli(db, ["contacts", "--until", "3d", "--limit", "200"]).find((c) => !c.cadence_days && !c.group);
  assert.ok(quiet, "a contact quiet for 3 days with no cadence");
  assert.ok(!emails(cli(db, ["neglected"])).includes(quiet.email));
  await b.open(page, ui, `#/contact/${quiet.email}`, "contact-inbound-count", errors);
  await page.fill('[data-testid="cadence-input"]', "2");
  await page.click('#set-cadence ~ button, form:has(#set-cadence) button[type="submit"]');
  await page.waitForFunction(() => /every 2 days/.test(document.querySelector('[data-testid="contact-cadence"]')?.textContent || ""));
  assert.ok(emails(cli(db, ["neglected"])).includes(quiet.email), "neglected after the cadence");
  assert.equal(cli(db, ["contact", quiet.email]).cadence_days, 2);
});

test("Done and snooze on Today take threads off `rapport awaiting`; undo brings them back", async () => {
  await b.open(page, ui, "#/today", "today-ready", errors);
  const first = cli(db, ["awaiting", "--on", "me"])[0];
  await page.click(`[data-testid="today-waiting-me"] [data-thread-id="${first.thread_id}"] button:has-text("Done")`);
  await page.waitForFunction((id) => !document.querySelector(`[data-testid="today-waiting-me"] [data-thread-id="${id}"]`), first.thread_id);
  assert.ok(!cli(db, ["awaiting", "--on", "me"]).some((t) => t.thread_id === first.thread_id));
  await page.click('#toast button:has-text("Undo")');
  await page.waitForFunction((id) => !!document.querySelector(`[data-testid="today-waiting-me"] [data-thread-id="${id}"]`), first.thread_id);
  assert.ok(cli(db, ["awaiting", "--on", "me"]).some((t) => t.thread_id === first.thread_id));
  const them = cli(db, ["awaiting", "--on", "them"])[0];
  await page.selectOption(`[data-testid="today-waiting-them"] [data-thread-id="${them.thread_id}"] select`, "1w");
  await page.waitForFunction((id) => !document.querySelector(`[data-testid="today-waiting-them"] [data-thread-id="${id}"]`), them.thread_id);
  assert.ok(!cli(db, ["awaiting", "--on", "them"]).some((t) => t.thread_id === them.thread_id));
});

test("Selecting contacts in the table puts them in a group", async () => {
  await b.open(page, ui, "#/contacts?sort=name", "contacts-ready", errors);
  await page.waitForSelector('[data-testid="contacts-table"] [data-testid="row"]');
  const rows = page.locator('[data-testid="contacts-table"] [data-testid="row"]');
  const picked = [await rows.nth(0).getAttribute("data-email"), await rows.nth(1).getAttribute("data-email"), await rows.nth(2).getAttribute("data-email")];
  await rows.nth(0).locator("input[type=checkbox]").click();
  await rows.nth(2).locator("input[type=checkbox]").click({ modifiers: ["Shift"] });
  await page.waitForFunction(() => document.querySelector('[data-testid="selected-count"]')?.textContent === "3 selected");
  await page.fill("#bulk-group", "board");
  await page.click('.selection button[type="submit"]');
  await page.waitForFunction(() => !document.querySelector('[data-testid="selected-count"]'));
  assert.deepEqual(emails(cli(db, ["contacts", "--group", "board", "--sort", "name"])), picked);
});

test("The page follows an import run beside it", async () => {
  await b.open(page, ui, "#/contacts", "contacts-ready", errors);
  const before = cli(db, ["contacts", "--count"]).count;
  await page.waitForFunction((n) => document.querySelector('[data-testid="contacts-count"]').textContent === `${n} contacts`, before);
  const me = cli(db, ["identity", "list"]).find((i) => i.confirmed !== false);
  const from = (me && (me.email || me.address)) || "dana@northwind.example";
  const dir = tempDir("rapport-ui-mail-");
  fs.writeFileSync(path.join(dir, "new.eml"), [`From: Dana <${from}>`, "To: Newcomer <newcomer@fresh.example>", "Subject: Welcome aboard", `Date: ${new Date().toUTCString()}`, "Message-ID: <ui-live-1@fresh.example>", "", "Hi.", ""].join("\r\n"));
  run(db, ["--quiet", "import", dir]);
  const after = cli(db, ["contacts", "--count"]).count;
  assert.equal(after, before + 1, "the import made a contact");
  await page.waitForFunction((n) => document.querySelector('[data-testid="contacts-count"]').textContent === `${n} contacts`, after, { timeout: 10000 });
  await b.open(page, ui, "#/sources", "sources-ready", errors);
  assert.equal(await page.locator('[data-testid="import-row"]').count(), cli(db, ["imports"]).length);
  assert.equal(await page.locator('[data-testid="import-row"]').first().getAttribute("data-state"), "finished");
});

test("A change beside the page keeps the table's selection and a half-typed field", async () => {
  await b.open(page, ui, "#/contacts", "contacts-ready", errors);
  await page.waitForSelector('[data-testid="contacts-table"] [data-testid="row"]');
  await page.locator('[data-testid="contacts-table"] [data-testid="row"] input[type=checkbox]').first().click();
  await page.waitForFunction(() => document.querySelector('[data-testid="selected-count"]')?.textContent === "1 selected");
  const before = cli(db, ["contacts", "--count"]).count;
  const dir = tempDir("rapport-ui-mail-");
  fs.writeFileSync(path.join(dir, "beside.eml"), ["From: Dana <dana@northwind.example>", "To: Second Newcomer <second@fresh.example>", "Subject: Hello", `Date: ${new Date().toUTCString()}`, "Message-ID: <ui-live-2@fresh.example>", "", "Hi.", ""].join("\r\n"));
  run(db, ["--quiet", "import", dir]);
  await page.waitForFunction((n) => document.querySelector('[data-testid="contacts-count"]').textContent === `${n} contacts`, before + 1, { timeout: 10000 });
  assert.equal(await b.text(page, "selected-count"), "1 selected", "the selection survived the update");
  await page.locator(".selection button.ghost").click();

  const address = "priya.shah@acme.example";
  await b.open(page, ui, `#/contact/${address}`, "contact-inbound-count", errors);
  await page.fill('[data-testid="cadence-input"]', "4");
  fs.writeFileSync(path.join(dir, "beside.eml"), ["From: Dana <dana@northwind.example>", "To: Third <third@fresh.example>", "Subject: Hello", `Date: ${new Date().toUTCString()}`, "Message-ID: <ui-live-3@fresh.example>", "", "Hi.", ""].join("\r\n"));
  run(db, ["--quiet", "import", dir]);
  await page.waitForTimeout(2500);
  assert.equal(await page.inputValue('[data-testid="cadence-input"]'), "4", "typing is not overwritten by a refresh");
  // Saving right after: the refresh held back while typing must not rebuild the form under the
  // click (it once swallowed the click and the value).
  await page.click('form:has(#set-cadence) button[type="submit"]');
  await page.waitForFunction(() => /every 4 days/.test(document.querySelector('[data-testid="contact-cadence"]')?.textContent || ""), null, { timeout: 10000 });
  assert.equal(cli(db, ["contact", address]).cadence_days, 4);
});

const PAGES = [
  ["today", "#/today", "today-ready"],
  ["contacts", "#/contacts", "contacts-ready"],
  ["contact", "#/contact/priya.shah@acme.example", "contact-inbound-count"],
  ["groups", "#/groups", "groups-ready"],
  ["triage", "#/triage", "triage-ready"],
  ["threads", "#/threads", "threads-ready"],
  ["thread", null, "thread-ready"],
  ["sources", "#/sources", "sources-ready"],
];

for (const theme of ["light", "dark"]) {
  test(`every page in ${theme}: no serious accessibility violation, reflows at 200 % zoom, screenshot`, async () => {
    const thread = cli(db, ["threads", "--limit", "1"])[0].id;
    const axeCtx = await b.context(browser, ui, { theme, bypassCSP: true });
    const zoomCtx = await b.context(browser, ui, { theme, width: 640, height: 450 });
    const p = await axeCtx.newPage();
    const z = await zoomCtx.newPage();
    try {
      for (const [name, hash, ready] of PAGES) {
        const h = hash || `#/thread/${thread}`;
        await b.open(p, ui, h, ready, errors);
        await p.waitForTimeout(200);
        assert.equal(await p.evaluate(() => document.documentElement.dataset.theme), theme);
        await b.screenshot(p, `${name}-${theme}`);
        const violations = await b.axe(p);
        assert.deepEqual(violations, [], `${name} (${theme}): ${JSON.stringify(violations, null, 1)}`);
        await b.open(z, ui, h, ready, errors);
        assert.equal(await b.overflows(z), false, `${name} (${theme}) scrolls sideways at 200 % zoom`);
      }
    } finally {
      await axeCtx.close();
      await zoomCtx.close();
    }
  });
}

test("no script errors on any page", () => {
  assert.deepEqual(errors, []);
});
