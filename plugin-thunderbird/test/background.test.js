import { test } from "node:test";
import assert from "node:assert/strict";
import { createMessenger, until } from "./messenger-double.js";

test("background.js registers every listener at load, new mail for all folders", async () => {
  const m = createMessenger();
  m.addMessage({ messageId: "early@x", date: new Date().toISOString() });
  globalThis.messenger = m;
  const logs = [];
  const origInfo = console.info;
  console.info = (s) => logs.push(s);
  try {
    await import("../src/background.js");
    const [newMail] = m.messages.onNewMailReceived.listeners;
    assert.ok(newMail, "onNewMailReceived listener");
    assert.deepEqual(newMail.extra, [true], "monitorAllFolders");
    for (const ev of [m.compose.onAfterSend, m.messageDisplay.onMessagesDisplayed, m.alarms.onAlarm, m.runtime.onMessage, m.runtime.onStartup, m.runtime.onInstalled]) {
      assert.equal(ev.listeners.length, 1);
    }
    // Loading the page starts the app: the message already in Thunderbird is reconciled.
    await until(() => m.host.stored.has("early@x"));
    // A live event goes through the registered listener.
    const h = m.addMessage({ messageId: "live@x" });
    await newMail.fn(h.folder, m.messageList([h]));
    await until(() => m.host.stored.has("live@x"));
  } finally {
    console.info = origInfo;
    delete globalThis.messenger;
  }
});
