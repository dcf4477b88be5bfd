import { test } from "node:test";
import assert from "node:assert/strict";
import { App, RECONCILE_ALARM, RETRY_ALARM, messageCount } from "../src/lib/app.js";
import { createMessenger, manualTimers, quiet, until } from "./messenger-double.js";

function app(m, timers = manualTimers()) {
  return { a: new App(m, { setTimer: timers.setTimer, clearTimer: timers.clearTimer, log: quiet }), timers };
}

test("start-up: hello, identities, reconciliation and the backfill of existing mail", async () => {
  const m = createMessenger();
  m.addMessage({ messageId: "old@x", date: "2019-05-01T00:00:00Z" });
  m.addMessage({ messageId: "recent@x", date: new Date().toISOString() });
  m.addMessage({ messageId: "mine@x", folder: "account1://Sent", from: "alice@example.test", date: new Date().toISOString() });
  const { a } = app(m);
  await a.start();
  assert.deepEqual([...m.host.stored.keys()].sort(), ["mine@x", "old@x", "recent@x"]);
  assert.deepEqual(m.host.identities, [{ email: "alice@example.test", confirmed: true }]);
  assert.ok(m.alarms.created.has(RECONCILE_ALARM));
  const st = (await m.storage.local.get("backfill")).backfill;
  assert.equal(st.status, "done");
  assert.equal(m.runtime.optionsOpened, 1, "the options page opens on the first run");
  // The identity is added once, not on every start; the options page opens only the first time.
  const { a: again } = app(m);
  await again.start();
  assert.equal(m.host.count("add_identity"), 1);
  assert.equal(m.runtime.optionsOpened, 1);
});

test("new mail in any wanted folder is captured; drafts are not", async () => {
  const m = createMessenger();
  const { a } = app(m);
  await a.start();
  const h1 = m.addMessage({ messageId: "n1@x" });
  const h2 = m.addMessage({ messageId: "n2@x", folder: "account1://Projects" });
  const h3 = m.addMessage({ messageId: "n3@x" });
  const d = m.addMessage({ messageId: "d@x", folder: "account1://Drafts" });
  await a.onNewMail(h1.folder, m.messageList([h1, h3])); // two pages with pageSize 2? one page
  await a.onNewMail(h2.folder, m.messageList([h2]));
  await a.onNewMail(d.folder, m.messageList([d]));
  assert.deepEqual([...m.host.stored.keys()].sort(), ["n1@x", "n2@x", "n3@x"]);
  assert.equal(m.host.sources.find((s) => s.key === "n2@x").folder, "/Projects");
});

test("a paged new-mail list is read to its end", async () => {
  const m = createMessenger({ pageSize: 2 });
  const { a } = app(m);
  await a.start();
  const hs = [1, 2, 3, 4, 5].map((i) => m.addMessage({ messageId: `p${i}@x` }));
  await a.onNewMail(hs[0].folder, m.messageList(hs));
  assert.equal(m.host.stored.size, 5);
});

test("sent mail is captured from the Sent copies of onAfterSend", async () => {
  const m = createMessenger();
  const { a } = app(m);
  await a.start();
  const s = m.addMessage({ messageId: "sent1@x", folder: "account1://Sent", from: "alice@example.test" });
  await a.onAfterSend({ id: 1 }, { mode: "sendNow", messages: [s] });
  await a.onAfterSend({ id: 1 }, { mode: "sendNow", error: "SMTP refused", messages: [] });
  assert.equal(m.host.stored.get("sent1@x").sent, true);
  assert.equal(m.host.count("capture"), 1);
});

test("captures queued when Thunderbird quit are sent at the next start", async () => {
  const m = createMessenger();
  m.host.available = false;
  const { a } = app(m);
  await a.start();
  const h = m.addMessage({ messageId: "late@x", date: "2019-01-01T00:00:00Z" });
  await a.onNewMail(h.folder, m.messageList([h]));
  assert.equal(a.queue.size, 1);
  assert.equal(m.host.stored.size, 0);
  // Quit; restart with the host back. The message has a new Thunderbird id now, and it is
  // older than the reconciliation window: only the durable queue brings it in.
  m.restartSession();
  m.host.available = true;
  await m.storage.local.set({ backfill: { status: "done", folders: [] } });
  const { a: b } = app(m);
  await b.start();
  assert.equal(b.queue.size, 0);
  assert.deepEqual([...m.host.stored.keys()], ["late@x"]);
});

test("a host crash during live capture is retried by the retry timer", async () => {
  const m = createMessenger();
  const { a, timers } = app(m);
  await a.start();
  m.host.crashOn = { method: "capture", after: m.host.count("capture") + 1 };
  const h = m.addMessage({ messageId: "crash@x" });
  await a.onNewMail(h.folder, m.messageList([h]));
  assert.equal(a.queue.size, 1);
  assert.ok(m.alarms.created.has(RETRY_ALARM), "an alarm wakes a suspended page");
  assert.ok(timers.pending().length > 0);
  await a.queue.wakeAll();
  timers.fireAll();
  await until(() => a.queue.size === 0);
  assert.ok(m.host.stored.has("crash@x"));
});

test("the retry alarm drains the queue after the page was suspended", async () => {
  const m = createMessenger();
  m.host.available = false;
  const { a } = app(m);
  await a.start();
  const h = m.addMessage({ messageId: "x@x" });
  await a.onNewMail(h.folder, m.messageList([h]));
  m.host.available = true;
  await a.onAlarm({ name: RETRY_ALARM });
  assert.ok(m.host.stored.has("x@x"));
});

test("the periodic alarm reconciles mail the event never reported", async () => {
  const m = createMessenger();
  const { a } = app(m);
  await a.start();
  m.addMessage({ messageId: "silent@x", date: new Date().toISOString() });
  await a.onAlarm({ name: RECONCILE_ALARM });
  assert.ok(m.host.stored.has("silent@x"));
});

test("the badge shows the number of messages with the sender; the popup card has the thread", async () => {
  const m = createMessenger();
  const { a } = app(m);
  const h1 = m.addMessage({ messageId: "b1@x" });
  m.addMessage({ messageId: "b2@x" });
  await a.start();
  const card = await a.onDisplayed({ id: 7 }, { id: null, messages: [h1] });
  assert.equal(m.badges.get(7), "2");
  assert.equal(card.count, 2);
  m.display(7, [h1.id]);
  const popup = await a.onMessage({ command: "card-for-tab", tabId: 7 });
  assert.equal(popup.address, "bob@example.test");
  assert.equal(popup.thread.waiting_on, "me");
  // MV2-shaped lists (arrays) work too.
  await a.onDisplayed({ id: 8 }, [h1]);
  assert.equal(m.badges.get(8), "2");
});

test("the badge says so when the host is unreachable (after a few quick retries)", async () => {
  const m = createMessenger();
  m.host.available = false;
  const a = new App(m, { log: quiet }); // real timers: the retries wait 0.3 s and 0.6 s
  await a.start();
  const h = m.addMessage({ messageId: "b1@x" });
  await a.onDisplayed({ id: 3 }, { messages: [h] });
  assert.equal(m.badges.get(3), "");
  assert.match(m.titles.get(3), /not reachable/);
  a.host.close();
});

test("the card survives a host restart between the event and the reply", async () => {
  const m = createMessenger();
  const a = new App(m, { log: quiet });
  const h = m.addMessage({ messageId: "b1@x" });
  await a.start();
  m.host.crashOn = { method: "card", after: 1 };
  const card = await a.onDisplayed({ id: 4 }, { messages: [h] });
  assert.equal(card.count, 1);
  assert.equal(m.badges.get(4), "1");
  a.host.close();
});

test("options page: status, settings, rescan; unknown commands are not handled", async () => {
  const m = createMessenger();
  const { a } = app(m);
  m.addMessage({ messageId: "s@x" });
  await a.start();
  const s = await a.onMessage({ command: "status" });
  assert.equal(s.host.stats.messages, 1);
  assert.deepEqual(s.identities, ["alice@example.test"]);
  assert.equal(s.backfill.status, "done");
  assert.equal(s.queue.size, 0);
  const set = await a.onMessage({ command: "set-settings", settings: { includeJunk: true, bogus: 1 } });
  assert.deepEqual(set, { syncIdentities: true, includeJunk: true });
  assert.equal((await m.storage.local.get("settings")).settings.includeJunk, true);
  assert.equal(await a.onMessage({ command: "rescan" }), true);
  assert.equal(a.onMessage({ command: "nope" }), false);
  assert.equal(a.onMessage("garbage"), false);
});

test("messageCount prefers the contact's counts", () => {
  assert.equal(messageCount({ contact: { inbound_count: 3, outbound_count: 2 }, explanation: { messages_from: 9 } }), 5);
  assert.equal(messageCount({ contact: null, explanation: { messages_from: 4, messages_to: 1 } }), 5);
  assert.equal(messageCount(null), 0);
});
