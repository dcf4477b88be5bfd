// Rapport's event page. Listeners are registered synchronously at the top level, before anything
// is awaited, so that Thunderbird can wake the page for them (MV3) and no start-up mail is missed.

import { App } from "./lib/app.js";

const app = new App(messenger);

const report = (where) => (e) => console.warn(`rapport: ${where} failed: ${(e && e.message) || e}`);

// monitorAllFolders = true: also mail that filters or junk classification move to special
// folders (Trash, Archives, …) fires the event (Thunderbird 121+).
messenger.messages.onNewMailReceived.addListener(
  (folder, messageList) => app.onNewMail(folder, messageList).catch(report("new mail")),
  true,
);
messenger.compose.onAfterSend.addListener((tab, sendInfo) => app.onAfterSend(tab, sendInfo).catch(report("sent mail")));
messenger.messageDisplay.onMessagesDisplayed.addListener((tab, displayed) =>
  app.onDisplayed(tab, displayed).catch(report("message display")),
);
messenger.alarms.onAlarm.addListener((alarm) => app.onAlarm(alarm).catch(report("alarm")));
messenger.runtime.onMessage.addListener((msg) => app.onMessage(msg));
// An MV3 event page is not loaded when Thunderbird starts unless an event needs it. These two
// wake it at start-up and after an install or update, so that the queue left by the last
// session and the start-up reconciliation run before any mail arrives. (Loading this module
// runs app.start() below; the listeners themselves have nothing more to do.)
messenger.runtime.onStartup.addListener(() => {});
messenger.runtime.onInstalled.addListener(() => {});

app.start().catch(report("start-up"));
