// Unit tests of the Office adapter and the capture logic, with office-addin-mock (host "outlook").
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { OfficeMockObject } = require("office-addin-mock");

const SRC = path.join(__dirname, "..", "src");

/** Runs one of the add-in's classic scripts, as a page does, and returns the global it defines. */
function loadScript(file, globalName) {
  require(path.join(SRC, file));
  return global[globalName];
}
const office = loadScript("office-adapter.js", "RapportOffice");
const capture = loadScript("capture.js", "RapportCapture");
const Bridge = loadScript("bridge-client.js", "RapportBridge");

const EML =
  "From: Ada Lovelace <ada@analytical.example>\r\nTo: Me <me@example.com>\r\nSubject: Engine plans\r\n" +
  "Date: Fri, 10 Jan 2025 09:00:00 +0000\r\nMessage-ID: <a1@analytical.example>\r\n\r\nHello.\r\n";
const b64 = (s) => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s) => Buffer.from(s, "base64").toString("utf8");

const ok = (value) => ({ status: "succeeded", value });
const fail = (message) => ({ status: "failed", error: { message } });

/** An Outlook mock: `sets` are the Mailbox requirement sets this "client" supports. */
function outlookMock({ sets = ["1.1", "1.5", "1.8", "1.13", "1.14", "1.15"], item, extra } = {}) {
  const calls = { handlers: [], headersSet: [], unloaded: 0, associated: {} };
  const supported = new Set(sets);
  const readItem = item || {
    itemType: "message",
    itemId: "AAMk-1",
    internetMessageId: "<a1@analytical.example>",
    subject: "Engine plans",
    from: { displayName: "Ada Lovelace", emailAddress: "ada@analytical.example" },
    sender: { displayName: "Ada Lovelace", emailAddress: "ada@analytical.example" },
    to: [{ displayName: "Me", emailAddress: "me@example.com" }],
    cc: [{ displayName: "Charles Babbage", emailAddress: "charles@engine.example" }],
    dateTimeCreated: new Date("2025-01-10T09:00:00Z"),
    getAsFileAsync: function (cb) {
      cb(ok(b64(EML)));
    },
    getAllInternetHeadersAsync: function (cb) {
      cb(ok(EML.split("\r\n\r\n")[0] + "\r\n"));
    },
  };
  const seed = {
    host: "outlook",
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    EventType: { ItemChanged: "olkItemSelectedChanged", SelectedItemsChanged: "olkSelectedItemsChanged" },
    MailboxEnums: { ItemType: { Message: "message", Appointment: "appointment" } },
    onReady: function () {
      return Promise.resolve({ host: "Outlook", platform: "PC" });
    },
    actions: {
      associate: function (name, fn) {
        calls.associated[name] = fn;
      },
    },
    context: {
      requirements: {
        isSetSupported: function (name, version) {
          return name === "Mailbox" && supported.has(version);
        },
      },
      mailbox: {
        userProfile: { emailAddress: "Me@Example.com", displayName: "Me" },
        item: readItem,
        addHandlerAsync: function (type, handler, cb) {
          calls.handlers.push({ type, handler });
          cb(ok(undefined));
        },
        ...(extra || {}),
      },
    },
  };
  const mock = new OfficeMockObject(seed);
  global.Office = mock;
  return { mock, calls };
}

/** A fake bridge client recording calls. */
function fakeBridge(answer) {
  const calls = [];
  return {
    calls,
    origin: "https://localhost:47815",
    call: async (method, params) => {
      calls.push({ method, params });
      if (answer) return answer(method, params);
      return { outcome: "stored", message_id: "a1@analytical.example", thread_id: 7 };
    },
  };
}

test.afterEach(() => {
  delete global.Office;
  delete global.OfficeRuntime;
});

test("the adapter reads the item's fields through Office.js", () => {
  outlookMock();
  const item = office.currentItem();
  assert.ok(item);
  const f = item.fields();
  assert.equal(f.itemId, "AAMk-1");
  assert.equal(f.internetMessageId, "<a1@analytical.example>");
  assert.deepEqual(f.from, { name: "Ada Lovelace", address: "ada@analytical.example" });
  assert.deepEqual(f.to, [{ name: "Me", address: "me@example.com" }]);
  assert.equal(f.cc.length, 1);
  assert.equal(f.dateTimeCreated, "2025-01-10T09:00:00.000Z");
  assert.equal(office.userAddress(), "me@example.com");
});

test("requirement sets are detected with isSetSupported", () => {
  outlookMock({ sets: ["1.1", "1.8"] });
  assert.equal(office.supports("1.8"), true);
  assert.equal(office.supports("1.14"), false);
  delete global.Office;
  assert.equal(office.supports("1.1"), false, "no Office at all: nothing is supported");
});

test("no item, or an appointment, is no message", () => {
  outlookMock({ item: { itemType: "appointment", itemId: "x" } });
  assert.equal(office.currentItem(), null);
  const { mock } = outlookMock();
  mock.context.mailbox.item = null;
  assert.equal(office.currentItem(), null);
});

test("callback errors become rejected promises", async () => {
  outlookMock({
    item: {
      itemType: "message",
      getAsFileAsync: (cb) => cb(fail("too big")),
    },
  });
  await assert.rejects(office.currentItem().getEml(), /getAsFileAsync failed: too big/);
  await assert.rejects(office.currentItem().getHeaders(), /not available/);
});

test("ItemChanged and SelectedItemsChanged handlers are registered when supported", async () => {
  const { calls } = outlookMock();
  assert.equal(await office.onItemChanged(() => {}), true);
  assert.equal(await office.onSelectionChanged(() => {}), true);
  assert.deepEqual(
    calls.handlers.map((h) => h.type),
    ["olkItemSelectedChanged", "olkSelectedItemsChanged"]
  );
  outlookMock({ sets: ["1.1"] });
  assert.equal(await office.onItemChanged(() => {}), false, "no pinning before Mailbox 1.5");
});

test("capture on read uses the EML with Mailbox 1.14", async () => {
  outlookMock();
  const bridge = fakeBridge();
  const r = await capture.captureItem(office, bridge, office.currentItem());
  assert.equal(r.mode, "eml");
  assert.equal(r.outcome, "stored");
  assert.equal(bridge.calls.length, 1);
  const { method, params } = bridge.calls[0];
  assert.equal(method, "capture");
  assert.equal(unb64(params.raw), EML);
  assert.deepEqual(params.source, { account: "me@example.com", folder: "", id: "AAMk-1" });
  assert.equal(params.sent, false);
});

test("capture falls back to the internet headers (1.8) when EML is unavailable", async () => {
  outlookMock({ sets: ["1.1", "1.8"] });
  const bridge = fakeBridge();
  const r = await capture.captureItem(office, bridge, office.currentItem());
  assert.equal(r.mode, "headers");
  const raw = unb64(bridge.calls[0].params.raw);
  assert.match(raw, /^From: Ada Lovelace <ada@analytical\.example>\r\n/);
  assert.match(raw, /Message-ID: <a1@analytical\.example>\r\n\r\n$/);
  assert.doesNotMatch(raw, /Hello/);
});

test("capture falls back to the headers when getAsFileAsync fails", async () => {
  const { mock } = outlookMock();
  mock.context.mailbox.item.getAsFileAsync = (cb) => cb(fail("nope"));
  const bridge = fakeBridge();
  assert.equal((await capture.captureItem(office, bridge, office.currentItem())).mode, "headers");
});

test("with Mailbox 1.1 only, a header block is made from the item's fields", async () => {
  outlookMock({
    sets: ["1.1"],
    item: {
      itemType: "message",
      itemId: "AAMk-2",
      internetMessageId: "<zz@example.org>",
      subject: "Grüße aus Zürich",
      from: { displayName: "Jürg \"J\" Müller", emailAddress: "me@example.com" },
      to: [{ displayName: "Ada", emailAddress: "ada@analytical.example" }],
      cc: [],
      dateTimeCreated: new Date("2025-03-20T16:00:00Z"),
    },
  });
  const bridge = fakeBridge();
  const r = await capture.captureItem(office, bridge, office.currentItem());
  assert.equal(r.mode, "fields");
  const raw = unb64(bridge.calls[0].params.raw);
  assert.match(raw, /^From: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?= <me@example\.com>\r\n/);
  assert.match(raw, /\r\nTo: "Ada" <ada@analytical\.example>\r\n/);
  assert.match(raw, /\r\nSubject: =\?UTF-8\?B\?R3LDvMOfZSBhdXMgWsO8cmljaA==\?=\r\n/);
  assert.match(raw, /\r\nDate: Thu, 20 Mar 2025 16:00:00 \+0000\r\n/);
  assert.match(raw, /\r\nMessage-ID: <zz@example\.org>\r\n/);
  assert.ok(raw.endsWith("\r\n\r\n"));
  assert.equal(bridge.calls[0].params.sent, true, "mail from the user is marked sent");
});

test("a large EML is sent as its header block only", () => {
  const big = EML + "x".repeat(3 * 1024 * 1024);
  const trimmed = capture.trimEml(b64(big));
  assert.equal(unb64(trimmed), EML.split("\r\n\r\n")[0] + "\r\n\r\n");
  assert.equal(capture.trimEml(b64(EML)), b64(EML), "small messages go whole");
  assert.equal(capture.trimEml(""), null);
  const lf = "From: a@b.example\nSubject: x\n\nbody" + "y".repeat(3 * 1024 * 1024);
  assert.equal(unb64(capture.trimEml(b64(lf))), "From: a@b.example\nSubject: x\n\n");
});

test("headers from getAllInternetHeadersAsync are completed with missing fields", () => {
  const h = capture.headersFromInternetHeaders("Subject: hi\n", {
    internetMessageId: "x@y.example",
    from: { name: "", address: "a@b.example" },
    dateTimeCreated: "2025-01-01T00:00:00Z",
  });
  assert.equal(h, "Subject: hi\r\nMessage-ID: <x@y.example>\r\nFrom: <a@b.example>\r\nDate: Wed, 1 Jan 2025 00:00:00 +0000\r\n\r\n");
});

/** A compose item for OnMessageSend. */
function composeItem(calls, opts) {
  const o = opts || {};
  const getter = (v) => ({ getAsync: (cb) => cb(ok(v)) });
  return {
    itemType: "message",
    from: getter({ displayName: "Me", emailAddress: "me@example.com" }),
    to: getter([{ displayName: "Ada", emailAddress: "ada@analytical.example" }]),
    cc: getter([]),
    bcc: getter([{ displayName: "", emailAddress: "archive@example.com" }]),
    subject: getter("Re: Bernoulli numbers"),
    inReplyTo: "<a3@analytical.example>",
    internetHeaders: {
      setAsync: function (headers, cb) {
        calls.headersSet.push(headers);
        if (o.headerFails) cb(fail("read-only"));
        else cb(ok(undefined));
      },
    },
  };
}

test("on send: X-Rapport-Id is stamped and record_sent gets participants, subject and time", async () => {
  const { mock, calls } = outlookMock();
  mock.context.mailbox.item = composeItem(calls);
  const bridge = fakeBridge();
  const r = await capture.recordSend(office, bridge, null, { trackingId: "t1@rapport", now: Date.UTC(2025, 2, 21, 8, 0, 0) });
  assert.deepEqual(r, { trackingId: "t1@rapport", stamped: true, recorded: true });
  assert.deepEqual(calls.headersSet, [{ "X-Rapport-Id": "t1@rapport" }]);
  assert.equal(bridge.calls[0].method, "record_sent");
  const p = bridge.calls[0].params;
  assert.equal(p.tracking_id, "t1@rapport");
  assert.equal(p.from, "me@example.com");
  assert.deepEqual(p.to, ["ada@analytical.example"]);
  assert.deepEqual(p.cc, []);
  assert.deepEqual(p.bcc, ["archive@example.com"]);
  assert.equal(p.subject, "Re: Bernoulli numbers");
  assert.equal(p.date, Date.UTC(2025, 2, 21, 8, 0, 0) / 1000);
  assert.equal(p.in_reply_to, "<a3@analytical.example>");
  assert.match(capture.newTrackingId(), /^[0-9a-f]{32}@rapport$/);
});

test("on send: failures are reported, never thrown", async () => {
  const { mock, calls } = outlookMock();
  mock.context.mailbox.item = composeItem(calls, { headerFails: true });
  const bridge = {
    call: async () => {
      throw new Bridge.BridgeError("unreachable", "cannot reach Rapport");
    },
  };
  const r = await capture.recordSend(office, bridge, null);
  assert.equal(r.stamped, false);
  assert.equal(r.recorded, false);
  assert.match(r.error, /header: .*read-only/);
  assert.match(r.error, /record: unreachable/);
});

test("the send handler always lets the send go on, even with the bridge down", async () => {
  const { mock, calls } = outlookMock();
  mock.context.mailbox.item = composeItem(calls);
  global.OfficeRuntime = { storage: { getItem: async () => "ab".repeat(32), setItem: async () => {} } };
  const realFetch = global.fetch;
  try {
    delete require.cache[require.resolve(path.join(SRC, "commands.js"))];
    require(path.join(SRC, "commands.js"));
    const handler = calls.associated.onMessageSendHandler;
    assert.equal(typeof handler, "function", "registered with Office.actions.associate");

    // 1. Bridge down: fetch rejects.
    global.fetch = async () => {
      throw new TypeError("fetch failed");
    };
    let completed = await runHandler(handler);
    assert.deepEqual(completed, [{ allowEvent: true }]);

    // 2. Bridge hangs: the deadline releases the send.
    global.fetch = () => new Promise(() => {});
    const t0 = Date.now();
    completed = await runHandler(handler);
    assert.deepEqual(completed, [{ allowEvent: true }]);
    assert.ok(Date.now() - t0 < 6000, "released within the deadline");

    // 3. Bridge answers: the record is sent with the stored token.
    const seen = [];
    global.fetch = async (url, init) => {
      seen.push({ url, init });
      return { ok: true, status: 200, json: async () => ({ id: 1, result: { outcome: "stored" } }) };
    };
    completed = await runHandler(handler);
    assert.deepEqual(completed, [{ allowEvent: true }]);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].url, "https://localhost:47815/api/rpc");
    assert.equal(seen[0].init.headers.Authorization, "Bearer " + "ab".repeat(32));
    assert.equal(JSON.parse(seen[0].init.body).method, "record_sent");
  } finally {
    global.fetch = realFetch;
  }
});

function runHandler(handler) {
  return new Promise((resolve) => {
    const completed = [];
    handler({
      completed: (o) => {
        completed.push(o);
        setTimeout(() => resolve(completed), 50);
      },
    });
  });
}

test("backfill captures the selected messages, at most 100, unloading each", async () => {
  const loaded = [];
  let unloaded = 0;
  const selected = Array.from({ length: 105 }, (_, i) => ({ itemId: "id" + i, subject: "s" + i, itemType: "message" }));
  outlookMock({
    extra: {
      getSelectedItemsAsync: (cb) => cb(ok(selected)),
      loadItemByIdAsync: (id, cb) => {
        loaded.push(id);
        cb(
          ok({
            itemType: "message",
            itemId: id,
            internetMessageId: "<" + id + "@x.example>",
            from: { displayName: "A", emailAddress: "a@x.example" },
            to: [],
            cc: [],
            getAsFileAsync: (c) => c(ok(b64("From: a@x.example\r\nMessage-ID: <" + id + "@x.example>\r\n\r\n"))),
            unloadAsync: (c) => {
              unloaded++;
              c(ok(undefined));
            },
          })
        );
      },
    },
  });
  const bridge = fakeBridge((method, params) => ({ outcome: params.source.id === "id3" ? "duplicate" : "stored" }));
  const progress = [];
  const r = await capture.backfillSelected(office, bridge, { onProgress: (d, t) => progress.push([d, t]) });
  assert.equal(r.total, 100);
  assert.equal(r.skipped, 5);
  assert.equal(r.stored, 99);
  assert.equal(r.duplicate, 1);
  assert.equal(loaded.length, 100);
  assert.equal(unloaded, 100);
  assert.deepEqual(progress.at(-1), [100, 100]);
  assert.ok(bridge.calls.every((c) => c.method === "capture"));
});

test("backfill stops at the first connection problem, and needs Mailbox 1.15", async () => {
  outlookMock({
    extra: {
      getSelectedItemsAsync: (cb) => cb(ok([{ itemId: "a" }, { itemId: "b" }])),
      loadItemByIdAsync: (id, cb) => cb(ok({ itemType: "message", itemId: id, getAsFileAsync: (c) => c(ok(b64("From: a@x.example\r\n\r\n"))), unloadAsync: (c) => c(ok()) })),
    },
  });
  const down = { call: async () => Promise.reject(new Bridge.BridgeError("unreachable", "down")) };
  const r = await capture.backfillSelected(office, down);
  assert.equal(r.failed, 1);
  assert.equal(r.error.kind, "unreachable");
  outlookMock({ sets: ["1.1", "1.13"] });
  await assert.rejects(capture.backfillSelected(office, down), /1\.15/);
});

test("the bridge client sends the token and classifies failures", async () => {
  const seen = [];
  let reply = async () => ({ ok: true, status: 200, json: async () => ({ id: 1, result: { n: 1 } }) });
  const fetch = async (url, init) => {
    seen.push({ url, init });
    return reply();
  };
  const c = Bridge.create({ origin: "https://localhost:9/", token: "f".repeat(64), fetch, localNetworkDenied: async () => false });
  assert.deepEqual(await c.call("stats"), { n: 1 });
  assert.equal(seen[0].url, "https://localhost:9/api/rpc");
  assert.equal(seen[0].init.headers.Authorization, "Bearer " + "f".repeat(64));
  assert.equal(seen[0].init.headers["Content-Type"], "application/json");
  assert.deepEqual(JSON.parse(seen[0].init.body), { id: 1, method: "stats", params: {} });

  const kind = async (client) => client.call("stats").then(() => "ok", (e) => e.kind);
  reply = async () => ({ ok: false, status: 401 });
  assert.equal(await kind(c), "unauthorized");
  reply = async () => ({ ok: false, status: 403 });
  assert.equal(await kind(c), "forbidden");
  reply = async () => ({ ok: false, status: 413 });
  assert.equal(await kind(c), "too-large");
  reply = async () => ({ ok: true, status: 200, json: async () => ({ id: 1, error: { code: "NotFound", message: "no such thread" } }) });
  const err = await c.call("thread", {}).catch((e) => e);
  assert.equal(err.kind, "rpc");
  assert.equal(err.code, "NotFound");
  reply = async () => {
    throw new TypeError("Failed to fetch");
  };
  assert.equal(await kind(c), "unreachable");
  const denied = Bridge.create({ origin: "https://localhost:9", token: "f".repeat(64), fetch, localNetworkDenied: async () => true });
  assert.equal(await kind(denied), "permission-denied");
  const noToken = Bridge.create({ origin: "https://localhost:9", fetch });
  assert.equal(await kind(noToken), "unauthorized");
});

test("the local-network permission check reads the Permissions API", async () => {
  const saved = Object.getOwnPropertyDescriptor(global, "navigator");
  try {
    Object.defineProperty(global, "navigator", {
      configurable: true,
      value: { permissions: { query: async ({ name }) => (name === "local-network-access" ? { state: "denied" } : Promise.reject(new TypeError("unknown"))) } },
    });
    assert.equal(await Bridge.localNetworkDenied(), true);
    Object.defineProperty(global, "navigator", { configurable: true, value: { permissions: { query: async () => ({ state: "prompt" }) } } });
    assert.equal(await Bridge.localNetworkDenied(), false);
  } finally {
    if (saved) Object.defineProperty(global, "navigator", saved);
    else delete global.navigator;
  }
});

test("only the adapter touches Office.*", () => {
  const fs = require("node:fs");
  for (const f of ["capture.js", "bridge-client.js", "taskpane.js", "commands.js"]) {
    const code = fs
      .readFileSync(path.join(SRC, f), "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "");
    assert.doesNotMatch(code, /\bOffice\.|\bOfficeRuntime\b|root\.Office\b/, f + " must go through office-adapter.js");
  }
});
