// Browser test: headless Chromium (Debian's, via playwright-core) opens the real task pane served
// by a running `rapport serve` over HTTPS, with a test Office adapter injected.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { chromium } = require("playwright-core");
const { ROOT, rapport, tempDir, seedDatabase, startBridge, eml, NEW_MESSAGE, ME, ADA } = require("./helpers");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(ROOT, "tests", "artifacts");
const ADAPTER = fs.readFileSync(path.join(__dirname, "fixtures", "test-office-adapter.js"), "utf8");

let bridge;
let browser;
let home;
let trust = "ignoreHTTPSErrors";

/**
 * Trusts the test CA the way a user would on Linux: in an NSS database under a throw-away HOME,
 * which Chromium reads. Then Chromium checks the chain, names and the CA's name constraints.
 * Without certutil (libnss3-tools) the test falls back to ignoreHTTPSErrors.
 */
function trustCa(caFile) {
  home = tempDir("rapport-chromium-home-");
  const nss = path.join(home, ".pki", "nssdb");
  fs.mkdirSync(nss, { recursive: true });
  try {
    execFileSync("certutil", ["-d", "sql:" + nss, "-N", "--empty-password"], { stdio: "ignore" });
    execFileSync("certutil", ["-d", "sql:" + nss, "-A", "-t", "C,,", "-n", "Rapport test CA", "-i", caFile], { stdio: "ignore" });
    trust = "nss";
  } catch (e) {
    trust = "ignoreHTTPSErrors";
  }
}

test.before(async () => {
  const dir = tempDir();
  const db = seedDatabase(dir);
  bridge = await startBridge({ dir, db });
  trustCa(path.join(bridge.bridgeDir, "ca.crt"));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking"],
    env: { ...process.env, HOME: home },
  });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});

test.after(async () => {
  if (browser) await browser.close();
  if (bridge) await bridge.stop();
});

function stats() {
  return JSON.parse(rapport(["--db", bridge.db, "--json", "stats"]));
}

/** Opens the served task pane with the test adapter in place of the Office one. */
async function openPane(fields, rawEml, extra) {
  const context = await browser.newContext({ ignoreHTTPSErrors: trust !== "nss", viewport: { width: 360, height: 760 } });
  const page = await context.newPage();
  // No Office host here: Office.js from the CDN is replaced by nothing, the adapter by the test's.
  await page.route("https://appsforoffice.microsoft.com/**", (r) => r.fulfill({ status: 200, contentType: "text/javascript", body: "/* no Office here */" }));
  await page.route(bridge.origin + "/office-adapter.js", (r) => r.fulfill({ status: 200, contentType: "text/javascript", body: ADAPTER }));
  await page.addInitScript((cfg) => {
    globalThis.__RAPPORT_TEST__ = cfg;
  }, { user: ME, fields, eml: Buffer.from(rawEml).toString("base64"), ...(extra || {}) });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const response = await page.goto(bridge.origin + "/taskpane.html");
  assert.equal(response.status(), 200);
  return { context, page, errors };
}

const fields = {
  itemId: "AAMkAD-test-1",
  itemType: "message",
  internetMessageId: "<" + NEW_MESSAGE.id + ">",
  subject: NEW_MESSAGE.subject,
  from: { name: "Ada Lovelace", address: ADA },
  sender: { name: "Ada Lovelace", address: ADA },
  to: [{ name: "Me", address: ME }],
  cc: [{ name: "Charles Babbage", address: "charles@engine.example" }],
  dateTimeCreated: "2025-03-20T16:00:00.000Z",
};

test("a new pane pairs with the code `rapport serve` shows, then says whether Rapport is running", async () => {
  const { context, page, errors } = await openPane(null, "", { host: null });
  try {
    // Not paired: the pane asks for the code; the page itself carries no secret.
    await page.locator("#pair").waitFor({ state: "visible", timeout: 20000 });
    assert.ok(!(await page.content()).includes(bridge.token), "no token in the page");
    await page.fill("#pair-code", "WRONG-CODE");
    await page.click("#pair-run");
    await page.locator("#pair-result", { hasText: "wrong pairing code" }).waitFor({ timeout: 20000 });
    // The right code, typed as a user might (lower case, no dash).
    await page.fill("#pair-code", bridge.pairingCode().toLowerCase());
    await page.click("#pair-run");
    await page.locator("#status", { hasText: "Rapport is running" }).waitFor({ timeout: 20000 });
    assert.equal(await page.locator("#pair").isHidden(), true);
    assert.equal(await page.evaluate(() => localStorage.getItem("rapport-token")), bridge.token, "the pane keeps the token");
    assert.ok(!require("node:fs").existsSync(require("node:path").join(bridge.bridgeDir, "pairing.json")), "the code is used up");
    assert.match(await page.locator("#status").textContent(), /\(5 messages\)/);
    assert.equal(await page.locator("#problem").isHidden(), true);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("the pane shows the sender's real history, captures the message, and says when Rapport is unreachable", async () => {
  const before = stats();
  assert.equal(before.messages, 5, "seeded");
  // Paired before: the token is in the mailbox's roaming settings.
  const { context, page, errors } = await openPane(fields, eml(NEW_MESSAGE), { storage: { "rapport-token": bridge.token } });
  try {
    const card = page.locator(`.person[data-address="${ADA}"]`);
    await card.locator('[data-field="inbound_count"]').waitFor({ timeout: 20000 });

    // The capture from the pane landed in the database.
    const after = stats();
    assert.equal(after.messages, before.messages + 1, "one message captured");
    assert.ok(after.sources > before.sources);
    await page.locator("#capture-state", { hasText: "captured" }).waitFor();

    // The pane shows what the database says about Ada.
    const c = JSON.parse(rapport(["--db", bridge.db, "--json", "contact", ADA]));
    const field = (name) => card.locator(`[data-field="${name}"]`).textContent();
    assert.equal(await field("inbound_count"), String(c.inbound_count));
    assert.equal(await field("outbound_count"), String(c.outbound_count));
    assert.equal(c.inbound_count, 4, "3 seeded + the captured one");
    assert.equal(c.outbound_count, 2);
    assert.equal(await field("first_contact"), c.first_contact.slice(0, 10));
    assert.equal(await field("last_contact"), c.last_contact.slice(0, 10));
    assert.equal(await field("last_inbound"), c.last_inbound.slice(0, 10));
    assert.equal(await field("last_outbound"), c.last_outbound.slice(0, 10));
    assert.equal(await field("first_contact"), "2025-01-10");
    assert.equal(await field("last_inbound"), "2025-03-20");
    assert.equal(await field("last_outbound"), "2025-02-05");
    assert.match(await field("turn"), /your turn/, "Ada's last message waits on me");
    assert.match(await field("thread_count"), new RegExp("^" + c.thread_count));

    // The thread: the seeded "Bernoulli numbers" plus the captured reply, waiting on me.
    assert.equal(await page.locator('[data-field="thread-messages"]').textContent(), "2");
    assert.match(await page.locator('[data-field="thread-waiting"]').textContent(), /your turn/);
    assert.equal(await page.locator("#thread-subject").textContent(), "Bernoulli numbers");

    // A recipient who is no contact is explained, not hidden; the user is left out.
    const charles = page.locator('.person[data-address="charles@engine.example"]');
    assert.equal(await charles.locator('[data-field="status"]').textContent(), "not a contact");
    const ex = JSON.parse(rapport(["--db", bridge.db, "--json", "explain", "charles@engine.example"]));
    assert.equal(await charles.locator('[data-field="inbound_count"]').textContent(), String(ex.messages_from));
    assert.equal(await charles.locator('[data-field="outbound_count"]').textContent(), String(ex.messages_to));
    assert.equal(ex.messages_to, 1, "cc'd on the captured message");
    assert.equal(await page.locator(`.person[data-address="${ME}"]`).count(), 0);
    await page.screenshot({ path: path.join(ARTIFACTS, "outlook-taskpane.png"), fullPage: true });

    // Pinned pane, same item again (ItemChanged): the capture is a duplicate, counts stay.
    await page.evaluate(() => globalThis.RapportOffice._fireItemChanged());
    await page.locator("#capture-state", { hasText: "known" }).waitFor();
    assert.equal(stats().messages, after.messages);

    // The bridge stops: the pane says so, and how to fix it.
    await bridge.stop();
    await page.evaluate(() => globalThis.RapportPane.show());
    const problem = page.locator("#problem");
    await problem.waitFor({ state: "visible", timeout: 20000 });
    assert.match(await page.locator("#problem-title").textContent(), /Cannot reach Rapport/);
    assert.equal(await problem.getAttribute("data-kind"), "unreachable");
    assert.match(await page.locator("#problem-fix").textContent(), /rapport serve/);
    assert.equal(await page.locator("#people").isHidden(), true, "no stale history beside the problem");
    await page.screenshot({ path: path.join(ARTIFACTS, "outlook-taskpane-unreachable.png"), fullPage: true });

    // Started again, Retry brings the history back.
    await bridge.start();
    await page.click("#retry");
    await card.locator('[data-field="inbound_count"]').waitFor({ timeout: 20000 });
    assert.equal(await problem.isHidden(), true);
    assert.equal(await card.locator('[data-field="inbound_count"]').textContent(), String(c.inbound_count));
    assert.deepEqual(errors, [], "no script errors");
  } finally {
    await context.close();
  }
  // Report how the certificate was trusted (nss = real chain validation by Chromium).
  test.diagnostic?.("certificate trust: " + trust);
  console.log("# certificate trust in Chromium: " + trust);
});
