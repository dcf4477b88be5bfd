import { test } from "node:test";
import assert from "node:assert/strict";
import { Capturer } from "../src/lib/capture.js";
import { HostClient } from "../src/lib/host.js";
import { CaptureQueue } from "../src/lib/queue.js";
import { Backfill, listFolders, reconcile } from "../src/lib/reconcile.js";
import { createMessenger, manualTimers } from "./messenger-double.js";

async function setup(opts) {
  const m = createMessenger(opts);
  const timers = manualTimers();
  const host = new HostClient({ connect: () => m.runtime.connectNative("rapport"), setTimer: timers.setTimer, clearTimer: timers.clearTimer });
  const queue = new CaptureQueue({ storage: m.storage.local });
  await queue.load();
  const capturer = new Capturer({ messenger: m, host, queue, storage: m.storage.local });
  await capturer.loadAliases();
  return { m, host, queue, capturer, drain: () => capturer.drain() };
}

test("reconciliation sends only what the host lacks, asking in batches", async () => {
  const { m, host, queue, capturer, drain } = await setup();
  for (let i = 0; i < 7; i++) m.addMessage({ messageId: `m${i}@x` });
  m.host.stored.set("m1@x", { text: "" });
  m.host.stored.set("m4@x", { text: "" });
  const r = await reconcile({ messenger: m, host, queue, aliases: capturer.aliases, since: 0, drain, pageSize: 2 });
  assert.deepEqual(r, { checked: 7, queued: 5 });
  assert.equal(queue.size, 0);
  assert.equal(m.host.count("capture"), 5);
  assert.ok(m.host.count("have") >= 4, "one have per page of 2");
  assert.ok(m.calls.continueList >= 3);
});

test("a second message with the same Message-ID is not sent again", async () => {
  const { m, host, queue, capturer, drain } = await setup();
  m.addMessage({ messageId: "dup@x" });
  m.addMessage({ messageId: "dup@x", to: "list@example.test" });
  m.addMessage({ messageId: "dup@x", folder: "account1://Projects" });
  await reconcile({ messenger: m, host, queue, aliases: capturer.aliases, since: 0, drain });
  assert.equal(m.host.count("capture"), 1);
  // And a later pass finds nothing to do.
  const again = await reconcile({ messenger: m, host, queue, aliases: capturer.aliases, since: 0, drain });
  assert.equal(again.queued, 0);
  assert.equal(m.host.count("capture"), 1);
});

test("drafts and junk are left alone; sent mail is flagged", async () => {
  const { m, host, queue, capturer, drain } = await setup();
  m.addMessage({ messageId: "draft@x", folder: "account1://Drafts" });
  m.addMessage({ messageId: "spam@x", folder: "account1://Junk" });
  m.addMessage({ messageId: "sent@x", folder: "account1://Sent" });
  await reconcile({ messenger: m, host, queue, aliases: capturer.aliases, since: 0, drain });
  assert.deepEqual([...m.host.stored.keys()], ["sent@x"]);
  assert.equal(m.host.stored.get("sent@x").sent, true);
});

test("only messages since the given date are checked", async () => {
  const { m, host, queue, capturer, drain } = await setup();
  m.addMessage({ messageId: "old@x", date: "2020-01-01T00:00:00Z" });
  m.addMessage({ messageId: "new@x", date: "2026-11-20T00:00:00Z" });
  const r = await reconcile({ messenger: m, host, queue, aliases: capturer.aliases, since: Date.parse("2026-01-01"), drain });
  assert.equal(r.checked, 1);
  assert.deepEqual([...m.host.stored.keys()], ["new@x"]);
});

test("known aliases are not sent again", async () => {
  const { m, host, queue, capturer, drain } = await setup();
  const h = m.addMessage({});
  await reconcile({ messenger: m, host, queue, aliases: capturer.aliases, since: 0, drain });
  await reconcile({ messenger: m, host, queue, aliases: capturer.aliases, since: 0, drain });
  assert.equal(m.host.count("capture"), 1, `${h.headerMessageId} captured once`);
});

test("the backfill walks every capturable folder and skips roots, drafts and junk", async () => {
  const { m } = await setup();
  const folders = await listFolders(m);
  assert.deepEqual(folders.map((f) => f.path), ["/Inbox", "/Sent", "/Projects"]);
});

test("the backfill is resumable: a host outage pauses it, the next run finishes", async () => {
  const { m, host, queue, capturer, drain } = await setup();
  for (let i = 0; i < 6; i++) m.addMessage({ messageId: `in${i}@x` });
  for (let i = 0; i < 3; i++) m.addMessage({ messageId: `p${i}@x`, folder: "account1://Projects" });
  const progress = [];
  const b = new Backfill({ messenger: m, host, queue, storage: m.storage.local, drain, aliases: () => capturer.aliases });
  b.onProgress = (s) => progress.push(`${s.status}:${s.checked}`);
  m.host.crashOn = { method: "capture", after: 3 };
  const first = await b.run();
  assert.equal(first.status, "paused");
  assert.match(first.error, /not reachable/);
  assert.ok(m.host.stored.size < 9);
  // Next session: the queue is retried and the backfill resumes where it was.
  await queue.wakeAll();
  await drain();
  const second = await b.run();
  assert.equal(second.status, "done");
  assert.equal(m.host.stored.size, 9);
  assert.equal(second.folders.find((f) => f.path === "/Inbox").done, true);
  assert.equal(second.checked, 9);
  assert.equal(second.total, 9);
  assert.ok(progress.includes("done:9"));
  // A finished backfill does nothing, until reset.
  const listsBefore = m.calls.list;
  await b.run();
  assert.equal(m.calls.list, listsBefore);
  const captures = m.host.count("capture");
  await b.reset();
  assert.equal((await b.run()).status, "done");
  assert.equal(m.host.count("capture"), captures, "after a reset nothing stored is sent again");
  assert.ok(m.host.count("have") > 0);
});

test("the backfill survives a folder that disappeared", async () => {
  const { m, host, queue, capturer, drain } = await setup();
  m.addMessage({ messageId: "a@x" });
  const b = new Backfill({ messenger: m, host, queue, storage: m.storage.local, drain, aliases: () => capturer.aliases });
  // Folders listed, then one vanishes before it is walked.
  const orig = m.messages.list;
  m.messages.list = async (id) => {
    if (id === "account1://Projects") throw new Error("Folder not found");
    return orig(id);
  };
  const s = await b.run();
  assert.equal(s.status, "done");
  assert.equal(s.folders.find((f) => f.path === "/Projects").missing, true);
});

test("a folder that appears after the backfill finished is walked on the next run", async () => {
  const { m, host, queue, capturer, drain } = await setup();
  m.addMessage({ messageId: "a@x" });
  const b = new Backfill({ messenger: m, host, queue, storage: m.storage.local, drain, aliases: () => capturer.aliases });
  assert.equal((await b.run()).status, "done");
  const lists = m.calls.list;
  await b.run();
  assert.equal(m.calls.list, lists, "nothing new: no folder is listed again");
  m.addFolder({ id: "account1://Archive", accountId: "account1", path: "/Archive" });
  m.addMessage({ messageId: "old@x", folder: "account1://Archive", date: "2015-01-01T00:00:00Z" });
  const s = await b.run();
  assert.equal(s.status, "done");
  assert.ok(m.host.stored.has("old@x"));
  assert.equal(m.calls.list, lists + 1, "only the new folder is walked");
  assert.equal(s.folders.length, 4);
});
