// Reconciliation and backfill: page through Thunderbird's messages, ask the host which
// Message-IDs it lacks (`have`), and queue only those. This covers what the new-mail event never
// reports: a second message with an already reported Message-ID, mail not flagged New, mail that
// arrived while the extension was not running, and (backfill) everything from before the install.

import { pages } from "./paging.js";
import { captureKey, chunks, isSentFolder, oneAtATime, wantedFolder } from "./util.js";

/** Most ids per `have` request (the host accepts up to 5000). */
export const HAVE_BATCH = 500;

/**
 * Turns one page of MessageHeaders into queue items for the messages the host lacks.
 * @returns {Promise<{checked: number, items: object[]}>}
 */
export async function missingFrom(page, { host, aliases, folder: listFolder, reason, includeJunk, seen }) {
  const candidates = [];
  for (const m of page) {
    const folder = m.folder || listFolder || null;
    if (!m.headerMessageId || !wantedFolder(folder, { includeJunk })) continue;
    if (seen) {
      if (seen.has(m.headerMessageId)) continue;
      seen.add(m.headerMessageId);
    }
    candidates.push({ m, folder });
  }
  const items = [];
  for (const group of chunks(candidates, HAVE_BATCH)) {
    const ids = [...new Set(group.map((c) => c.m.headerMessageId))];
    const reply = await host.call("have", { message_ids: ids });
    const missing = new Set((reply && reply.missing) || []);
    for (const { m, folder } of group) {
      if (!missing.has(m.headerMessageId)) continue;
      if (aliases && aliases.has(m.headerMessageId)) continue;
      missing.delete(m.headerMessageId); // one capture per Message-ID and pass
      items.push({
        key: captureKey(folder, m.headerMessageId),
        headerMessageId: m.headerMessageId,
        tbId: m.id,
        folder: folder ? { accountId: folder.accountId, path: folder.path, id: folder.id, specialUse: folder.specialUse || [] } : null,
        sent: isSentFolder(folder),
        reason,
      });
    }
  }
  return { checked: candidates.length, items };
}

/**
 * Checks every message dated since `since` (all accounts and folders) and queues the missing.
 * @param {object} o
 * @param {object} o.messenger
 * @param {import("./host.js").HostClient} o.host
 * @param {import("./queue.js").CaptureQueue} o.queue
 * @param {Set<string>} [o.aliases]
 * @param {number} o.since ms since the epoch
 * @param {() => Promise<any>} [o.drain] called after each page that queued something
 * @param {boolean} [o.includeJunk]
 */
export async function reconcile({ messenger, host, queue, aliases, since, drain, includeJunk = false, pageSize = 100 }) {
  const seen = new Set();
  let checked = 0;
  let queued = 0;
  const first = messenger.messages.query({ fromDate: new Date(since), messagesPerPage: pageSize });
  for await (const page of pages(messenger, first)) {
    const r = await missingFrom(page, { host, aliases, reason: "reconcile", includeJunk, seen });
    checked += r.checked;
    if (r.items.length) {
      queued += await queue.add(r.items);
      if (drain) await drain();
    }
  }
  return { checked, queued };
}

/** The folders a backfill walks: every folder of every account that holds capturable mail. */
export async function listFolders(messenger, { includeJunk = false } = {}) {
  const out = [];
  const accounts = await messenger.accounts.list(false);
  for (const a of accounts) {
    let folders;
    if (messenger.folders && messenger.folders.query) {
      folders = await messenger.folders.query({ accountId: a.id });
    } else {
      folders = flatten((await messenger.accounts.get(a.id, true)).rootFolder);
    }
    for (const f of folders) {
      if (!wantedFolder(f, { includeJunk })) continue;
      out.push({ id: f.id, accountId: f.accountId || a.id, path: f.path, specialUse: f.specialUse || [] });
    }
  }
  return out;
}

function flatten(folder) {
  if (!folder) return [];
  return [folder, ...(folder.subFolders || []).flatMap(flatten)];
}

const BACKFILL = "backfill";

/** A fresh backfill state. */
export function newBackfillState(now) {
  return { version: 1, status: "pending", startedAt: null, finishedAt: null, updatedAt: now, folders: null, checked: 0, queued: 0, total: 0, error: null };
}

/**
 * First-run backfill of every folder, resumable: progress is saved after each page, finished
 * folders are skipped on the next run, and an interrupted folder is checked again from its start
 * (cheap: messages the host already has are not sent again).
 */
export class Backfill {
  /**
   * @param {object} o
   * @param {object} o.messenger
   * @param {import("./host.js").HostClient} o.host
   * @param {import("./queue.js").CaptureQueue} o.queue
   * @param {object} o.storage storage.local
   * @param {() => Promise<any>} o.drain
   * @param {() => Set<string>} [o.aliases]
   * @param {() => number} [o.now]
   */
  constructor({ messenger, host, queue, storage, drain, aliases = () => null, now = Date.now, includeJunk = () => false }) {
    Object.assign(this, { messenger, host, queue, storage, drain, aliases, now, includeJunk });
    /** Runs (or resumes) the backfill; concurrent calls share one run. */
    this.run = oneAtATime(() => this.runOnce());
    this.onProgress = () => {};
  }

  async state() {
    const got = await this.storage.get(BACKFILL);
    return (got && got[BACKFILL]) || newBackfillState(this.now());
  }

  async save(state) {
    state.updatedAt = this.now();
    await this.storage.set({ [BACKFILL]: state });
    this.onProgress(state);
  }

  /** Forgets progress so that the next run checks every folder again. */
  async reset() {
    await this.save(newBackfillState(this.now()));
  }

  async runOnce() {
    const state = await this.state();
    // Folders that appeared since the last run (a new account, a restored archive) are walked
    // too: their existing mail is history the new-mail event never reports.
    const current = await listFolders(this.messenger, { includeJunk: this.includeJunk() });
    const known = new Set((state.folders || []).map((f) => f.id));
    const added = current.filter((f) => !known.has(f.id));
    if (state.status === "done" && !added.length) return state;
    if (!state.folders) {
      state.folders = [];
      state.startedAt = this.now();
    }
    for (const f of added) {
      let total = null;
      try {
        const info = await this.messenger.folders.getFolderInfo(f.id);
        total = info && typeof info.totalMessageCount === "number" ? info.totalMessageCount : null;
      } catch {
        // unknown size; progress counts what was checked
      }
      state.folders.push({ ...f, total, checked: 0, queued: 0, done: false });
    }
    state.total = state.folders.reduce((n, f) => n + (f.total || 0), 0);
    state.status = "running";
    state.error = null;
    await this.save(state);
    try {
      for (const f of state.folders) {
        if (f.done) continue;
        // A folder interrupted earlier is walked again from its start.
        state.checked -= f.checked;
        f.checked = 0;
        let list;
        try {
          list = this.messenger.messages.list(f.id);
          await list;
        } catch {
          f.done = true; // the folder was deleted or renamed since the list was made
          f.missing = true;
          await this.save(state);
          continue;
        }
        for await (const page of pages(this.messenger, list)) {
          const r = await missingFrom(page, {
            host: this.host,
            aliases: this.aliases(),
            folder: f,
            reason: "backfill",
            includeJunk: this.includeJunk(),
          });
          f.checked += page.length;
          state.checked += page.length;
          if (r.items.length) {
            const n = await this.queue.add(r.items);
            f.queued += n;
            state.queued += n;
            await this.drain();
            if (this.queue.size > 0 && !this.host.status.connected) {
              throw new Error("the Rapport host is not reachable; the backfill resumes later");
            }
          }
          await this.save(state);
        }
        f.done = true;
        await this.save(state);
      }
      state.status = "done";
      state.finishedAt = this.now();
      await this.save(state);
    } catch (e) {
      state.status = "paused";
      state.error = String((e && e.message) || e);
      await this.save(state);
    }
    return state;
  }
}
