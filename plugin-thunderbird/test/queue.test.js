import { test } from "node:test";
import assert from "node:assert/strict";
import { CaptureQueue } from "../src/lib/queue.js";
import { backoffMs } from "../src/lib/util.js";
import { StorageDouble } from "./messenger-double.js";

const item = (n, extra = {}) => ({ key: `k${n}`, headerMessageId: `m${n}@x`, tbId: n, folder: { accountId: "a", path: "/Inbox" }, ...extra });

test("items are written to storage before they count as queued, once per key", async () => {
  const storage = new StorageDouble();
  const q = new CaptureQueue({ storage, now: () => 1000 });
  await q.load();
  assert.equal(await q.add([item(1), item(2), item(1)]), 2);
  assert.equal(await q.add([item(2), item(3)]), 1);
  assert.equal(q.size, 3);
  assert.deepEqual(storage.keys("q:").sort(), ["q:k1", "q:k2", "q:k3"]);
});

test("a new session (Thunderbird restart) finds the unacknowledged items", async () => {
  const storage = new StorageDouble();
  const q1 = new CaptureQueue({ storage });
  await q1.load();
  await q1.add([item(1), item(2), item(3)]);
  await q1.ack("k2");
  const q2 = new CaptureQueue({ storage });
  assert.equal(await q2.load(), 2);
  assert.deepEqual(q2.due().map((i) => i.key), ["k1", "k3"]);
  assert.equal(q2.due()[0].headerMessageId, "m1@x");
});

test("transient failures back off exponentially and keep the item", async () => {
  let now = 0;
  const storage = new StorageDouble();
  const q = new CaptureQueue({ storage, now: () => now });
  await q.load();
  await q.add([item(1)]);
  await q.retryLater("k1", "host gone");
  assert.equal(q.due(0).length, 0);
  assert.equal(q.nextDueAt(), 1000);
  now = 1000;
  assert.equal(q.due().length, 1);
  await q.retryLater("k1", "host gone");
  assert.equal(q.nextDueAt(), 1000 + 2000);
  const stored = (await storage.get("q:k1"))["q:k1"];
  assert.equal(stored.attempts, 2);
  assert.equal(stored.lastError, "host gone");
  await q.wakeAll();
  assert.equal(q.due().length, 1);
});

test("backoff is capped at five minutes", () => {
  assert.deepEqual([1, 2, 3, 4].map(backoffMs), [1000, 2000, 4000, 8000]);
  assert.equal(backoffMs(30), 300000);
  assert.equal(backoffMs(0), 1000);
});

test("permanent failures leave the queue and are recorded for the options page", async () => {
  const storage = new StorageDouble();
  const q = new CaptureQueue({ storage, now: () => 5 });
  await q.load();
  await q.add([item(1), item(2)]);
  await Promise.all([q.drop("k1", "InvalidInput: not a message"), q.drop("k2", "gone")]);
  assert.equal(q.size, 0);
  assert.deepEqual(storage.keys("q:"), []);
  const f = await q.failures();
  assert.deepEqual(f.map((x) => x.reason).sort(), ["InvalidInput: not a message", "gone"]);
  assert.equal(f[0].folder, "/Inbox");
});

test("due lists the oldest first", async () => {
  let now = 10;
  const q = new CaptureQueue({ storage: new StorageDouble(), now: () => now });
  await q.load();
  await q.add([item(2)]);
  now = 20;
  await q.add([item(1)]);
  assert.deepEqual(q.due().map((i) => i.key), ["k2", "k1"]);
});
