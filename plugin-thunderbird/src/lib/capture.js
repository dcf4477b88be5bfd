// Works the capture queue: finds each queued message, reads its raw source with
// messages.getRaw(id, {data_format: "File"}), sends it to the host's `capture` method and removes
// it from the queue only after the host's reply (sent after the database commit).

import { HostError } from "./host.js";
import { headerPart, isSentFolder, toBase64 } from "./util.js";

/** Messages larger than this are sent as their header block only (Rapport keeps headers only). */
export const MAX_FULL_BYTES = 32 * 1024 * 1024;

/** Message-IDs whose stored key differs (e.g. Thunderbird invented one): remembered so that
 * reconciliation does not send them again. */
const ALIASES = "aliases";
const MAX_ALIASES = 5000;

export class Capturer {
  /**
   * @param {object} o
   * @param {object} o.messenger the messenger API (messages.get/getRaw/query)
   * @param {import("./host.js").HostClient} o.host
   * @param {import("./queue.js").CaptureQueue} o.queue
   * @param {object} o.storage storage.local, for the alias list
   * @param {(ms: number) => void} [o.schedule] asks for a later drain (timer or alarm)
   */
  constructor({ messenger, host, queue, storage, schedule = () => {}, concurrency = 4 }) {
    Object.assign(this, { messenger, host, queue, storage, schedule, concurrency: Math.max(1, concurrency) });
    this.running = null;
    this.again = false;
    this.aliases = null;
    this.stats = { captured: 0, duplicates: 0, dropped: 0, retries: 0, lastCaptureAt: null, lastError: null };
  }

  async loadAliases() {
    if (this.aliases) return this.aliases;
    const got = await this.storage.get(ALIASES);
    this.aliases = new Set((got && got[ALIASES]) || []);
    return this.aliases;
  }

  async remember(alias) {
    const set = await this.loadAliases();
    if (set.has(alias)) return;
    set.add(alias);
    const list = [...set].slice(-MAX_ALIASES);
    this.aliases = new Set(list);
    await this.storage.set({ [ALIASES]: list });
  }

  /**
   * Sends every due item. Only one drain runs at a time; a call during a drain makes it loop once
   * more. Resolves when the queue holds nothing due (or the host is unreachable).
   */
  drain() {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.drainOnce();
        } while (this.again);
      } finally {
        this.running = null;
        const next = this.queue.nextDueAt();
        if (next !== null) this.schedule(Math.max(0, next - Date.now()));
      }
    })();
    return this.running;
  }

  /** Sends the due items with a few captures in flight, so reading the next message overlaps
   * with the host committing the previous one. Stops at the first sign the host is down:
   * everything else would fail the same way. */
  async drainOnce() {
    const items = this.queue.due();
    let next = 0;
    let down = false;
    const worker = async () => {
      while (!down && next < items.length) {
        const item = items[next++];
        if (!this.queue.has(item.key)) continue;
        if ((await this.attempt(item)) === "host-down") down = true;
      }
    };
    const n = Math.min(this.concurrency, items.length);
    await Promise.all(Array.from({ length: n }, worker));
  }

  /** Finds the message an item refers to, by Thunderbird id first, then by Message-ID. */
  async resolve(item) {
    const m = this.messenger.messages;
    if (item.tbId !== null && item.tbId !== undefined) {
      try {
        const h = await m.get(item.tbId);
        if (h && h.headerMessageId === item.headerMessageId) return h;
      } catch {
        // the id belongs to an earlier session
      }
    }
    if (!item.headerMessageId) return null;
    const list = await m.query({ headerMessageId: item.headerMessageId });
    const found = (list && list.messages) || [];
    if (list && list.id && m.abortList) {
      try {
        await m.abortList(list.id);
      } catch {
        // nothing to release
      }
    }
    if (!found.length) return null;
    const samePlace = found.find(
      (h) => item.folder && h.folder && h.folder.accountId === item.folder.accountId && h.folder.path === item.folder.path,
    );
    return samePlace || found[0];
  }

  /** One attempt at one item: "ok", "dropped", "retry" or "host-down". */
  async attempt(item) {
    let header;
    let raw;
    try {
      header = await this.resolve(item);
      if (!header) {
        await this.queue.drop(item.key, "the message no longer exists in Thunderbird");
        this.stats.dropped += 1;
        return "dropped";
      }
      const file = await this.messenger.messages.getRaw(header.id, { data_format: "File" });
      raw = await file.arrayBuffer();
    } catch (e) {
      // Reading failed (e.g. an IMAP message not held offline while offline): try again later.
      await this.queue.retryLater(item.key, `reading the message failed: ${(e && e.message) || e}`);
      this.stats.retries += 1;
      return "retry";
    }
    const bytes = raw.byteLength > MAX_FULL_BYTES ? headerPart(raw) : new Uint8Array(raw);
    const folder = header.folder || item.folder || null;
    const params = {
      raw: toBase64(bytes),
      source: {
        account: (folder && folder.accountId) || "",
        folder: (folder && folder.path) || "",
        id: item.headerMessageId || String(header.id),
      },
      sent: item.sent || isSentFolder(folder),
    };
    try {
      const result = await this.host.call("capture", params);
      await this.queue.ack(item.key);
      this.stats.captured += 1;
      if (result && result.outcome === "duplicate") this.stats.duplicates += 1;
      this.stats.lastCaptureAt = Date.now();
      if (result && result.message_id && item.headerMessageId && result.message_id !== item.headerMessageId) {
        await this.remember(item.headerMessageId);
      }
      return "ok";
    } catch (e) {
      const err = e instanceof HostError ? e : new HostError("Error", String((e && e.message) || e), true);
      this.stats.lastError = `${err.code}: ${err.message}`;
      if (!err.transient) {
        await this.queue.drop(item.key, `${err.code}: ${err.message}`);
        this.stats.dropped += 1;
        return "dropped";
      }
      await this.queue.retryLater(item.key, `${err.code}: ${err.message}`);
      this.stats.retries += 1;
      return "host-down";
    }
  }
}
