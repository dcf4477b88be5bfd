import { test } from "node:test";
import assert from "node:assert/strict";
import { HostClient, HostError } from "../src/lib/host.js";
import { createMessenger, manualTimers } from "./messenger-double.js";

function client(m, timers = manualTimers()) {
  return new HostClient({ connect: () => m.runtime.connectNative("rapport"), setTimer: timers.setTimer, clearTimer: timers.clearTimer });
}

test("replies are matched to requests over one port", async () => {
  const m = createMessenger();
  const h = client(m);
  const [a, b] = await Promise.all([h.call("hello"), h.call("have", { message_ids: ["x@y"] })]);
  assert.equal(a.protocol, 1);
  assert.deepEqual(b.missing, ["x@y"]);
  assert.equal(m.host.processes, 1);
  assert.equal(h.status.connected, true);
});

test("an error reply is permanent for bad input and transient otherwise", async () => {
  const m = createMessenger();
  const h = client(m);
  m.host.refuse = { method: "capture", code: "InvalidInput" };
  await assert.rejects(h.call("capture", { raw: "" }), (e) => e instanceof HostError && e.code === "InvalidInput" && !e.transient);
  m.host.refuse = { method: "capture", code: "Storage" };
  await assert.rejects(h.call("capture", { raw: "" }), (e) => e.code === "Storage" && e.transient);
});

test("a host crash rejects what is in flight, and the next call starts a new host", async () => {
  const m = createMessenger();
  const h = client(m);
  m.host.crashOn = { method: "capture", after: 1 };
  await assert.rejects(h.call("capture", { raw: "" }), (e) => e.code === "Disconnected" && e.transient);
  assert.equal(h.status.connected, false);
  assert.match(h.status.lastError, /exited/);
  const r = await h.call("hello");
  assert.equal(r.protocol, 1);
  assert.equal(m.host.processes, 2);
});

test("a missing host fails calls with a transient error", async () => {
  const m = createMessenger();
  m.host.available = false;
  const h = client(m);
  await assert.rejects(h.call("hello"), (e) => e.transient && /No such native application/.test(e.message));
  m.host.available = true;
  assert.equal((await h.call("hello")).protocol, 1);
});

test("a request without a reply times out", async () => {
  const timers = manualTimers();
  const port = { onMessage: { addListener() {} }, onDisconnect: { addListener() {} }, postMessage() {} };
  const h = new HostClient({ connect: () => port, setTimer: timers.setTimer, clearTimer: timers.clearTimer, timeoutMs: 5 });
  const p = h.call("hello");
  timers.fireAll();
  await assert.rejects(p, (e) => e.code === "Timeout" && e.transient);
});

test("the default timers are called as plain functions (Gecko throws otherwise)", async () => {
  const origSet = globalThis.setTimeout;
  const origClear = globalThis.clearTimeout;
  const strict = (orig) =>
    function (...args) {
      if (this !== undefined && this !== globalThis) throw new TypeError("'setTimeout' called on an object that does not implement interface Window.");
      return orig(...args);
    };
  globalThis.setTimeout = strict(origSet);
  globalThis.clearTimeout = strict(origClear);
  try {
    const m = createMessenger();
    const h = new HostClient({ connect: () => m.runtime.connectNative("rapport") });
    assert.equal((await h.call("hello")).protocol, 1);
  } finally {
    globalThis.setTimeout = origSet;
    globalThis.clearTimeout = origClear;
  }
});
