/*
 * Rapport for Outlook: the OnMessageSend handler (manifest: LaunchEvent, SendMode="PromptUser").
 *
 * It stamps X-Rapport-Id and records the message with the bridge, and then ALWAYS lets the
 * send go on: errors, a stopped bridge or a slow answer never stop or hold a send (a deadline
 * releases it after SEND_DEADLINE_MS whatever is still pending).
 *
 * Served by the bridge as one bundle after office-adapter.js, bridge-client.js and capture.js
 * (classic Outlook on Windows cannot import modules in its event runtime).
 */
(function (root) {
  "use strict";
  const SEND_DEADLINE_MS = 4000;
  const office = root.RapportOffice;
  const capture = root.RapportCapture;
  const Bridge = root.RapportBridge;

  /** The token the task pane stored when it was paired. */
  async function token() {
    const stored = await office.storageGet(Bridge.TOKEN_KEY);
    if (stored) return stored;
    try {
      return (root.localStorage && root.localStorage.getItem(Bridge.TOKEN_KEY)) || "";
    } catch (e) {
      return "";
    }
  }

  function onMessageSendHandler(event) {
    let released = false;
    const release = function () {
      if (released) return;
      released = true;
      try {
        office.allowSend(event);
      } catch (e) {
        /* nothing else can be done; Outlook sends on its own timeout with PromptUser */
      }
    };
    const deadline = setTimeout(release, SEND_DEADLINE_MS);
    (async function () {
      try {
        const bridge = Bridge.create({ token: await token(), timeoutMs: SEND_DEADLINE_MS - 500 });
        // null: the adapter uses the message being sent.
        await capture.recordSend(office, bridge, null);
      } catch (e) {
        /* recordSend does not throw; this guards the token lookup */
      } finally {
        clearTimeout(deadline);
        release();
      }
    })();
  }

  root.onMessageSendHandler = onMessageSendHandler;
  office.associate("onMessageSendHandler", onMessageSendHandler);
})(typeof globalThis !== "undefined" ? globalThis : this);
