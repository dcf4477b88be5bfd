// Test-only driver for tests/e2e/thunderbird.sh: it does what a user would do by hand, when the
// test mails it an instruction (subject "[e2e] reply to <Message-ID>" or "[e2e] show <Message-ID>").
// It reports on the console (Thunderbird's stdout in the test), one JSON line per action.

const say = (what, data = {}) => console.log(`RAPPORT-E2E ${JSON.stringify({ what, ...data })}`);

async function find(messageId) {
  const list = await messenger.messages.query({ headerMessageId: messageId });
  return list.messages[0] || null;
}

async function act(m) {
  const match = /^\[e2e\] (reply to|show) <([^>]+)>/.exec(m.subject || "");
  if (!match) return;
  const [, verb, target] = match;
  const original = await find(target);
  if (!original) {
    say("error", { verb, target, error: "target message not found" });
    return;
  }
  if (verb === "reply to") {
    const tab = await messenger.compose.beginReply(original.id, "replyToSender", {
      plainTextBody: "Thanks Bob, see you then.\n",
      isPlainText: true,
    });
    const r = await messenger.compose.sendMessage(tab.id, { mode: "sendNow" });
    say("sent", { target, headerMessageId: r.headerMessageId, copies: (r.messages || []).length });
  } else {
    const tab = await messenger.messageDisplay.open({ messageId: original.id, location: "tab" });
    say("shown", { target, tabId: tab.id });
  }
}

messenger.messages.onNewMailReceived.addListener(async (folder, list) => {
  try {
    let page = list;
    for (;;) {
      for (const m of page.messages) await act(m);
      if (!page.id) break;
      page = await messenger.messages.continueList(page.id);
    }
  } catch (e) {
    say("error", { error: String(e) });
  }
}, true);

say("ready");
