import { test } from "node:test";
import assert from "node:assert/strict";
import { addressOf, captureKey, headerPart, oneAtATime, toBase64, wantedFolder } from "../src/lib/util.js";
import { describeBackfill, describeHost } from "../src/options/describe.js";
import { crc32, zip } from "../scripts/build.mjs";

test("base64 of bytes, including large buffers and bytes ≥ 0x80", () => {
  const bytes = new Uint8Array(200000).map((_, i) => i % 256);
  assert.equal(toBase64(bytes), Buffer.from(bytes).toString("base64"));
  assert.equal(toBase64(new Uint8Array([0xc3, 0xa9]).buffer), "w6k=");
});

test("the header block ends at the first blank line (LF or CRLF)", () => {
  const dec = (b) => Buffer.from(b).toString();
  assert.equal(dec(headerPart(Buffer.from("A: 1\nB: 2\n\nbody\n\nmore"))), "A: 1\nB: 2\n\n");
  assert.equal(dec(headerPart(Buffer.from("A: 1\r\nB: 2\r\n\r\nbody"))), "A: 1\r\nB: 2\r\n\r\n");
  assert.equal(dec(headerPart(Buffer.from("A: 1"))), "A: 1");
});

test("addresses from Thunderbird's author strings", () => {
  assert.equal(addressOf("Bob Example <Bob@Example.TEST>"), "bob@example.test");
  assert.equal(addressOf("bob@example.test"), "bob@example.test");
  assert.equal(addressOf('"Doe, J" <j@x.org>'), "j@x.org");
  assert.equal(addressOf("undisclosed-recipients:;"), "");
  assert.equal(addressOf(""), "");
  assert.equal(addressOf(undefined), "");
});

test("folder choice", () => {
  assert.equal(wantedFolder({ path: "/Inbox", specialUse: ["inbox"] }), true);
  assert.equal(wantedFolder({ path: "/Trash", specialUse: ["trash"] }), true);
  assert.equal(wantedFolder({ path: "/", specialUse: [] }), false);
  assert.equal(wantedFolder({ path: "/Drafts", specialUse: ["drafts"] }), false);
  assert.equal(wantedFolder({ path: "/Unsent Messages", specialUse: ["outbox"] }), false);
  assert.equal(wantedFolder({ path: "/Junk", specialUse: ["junk"] }), false);
  assert.equal(wantedFolder({ path: "/Junk", specialUse: ["junk"] }, { includeJunk: true }), true);
  assert.equal(wantedFolder({ path: "/Unified", isVirtual: true }), false);
  assert.equal(captureKey({ accountId: "a1", path: "/Inbox" }, "m@x"), "a1:/Inbox|m@x");
});

test("oneAtATime: calls during a run share it; the next call after it starts a new one", async () => {
  let runs = 0;
  let finish;
  const run = oneAtATime(() => {
    runs++;
    return new Promise((resolve) => (finish = resolve));
  });
  const first = run();
  assert.equal(run(), first, "a call during the run gets the same promise");
  finish("done");
  assert.equal(await first, "done");
  assert.equal(runs, 1);
  const failing = oneAtATime(async () => {
    runs++;
    throw new Error("boom");
  });
  await assert.rejects(failing(), /boom/);
  await assert.rejects(failing(), /boom/, "a failed run does not block the next");
  assert.equal(runs, 3);
  run();
  assert.equal(runs, 4, "a finished run is not reused");
});

test("options page wording", () => {
  assert.deepEqual(describeBackfill(null), { text: "Existing mail: not scanned yet.", fraction: null });
  const running = describeBackfill({ status: "running", folders: [{ done: true }, { done: false }], checked: 5, total: 10, queued: 2 });
  assert.equal(running.fraction, 0.5);
  assert.match(running.text, /1 of 2 folder\(s\), 5 of 10/);
  assert.equal(describeBackfill({ status: "done", folders: [{ done: true }], checked: 3, total: 3, queued: 3 }).fraction, 1);
  assert.equal(describeHost({ hostError: "No such native application rapport" }).ok, false);
  assert.equal(describeHost({ host: { version: "0.1.0", protocol: 1, database: "/d", stats: { messages: 2 } } }).ok, true);
});

test("the build's zip writer: CRC-32 and a readable archive", () => {
  assert.equal(crc32(Buffer.from("123456789")), 0xcbf43926);
  const z = zip([["a.txt", Buffer.from("hello hello hello hello")], ["b/c.txt", Buffer.from("x")]]);
  assert.equal(z.readUInt32LE(0), 0x04034b50);
  assert.equal(z.readUInt32LE(z.length - 22), 0x06054b50);
  assert.equal(z.readUInt16LE(z.length - 12), 2);
});
