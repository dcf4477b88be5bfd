// The extension's background logic, wired to one `messenger` object so that it runs unchanged in
// Thunderbird and, with a test double, under Node. background.js only registers the listeners.

import { Capturer } from "./capture.js";
import { HostClient } from "./host.js";
import { CaptureQueue } from "./queue.js";
import { Backfill, reconcile } from "./reconcile.js";
import { messagesOf } from "./paging.js";
import { HOST_NAME, addressOf, captureKey, isSentFolder, oneAtATime, wantedFolder } from "./util.js";

export const RECONCILE_ALARM = "rapport-reconcile";
export const RETRY_ALARM = "rapport-retry";
/** Minutes between reconciliation passes. */
export const RECONCILE_MINUTES = 5;
/** How far back the first reconciliation looks (older mail is the backfill's job). */
const FIRST_WINDOW_MS = 30 * 24 * 3600 * 1000;
/** Overlap with the previous pass: mail can arrive with a Date header in the past. */
const MARGIN_MS = 3 * 24 * 3600 * 1000;

const SETTINGS = "settings";
const RECONCILE = "reconcile";
const FIRST_RUN = "firstRunAt";
export const DEFAULT_SETTINGS = { syncIdentities: true, includeJunk: false };

/** The total number of messages exchanged with a sender, from a `card` reply. */
export function messageCount(card) {
  if (!card) return 0;
  const c = card.contact;
  if (c) return (c.inbound_count || 0) + (c.outbound_count || 0);
  const e = card.explanation || {};
  return (e.messages_from || 0) + (e.messages_to || 0);
}

function displayedList(displayed) {
  if (Array.isArray(displayed)) return displayed; // MV2 shape
  return (displayed && displayed.messages) || []; // MV3 MessageList
}

export class App {
  /**
   * @param {object} messenger the `messenger` global (or a test double)
   * @param {object} [o]
   * @param {() => number} [o.now]
   * @param {(fn: Function, ms: number) => any} [o.setTimer]
   * @param {(t: any) => void} [o.clearTimer]
   * @param {{info: Function, warn: Function}} [o.log]
   */
  constructor(
    messenger,
    {
      now = () => Date.now(),
      // Wrapped: Gecko's timer functions must be called with the window as `this`.
      setTimer = (fn, ms) => setTimeout(fn, ms),
      clearTimer = (t) => clearTimeout(t),
      log = console,
    } = {},
  ) {
    Object.assign(this, { m: messenger, now, setTimer, clearTimer, log });
    this.storage = messenger.storage.local;
    this.settings = { ...DEFAULT_SETTINGS };
    this.host = new HostClient({ connect: () => messenger.runtime.connectNative(HOST_NAME), setTimer, clearTimer, now });
    this.queue = new CaptureQueue({ storage: this.storage, now });
    this.capturer = new Capturer({
      messenger,
      host: this.host,
      queue: this.queue,
      storage: this.storage,
      schedule: (ms) => this.scheduleRetry(ms),
    });
    this.backfill = new Backfill({
      messenger,
      host: this.host,
      queue: this.queue,
      storage: this.storage,
      drain: () => this.capturer.drain(),
      aliases: () => this.capturer.aliases,
      includeJunk: () => this.settings.includeJunk,
      now,
    });
    this.hello = null;
    this.retryTimer = null;
    /** One reconciliation pass; concurrent calls share it. */
    this.reconcileNow = oneAtATime(() => this.reconcileOnce());
    this.badges = new Map(); // tab id → last card shown
    let wasConnected = false;
    this.host.onStatus((s) => {
      if (s.connected) {
        wasConnected = true;
        return;
      }
      this.hello = null;
      if (wasConnected) {
        wasConnected = false;
        this.log.warn(`rapport: the native host went away (${s.lastError}); unacknowledged captures are retried`);
      }
    });
    // Everything below waits for this: the queue left by an earlier session must be loaded
    // before new items are added to it.
    this.ready = this.load();
  }

  async load() {
    const got = await this.storage.get([SETTINGS]);
    this.settings = { ...DEFAULT_SETTINGS, ...((got && got[SETTINGS]) || {}) };
    await this.queue.load();
    await this.capturer.loadAliases();
  }

  /** Start-up: connect, leftovers from the last session, reconciliation, then the backfill. */
  async start() {
    await this.ready;
    await this.firstRun();
    if (this.m.alarms) {
      this.m.alarms.create(RECONCILE_ALARM, { periodInMinutes: RECONCILE_MINUTES, delayInMinutes: RECONCILE_MINUTES });
    }
    const left = this.queue.size;
    await this.connect();
    if (left) this.log.info(`rapport: ${left} capture(s) left from the last session`);
    // A new session: the backoff of the last one says nothing about the host now.
    await this.queue.wakeAll();
    await this.capturer.drain();
    await this.reconcileNow();
    await this.runBackfill();
  }

  /** Runs (or resumes) the backfill and says how it went on the console (counts only). */
  async runBackfill() {
    const before = await this.backfill.state();
    const s = await this.backfill.run();
    if (s.status === "done" && before.status === "done" && s.updatedAt === before.updatedAt) return s; // nothing new
    const folders = (s.folders || []).length;
    if (s.status === "done") {
      this.log.info(`rapport: backfill done: ${folders} folder(s), ${s.checked} message(s) checked, ${s.queued} added`);
    } else {
      this.log.warn(`rapport: backfill ${s.status} after ${s.checked} message(s): ${s.error}`);
    }
    return s;
  }

  /**
   * The first time the extension runs in a profile (however it was installed), show the options
   * page: whether the host is reachable, or how to install it, and the scan of existing mail.
   */
  async firstRun() {
    const got = await this.storage.get(FIRST_RUN);
    if (got && got[FIRST_RUN]) return false;
    await this.storage.set({ [FIRST_RUN]: this.now() });
    try {
      await this.m.runtime.openOptionsPage();
    } catch (e) {
      this.log.warn(`rapport: could not open the options page: ${(e && e.message) || e}`);
    }
    return true;
  }

  /** `hello`, then the user's Thunderbird identities (they decide which mail is outbound). */
  async connect() {
    try {
      this.hello = await this.host.call("hello", { client: "thunderbird" });
    } catch (e) {
      this.log.warn(`rapport: the native host is not reachable: ${(e && e.message) || e}`);
      return false;
    }
    if (this.settings.syncIdentities) {
      try {
        await this.syncIdentities();
      } catch (e) {
        this.log.warn(`rapport: could not sync identities: ${(e && e.message) || e}`);
      }
    }
    return true;
  }

  /** Every identity configured in Thunderbird, lower-cased. */
  async thunderbirdIdentities() {
    const accounts = await this.m.accounts.list(false);
    const out = new Set();
    for (const a of accounts) for (const i of a.identities || []) if (i.email) out.add(i.email.toLowerCase());
    return [...out].sort();
  }

  async syncIdentities() {
    const mine = await this.thunderbirdIdentities();
    const known = await this.host.call("identities", {});
    const confirmed = new Set((known || []).filter((i) => i.confirmed).map((i) => String(i.email).toLowerCase()));
    let added = 0;
    for (const address of mine) {
      if (confirmed.has(address)) continue;
      await this.host.call("add_identity", { address });
      added += 1;
    }
    if (added) this.log.info(`rapport: added ${added} identity(ies) from Thunderbird`);
    return added;
  }

  scheduleRetry(ms) {
    if (this.retryTimer) this.clearTimer(this.retryTimer);
    this.retryTimer = this.setTimer(() => {
      this.retryTimer = null;
      this.capturer.drain().catch((e) => this.log.warn(`rapport: retry failed: ${e}`));
    }, Math.max(ms, 250));
    // A suspended event page loses its timers; the alarm wakes it up again.
    if (this.m.alarms) this.m.alarms.create(RETRY_ALARM, { delayInMinutes: Math.max(1, Math.ceil(ms / 60000)) });
  }

  /** Queues captures for headers of `folder` (a live event's list) and drains the queue. */
  async enqueue(headers, folder, { sent = false, reason }) {
    await this.ready;
    const items = [];
    for (const h of headers) {
      const f = h.folder || folder || null;
      if (!h.headerMessageId || !wantedFolder(f, { includeJunk: this.settings.includeJunk })) continue;
      items.push({
        key: captureKey(f, h.headerMessageId),
        headerMessageId: h.headerMessageId,
        tbId: h.id,
        folder: f ? { accountId: f.accountId, path: f.path, id: f.id, specialUse: f.specialUse || [] } : null,
        sent: sent || isSentFolder(f),
        reason,
      });
    }
    const n = await this.queue.add(items);
    if (n) await this.capturer.drain();
    return n;
  }

  /** messages.onNewMailReceived(folder, messageList) with monitorAllFolders. */
  async onNewMail(folder, messageList) {
    const headers = [];
    for await (const h of messagesOf(this.m, messageList)) headers.push(h);
    return this.enqueue(headers, folder, { reason: "new" });
  }

  /** compose.onAfterSend(tab, sendInfo): capture the Sent copies. */
  async onAfterSend(_tab, sendInfo) {
    if (!sendInfo || sendInfo.error) return 0;
    const copies = sendInfo.messages || [];
    if (!copies.length) {
      // No copy kept (no Sent folder or send later): reconciliation finds the copy if it appears.
      return 0;
    }
    return this.enqueue(copies, null, { sent: true, reason: "sent" });
  }

  async onAlarm(alarm) {
    await this.ready;
    if (alarm.name === RETRY_ALARM) {
      await this.queue.wakeAll();
      return this.capturer.drain();
    }
    if (alarm.name === RECONCILE_ALARM) {
      await this.capturer.drain();
      await this.reconcileNow();
      return this.runBackfill();
    }
    return undefined;
  }

  async reconcileOnce() {
    await this.ready;
    const got = await this.storage.get(RECONCILE);
    const state = (got && got[RECONCILE]) || { lastCompleteAt: null };
    const started = this.now();
    const since = state.lastCompleteAt ? state.lastCompleteAt - MARGIN_MS : started - FIRST_WINDOW_MS;
    try {
      if (!this.hello) await this.connect();
      const r = await reconcile({
        messenger: this.m,
        host: this.host,
        queue: this.queue,
        aliases: this.capturer.aliases,
        since,
        includeJunk: this.settings.includeJunk,
        drain: () => this.capturer.drain(),
      });
      const next = { lastCompleteAt: started, lastResult: { ...r, at: this.now() }, lastError: null };
      await this.storage.set({ [RECONCILE]: next });
      if (r.queued) this.log.info(`rapport: reconciliation queued ${r.queued} of ${r.checked} message(s)`);
      return r;
    } catch (e) {
      const next = { ...state, lastError: String((e && e.message) || e), lastErrorAt: this.now() };
      await this.storage.set({ [RECONCILE]: next });
      this.log.warn(`rapport: reconciliation failed: ${next.lastError}`);
      return null;
    }
  }

  /** messageDisplay.onMessagesDisplayed: badge with the number of messages with the sender. */
  async onDisplayed(tab, displayed) {
    const list = displayedList(displayed);
    const header = list[0];
    if (!header || !tab) return null;
    let card = null;
    try {
      card = await this.cardFor(header);
    } catch (e) {
      await this.m.messageDisplayAction.setBadgeText({ tabId: tab.id, text: "" });
      await this.m.messageDisplayAction.setTitle({ tabId: tab.id, title: `Rapport is not reachable: ${(e && e.message) || e}` });
      this.log.info(`rapport: no badge on tab ${tab.id}: ${(e && e.message) || e}`);
      return null;
    }
    this.badges.set(tab.id, card);
    const text = card.address ? String(card.count) : "";
    await this.m.messageDisplayAction.setBadgeText({ tabId: tab.id, text });
    await this.m.messageDisplayAction.setTitle({ tabId: tab.id, title: card.address ? `Rapport: ${card.count} message(s) with this sender` : "Rapport" });
    this.log.info(`rapport: badge ${text || "(none)"} on tab ${tab.id}`);
    return card;
  }

  /**
   * A call for the UI: a transient failure (the host restarting after a crash) is retried a
   * few times, so that a card does not stay empty because of one lost port.
   */
  async callForUi(method, params, attempts = 3) {
    for (let i = 1; ; i++) {
      try {
        return await this.host.call(method, params, { timeoutMs: 15_000 });
      } catch (e) {
        if (!e.transient || i >= attempts) throw e;
        await new Promise((resolve) => this.setTimer(resolve, 300 * i));
      }
    }
  }

  /** Everything the popup shows for one displayed message. */
  async cardFor(header) {
    const address = addressOf(header.author);
    if (!address) return { address: "", count: 0, card: null, thread: null };
    const card = await this.callForUi("card", { address });
    let thread = null;
    if (header.headerMessageId) {
      try {
        thread = await this.callForUi("thread", { message_id: header.headerMessageId });
      } catch (e) {
        if (e.transient) throw e;
        thread = null; // not captured (yet)
      }
    }
    return { address, author: header.author, subject: header.subject, count: messageCount(card), card, thread };
  }

  async status() {
    await this.ready;
    let host = null;
    let hostError = null;
    try {
      host = await this.host.call("status", {}, { timeoutMs: 10_000 });
    } catch (e) {
      hostError = String((e && e.message) || e);
    }
    const got = await this.storage.get(["backfill", RECONCILE]);
    return {
      connection: { ...this.host.status },
      hello: this.hello,
      host,
      hostError,
      identities: await this.thunderbirdIdentities().catch(() => []),
      queue: { size: this.queue.size, failures: await this.queue.failures() },
      capture: { ...this.capturer.stats },
      backfill: got.backfill || null,
      reconcile: got[RECONCILE] || null,
      settings: this.settings,
    };
  }

  /** runtime.onMessage: one dispatcher on `command`; false for anything else. */
  onMessage(msg) {
    if (!msg || typeof msg.command !== "string") return false;
    switch (msg.command) {
      case "status":
        return this.status();
      case "card-for-tab":
        return this.cardForTab(msg.tabId);
      case "reconcile-now":
        return this.ready.then(() => this.capturer.drain()).then(() => this.reconcileNow());
      case "rescan":
        return this.backfill.reset().then(() => {
          this.backfill.run();
          return true;
        });
      case "set-settings":
        return this.saveSettings(msg.settings || {});
      default:
        return false;
    }
  }

  async saveSettings(changes) {
    await this.ready;
    const next = { ...this.settings };
    for (const k of Object.keys(DEFAULT_SETTINGS)) if (k in changes) next[k] = !!changes[k];
    this.settings = next;
    await this.storage.set({ [SETTINGS]: next });
    if (next.syncIdentities) await this.syncIdentities().catch(() => 0);
    return next;
  }

  async cardForTab(tabId) {
    const displayed = await this.m.messageDisplay.getDisplayedMessages(tabId);
    const header = displayedList(displayed)[0];
    if (!header) return null;
    return this.cardFor(header);
  }
}
