// The durable queue of captures not yet acknowledged by the host. One storage.local entry per
// message ("q:<key>"), written before the first attempt and removed only after the host has
// confirmed the commit, so a capture survives a host crash, a port disconnect and a Thunderbird
// restart. Thunderbird's message ids only live for one session, so an item also keeps the
// Message-ID header and the folder to find the message again.

import { backoffMs } from "./util.js";

const PREFIX = "q:";
const FAILURES = "failures";
const MAX_FAILURES = 50;

export class CaptureQueue {
  /**
   * @param {object} o
   * @param {object} o.storage storage.local (get/set/remove)
   * @param {() => number} [o.now]
   */
  constructor({ storage, now = Date.now }) {
    this.storage = storage;
    this.now = now;
    this.items = new Map();
    this.loaded = false;
    this.failureLog = Promise.resolve(); // serialises updates of the failure list
  }

  /** Reads the queue left by an earlier session. Safe to call more than once. */
  async load() {
    if (this.loaded) return this.items.size;
    const all = await this.storage.get(null);
    for (const [k, v] of Object.entries(all || {})) {
      if (k.startsWith(PREFIX) && v && v.key && !this.items.has(v.key)) this.items.set(v.key, v);
    }
    this.loaded = true;
    return this.items.size;
  }

  get size() {
    return this.items.size;
  }

  has(key) {
    return this.items.has(key);
  }

  /**
   * Adds captures to do. Items already queued keep their state (a live event and a
   * reconciliation can report the same message). Returns how many were new.
   * @param {Array<{key: string, headerMessageId: string, tbId?: number, folder?: object, sent?: boolean, reason?: string}>} list
   */
  async add(list) {
    const fresh = {};
    const now = this.now();
    for (const it of list) {
      if (!it || !it.key || this.items.has(it.key) || fresh[PREFIX + it.key]) continue;
      const item = {
        key: it.key,
        headerMessageId: it.headerMessageId || "",
        tbId: it.tbId ?? null,
        folder: it.folder || null,
        sent: !!it.sent,
        reason: it.reason || "new",
        added: now,
        attempts: 0,
        nextAt: now,
        lastError: null,
      };
      fresh[PREFIX + it.key] = item;
    }
    const n = Object.keys(fresh).length;
    if (!n) return 0;
    await this.storage.set(fresh);
    for (const item of Object.values(fresh)) this.items.set(item.key, item);
    return n;
  }

  /** Items due for an attempt, oldest first. */
  due(now = this.now()) {
    return [...this.items.values()].filter((i) => i.nextAt <= now).sort((a, b) => a.added - b.added || (a.key < b.key ? -1 : 1));
  }

  /** When the next item becomes due (ms since the epoch), or null when the queue is empty. */
  nextDueAt() {
    let min = null;
    for (const i of this.items.values()) if (min === null || i.nextAt < min) min = i.nextAt;
    return min;
  }

  /** The host committed this capture: forget it. */
  async ack(key) {
    if (!this.items.has(key)) return;
    await this.storage.remove(PREFIX + key);
    this.items.delete(key);
  }

  /** A transient failure: try again later, with exponential backoff. */
  async retryLater(key, error) {
    const item = this.items.get(key);
    if (!item) return;
    const next = {
      ...item,
      attempts: item.attempts + 1,
      lastError: String(error || "").slice(0, 300),
    };
    next.nextAt = this.now() + backoffMs(next.attempts);
    await this.storage.set({ [PREFIX + key]: next });
    this.items.set(key, next);
  }

  /** Makes every waiting item due now (after the host came back). */
  async wakeAll() {
    const now = this.now();
    const changed = {};
    for (const item of this.items.values()) {
      if (item.nextAt > now) {
        item.nextAt = now;
        changed[PREFIX + item.key] = item;
      }
    }
    if (Object.keys(changed).length) await this.storage.set(changed);
  }

  /**
   * A permanent failure (the host refused the message, or it no longer exists): drop the item
   * and keep a short record for the options page.
   */
  async drop(key, reason) {
    const item = this.items.get(key);
    if (!item) return;
    this.items.delete(key);
    const record = { at: this.now(), reason: String(reason || "").slice(0, 300), folder: item.folder ? item.folder.path : "", kind: item.reason };
    this.failureLog = this.failureLog.catch(() => {}).then(async () => {
      const got = await this.storage.get(FAILURES);
      const failures = (got && got[FAILURES]) || [];
      failures.push(record);
      await this.storage.set({ [FAILURES]: failures.slice(-MAX_FAILURES) });
    });
    await this.failureLog;
    await this.storage.remove(PREFIX + key);
  }

  async failures() {
    const got = await this.storage.get(FAILURES);
    return (got && got[FAILURES]) || [];
  }
}
