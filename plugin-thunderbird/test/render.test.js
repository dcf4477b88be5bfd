import { test } from "node:test";
import assert from "node:assert/strict";
import { day, renderCard, turn } from "../src/popup/render.js";

// A minimal DOM: enough for renderCard, which only creates elements, sets text and appends.
class Node {
  constructor(tag) {
    this.tag = tag;
    this.children = [];
    this.textContent = "";
    this.className = "";
  }
  append(...nodes) {
    this.children.push(...nodes);
  }
  get text() {
    return [this.textContent, ...this.children.map((c) => c.text)].filter(Boolean).join(" | ");
  }
}
const doc = { createElement: (tag) => new Node(tag) };

test("the card of a contact: history, open threads, the conversation's state", () => {
  const data = {
    address: "bob@e2e.test",
    count: 3,
    card: {
      explanation: { messages_from: 2, messages_to: 1 },
      contact: {
        name: "Bob <script>",
        inbound_count: 2,
        outbound_count: 1,
        first_contact: "2026-11-20T10:00:00Z",
        last_contact: "2026-11-25T10:00:00Z",
        last_inbound: "2026-11-24T10:00:00Z",
        last_outbound: "2026-11-25T10:00:00Z",
        thread_count: 1,
        neglected: false,
        cadence_days: null,
        open_threads: [{ subject: "Budget", waiting_on: "them", age_days: 0 }],
      },
    },
    thread: { message_count: 3, first_date: "2026-11-20T10:00:00Z", last_date: "2026-11-25T10:00:00Z", last_direction: "outbound", waiting_on: "them" },
  };
  const t = renderCard(doc, data).text;
  assert.match(t, /Bob <script>/); // text, never markup
  assert.match(t, /2 from them, 1 to them/);
  assert.match(t, /First contact \| 2026-11-20/);
  assert.match(t, /Budget — waiting on them, 0 d/);
  assert.match(t, /State \| waiting on them/);
});

test("the card of a sender who is not a contact, and of a message not captured yet", () => {
  const t = renderCard(doc, { address: "x@y", count: 1, card: { contact: null, explanation: { messages_from: 1, messages_to: 0, reason: "received only (policy sent-only)" } }, thread: null }).text;
  assert.match(t, /1 from, 0 to/);
  assert.match(t, /received only/);
  assert.match(t, /Not in Rapport yet/);
  assert.match(renderCard(doc, null).text, /No message is displayed/);
  assert.match(renderCard(doc, { address: "" }).text, /no sender address/);
});

test("words", () => {
  assert.equal(day(null), "—");
  assert.equal(day("2026-01-02T03:04:05Z"), "2026-01-02");
  assert.equal(turn("me"), "your turn to reply");
  assert.equal(turn(""), "nobody owes a reply");
});
