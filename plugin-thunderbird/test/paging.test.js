import { test } from "node:test";
import assert from "node:assert/strict";
import { messagesOf, pages } from "../src/lib/paging.js";
import { createMessenger } from "./messenger-double.js";

function withMessages(n, pageSize = 2) {
  const m = createMessenger({ pageSize });
  for (let i = 0; i < n; i++) m.addMessage({ messageId: `m${i}@example.test` });
  return m;
}

test("pages follow continueList until the list id is null", async () => {
  const m = withMessages(5);
  const seen = [];
  for await (const page of pages(m, m.messages.list("account1://Inbox"))) seen.push(page.map((h) => h.headerMessageId));
  assert.deepEqual(seen, [["m0@example.test", "m1@example.test"], ["m2@example.test", "m3@example.test"], ["m4@example.test"]]);
  assert.equal(m.calls.continueList, 2);
  assert.equal(m.calls.abortList, 0);
});

test("a single page needs no continueList; an empty list yields nothing", async () => {
  const m = withMessages(2);
  const ids = [];
  for await (const h of messagesOf(m, m.messages.list("account1://Inbox"))) ids.push(h.headerMessageId);
  assert.equal(ids.length, 2);
  assert.equal(m.calls.continueList, 0);
  const none = [];
  for await (const h of messagesOf(m, m.messages.list("account1://Projects"))) none.push(h);
  assert.deepEqual(none, []);
});

test("stopping early releases the list with abortList", async () => {
  const m = withMessages(6);
  for await (const page of pages(m, m.messages.list("account1://Inbox"))) {
    assert.equal(page.length, 2);
    break;
  }
  assert.equal(m.calls.abortList, 1);
});

test("an error thrown by the consumer also releases the list", async () => {
  const m = withMessages(6);
  await assert.rejects(async () => {
    for await (const h of messagesOf(m, m.messages.list("account1://Inbox"))) {
      if (h.headerMessageId === "m2@example.test") throw new Error("stop");
    }
  }, /stop/);
  assert.equal(m.calls.abortList, 1);
});
