import { test } from "node:test";
import assert from "node:assert/strict";
import { Capturer, MAX_FULL_BYTES } from "../src/lib/capture.js";
import { HostClient } from "../src/lib/host.js";
import { CaptureQueue } from "../src/lib/queue.js";
import { captureKey } from "../src/lib/util.js";
import { createMessenger, manualTimers } from "./messenger-double.js";

async function setup() {
  const m = createMessenger();
  const timers = manualTimers();
  const host = new HostClient({ connect: () => m.runtime.connectNative("rapport"), setTimer: timers.setTimer, clearTimer: timers.clearTimer });
  const queue = new CaptureQueue({ storage: m.storage.local });
  await queue.load();
  const scheduled = [];
  const capturer = new Capturer({ messenger: m, host, queue, storage: m.storage.local, schedule: (ms) => scheduled.push(ms) });
  await capturer.loadAliases();
  return { m, host, queue, capturer, scheduled };
}

const itemFor = (h, extra = {}) => ({ key: captureKey(h.folder, h.headerMessageId), headerMessageId: h.headerMessageId, tbId: h.id, folder: h.folder, ...extra });

test("drain sends each queued message and acknowledges it only after the host's reply", async () => {
  const { m, queue, capturer } = await setup();
  const hs = [1, 2, 3, 4, 5].map((i) => m.addMessage({ messageId: `m${i}@example.test` }));
  await queue.add(hs.map((h) => itemFor(h)));
  await capturer.drain();
  assert.equal(queue.size, 0);
  assert.deepEqual([...m.host.stored.keys()].sort(), hs.map((h) => h.headerMessageId).sort());
  const src = m.host.sources[0];
  assert.equal(src.account, "account1");
  assert.equal(src.folder, "/Inbox");
  assert.equal(src.sent, false);
  // Thunderbird's copy is sent as is (X-Mozilla headers, LF): the core normalises.
  assert.match(m.host.stored.get("m1@example.test").text, /^X-Mozilla-Status/);
});

test("a host crash mid-drain loses nothing: the rest waits and goes after the reconnect", async () => {
  const { m, host, queue, capturer, scheduled } = await setup();
  const hs = [1, 2, 3, 4, 5, 6].map((i) => m.addMessage({ messageId: `m${i}@example.test` }));
  await queue.add(hs.map((h) => itemFor(h)));
  m.host.crashOn = { method: "capture", after: 3 };
  await capturer.drain();
  assert.ok(queue.size > 0, "items survive the crash");
  assert.ok(m.host.stored.size < 6);
  assert.equal(host.status.connected, false);
  assert.ok(scheduled.length > 0, "a retry was scheduled");
  await queue.wakeAll();
  await capturer.drain();
  assert.equal(queue.size, 0);
  assert.equal(m.host.stored.size, 6);
  assert.equal(m.host.processes, 2);
});

test("the host being down keeps everything queued with backoff", async () => {
  const { m, queue, capturer } = await setup();
  const h = m.addMessage({ messageId: "m1@example.test" });
  m.host.available = false;
  await queue.add([itemFor(h)]);
  await capturer.drain();
  assert.equal(queue.size, 1);
  const [it] = [...queue.items.values()];
  assert.equal(it.attempts, 1);
  assert.match(it.lastError, /No such native application/);
  m.host.available = true;
  await queue.wakeAll();
  await capturer.drain();
  assert.equal(queue.size, 0);
});

test("after a Thunderbird restart stale ids are resolved by Message-ID", async () => {
  const { m, queue, capturer } = await setup();
  const h = m.addMessage({ messageId: "m1@example.test" });
  const other = m.addMessage({ messageId: "other@example.test" });
  await queue.add([itemFor(h)]);
  m.restartSession();
  // The old id of m1 now belongs to nothing, or to another message: never send the wrong one.
  assert.notEqual(other.id, h.id);
  await capturer.drain();
  assert.deepEqual([...m.host.stored.keys()], ["m1@example.test"]);
});

test("a message deleted before it was read is dropped, not retried forever", async () => {
  const { m, queue, capturer } = await setup();
  const h = m.addMessage({ messageId: "m1@example.test" });
  await queue.add([itemFor(h)]);
  m.deleteMessage(h.id);
  await capturer.drain();
  assert.equal(queue.size, 0);
  assert.equal((await queue.failures())[0].reason, "the message no longer exists in Thunderbird");
});

test("a message the host refuses as invalid is dropped and recorded", async () => {
  const { m, queue, capturer } = await setup();
  const h = m.addMessage({ messageId: "m1@example.test" });
  await queue.add([itemFor(h)]);
  m.host.refuse = { method: "capture", code: "InvalidInput" };
  await capturer.drain();
  assert.equal(queue.size, 0);
  assert.match((await queue.failures())[0].reason, /^InvalidInput/);
});

test("an unreadable message (IMAP offline) is retried later", async () => {
  const { m, queue, capturer } = await setup();
  const h = m.addMessage({ messageId: "m1@example.test" });
  m.markUnreadable(h.id);
  await queue.add([itemFor(h)]);
  await capturer.drain();
  assert.equal(queue.size, 1);
  assert.match([...queue.items.values()][0].lastError, /reading the message failed/);
});

test("sent copies are flagged sent", async () => {
  const { m, queue, capturer } = await setup();
  const h = m.addMessage({ messageId: "s1@example.test", folder: "account1://Sent", from: "alice@example.test" });
  await queue.add([itemFor(h)]);
  await capturer.drain();
  assert.equal(m.host.sources[0].sent, true);
});

test("huge messages are sent as their header block", async () => {
  const { m, queue, capturer } = await setup();
  const h = m.addMessage({ messageId: "big@example.test", body: "y".repeat(MAX_FULL_BYTES + 10) });
  await queue.add([itemFor(h)]);
  await capturer.drain();
  const text = m.host.stored.get("big@example.test").text;
  assert.ok(text.length < 1000, `sent ${text.length} bytes`);
  assert.match(text, /Message-ID: <big@example.test>\n\n$/);
});

test("a message whose stored key differs is remembered as an alias", async () => {
  const { m, queue, capturer } = await setup();
  const h = m.addMessage({}); // no Message-ID header: Thunderbird invents one
  await queue.add([itemFor(h)]);
  await capturer.drain();
  assert.ok(capturer.aliases.has(h.headerMessageId));
  assert.deepEqual((await m.storage.local.get("aliases")).aliases, [h.headerMessageId]);
});

test("concurrent drains share one run", async () => {
  const { m, queue, capturer } = await setup();
  await queue.add([1, 2, 3].map((i) => itemFor(m.addMessage({ messageId: `m${i}@x` }))));
  await Promise.all([capturer.drain(), capturer.drain(), capturer.drain()]);
  assert.equal(m.host.count("capture"), 3);
});
