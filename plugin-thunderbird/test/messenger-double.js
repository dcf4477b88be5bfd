// A test double of the parts of Thunderbird's `messenger` API the extension uses, with a fake
// native host behind runtime.connectNative. This is the only double in Rapport's tests: the real
// API and the real host are exercised end to end by tests/e2e/thunderbird.sh.

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A raw message (LF line ends, as Thunderbird stores it) with the given headers. */
export function rawMessage({ messageId, from = "Bob <bob@example.test>", to = "alice@example.test", subject = "hi", inReplyTo, body = "body\n", extraHeaderBytes = 0 }) {
  const lines = [
    "X-Mozilla-Status: 0001",
    `From: ${from}`,
    `To: ${to}`,
    `Subject: ${subject}`,
    "Date: Tue, 24 Nov 2026 10:00:00 +0000",
  ];
  if (messageId) lines.push(`Message-ID: <${messageId}>`);
  if (inReplyTo) lines.push(`In-Reply-To: <${inReplyTo}>`);
  if (extraHeaderBytes) lines.push(`X-Padding: ${"x".repeat(extraHeaderBytes)}`);
  return enc.encode(`${lines.join("\n")}\n\n${body}`);
}

function b64decode(s) {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

function clone(v) {
  return v === undefined ? undefined : structuredClone(v);
}

export class StorageDouble {
  constructor() {
    this.data = new Map();
    this.writes = 0;
  }
  async get(keys) {
    const out = {};
    if (keys === null || keys === undefined) {
      for (const [k, v] of this.data) out[k] = clone(v);
    } else {
      for (const k of typeof keys === "string" ? [keys] : Array.isArray(keys) ? keys : Object.keys(keys)) {
        if (this.data.has(k)) out[k] = clone(this.data.get(k));
        else if (!Array.isArray(keys) && typeof keys === "object") out[k] = keys[k];
      }
    }
    return out;
  }
  async set(items) {
    this.writes += 1;
    for (const [k, v] of Object.entries(items)) this.data.set(k, clone(v));
  }
  async remove(keys) {
    for (const k of Array.isArray(keys) ? keys : [keys]) this.data.delete(k);
  }
  keys(prefix = "") {
    return [...this.data.keys()].filter((k) => k.startsWith(prefix));
  }
}

/**
 * The fake `rapport native-host`: keeps Message-IDs it has "committed", answers the RPC methods
 * the extension uses, and can be told to crash or refuse.
 */
export class FakeHost {
  constructor() {
    this.stored = new Map(); // message id → {sent, source}
    this.sources = [];
    this.identities = [];
    this.calls = [];
    this.available = true; // false: connectNative fails like "No such native application"
    this.crashOn = null; // {method, after}: exit when the n-th call of `method` arrives (before commit)
    this.refuse = null; // {method, code}: answer every call of `method` with this error
    this.processes = 0;
  }

  count(method) {
    return this.calls.filter((c) => c.method === method).length;
  }

  handle(method, params) {
    switch (method) {
      case "hello":
        return { protocol: 1, version: "test", database: "/tmp/test.db", methods: [] };
      case "status":
        return { protocol: 1, version: "test", database: "/tmp/test.db", policy: "sent-only", identities: this.identities, stats: { messages: this.stored.size } };
      case "identities":
        return this.identities;
      case "add_identity":
        this.identities.push({ email: params.address, confirmed: true });
        return { added: true };
      case "have":
        return { missing: params.message_ids.filter((id) => !this.stored.has(id)) };
      case "capture": {
        const text = dec.decode(b64decode(params.raw));
        const m = text.match(/^Message-ID:\s*<([^>]+)>/im);
        const key = m ? m[1] : `hash-${text.length}`;
        const outcome = this.stored.has(key) ? "duplicate" : "stored";
        if (!this.stored.has(key)) this.stored.set(key, { sent: params.sent, bytes: text.length, text });
        this.sources.push({ key, ...params.source, sent: params.sent });
        return { outcome, message_id: key, thread_id: 1 };
      }
      case "card": {
        const n = [...this.stored.values()].filter((v) => v.text.includes(params.address)).length;
        return { explanation: { messages_from: n, messages_to: 0, reason: "received only" }, contact: null };
      }
      case "thread":
        if (!this.stored.has(params.message_id)) throw Object.assign(new Error("message not found"), { code: "NotFound" });
        return { id: 1, message_count: 1, waiting_on: "me", last_direction: "inbound" };
      default:
        throw Object.assign(new Error(`no method '${method}'`), { code: "UnknownMethod" });
    }
  }
}

class Event {
  constructor() {
    this.listeners = [];
  }
  addListener(fn, ...extra) {
    this.listeners.push({ fn, extra });
  }
  fire(...args) {
    return Promise.all(this.listeners.map((l) => l.fn(...args)));
  }
}

/** A native port connected to a FakeHost "process". */
class PortDouble {
  constructor(host) {
    this.host = host;
    this.onMessage = new Event();
    this.onDisconnect = new Event();
    this.closed = false;
    this.error = null;
    host.processes += 1;
    if (!host.available) {
      queueMicrotask(() => this.die("No such native application rapport"));
    }
  }
  die(message) {
    if (this.closed) return;
    this.closed = true;
    this.error = { message };
    this.onDisconnect.fire(this);
  }
  postMessage(msg) {
    if (this.closed) throw new Error("Attempt to postMessage on disconnected port");
    const request = structuredClone(msg);
    const host = this.host;
    host.calls.push({ method: request.method, params: request.params });
    setTimeout(() => {
      if (this.closed) return;
      const c = host.crashOn;
      if (c && c.method === request.method && host.count(request.method) >= c.after) {
        host.crashOn = null;
        this.die("Native application exited");
        return;
      }
      let reply;
      if (host.refuse && host.refuse.method === request.method) {
        reply = { id: request.id, error: { code: host.refuse.code, message: "refused" } };
      } else {
        try {
          reply = { id: request.id, result: host.handle(request.method, request.params) };
        } catch (e) {
          reply = { id: request.id, error: { code: e.code || "Internal", message: e.message } };
        }
      }
      this.onMessage.fire(structuredClone(reply));
    }, 0);
  }
  disconnect() {
    this.closed = true;
  }
}

/**
 * The messenger double. `folders`: [{id, accountId, path, specialUse}]; messages are added with
 * addMessage(). `pageSize` is small by default so that paging is exercised.
 */
export function createMessenger({ pageSize = 2, identities = ["alice@example.test"] } = {}) {
  const host = new FakeHost();
  const storage = new StorageDouble();
  const accounts = [{ id: "account1", name: "alice@example.test", type: "pop3", identities: identities.map((email) => ({ email })) }];
  const folders = [
    { id: "account1://", accountId: "account1", path: "/", specialUse: [] },
    { id: "account1://Inbox", accountId: "account1", path: "/Inbox", specialUse: ["inbox"] },
    { id: "account1://Sent", accountId: "account1", path: "/Sent", specialUse: ["sent"] },
    { id: "account1://Drafts", accountId: "account1", path: "/Drafts", specialUse: ["drafts"] },
    { id: "account1://Junk", accountId: "account1", path: "/Junk", specialUse: ["junk"] },
    { id: "account1://Projects", accountId: "account1", path: "/Projects", specialUse: [] },
  ];
  let messages = []; // {id, headerMessageId, folderId, raw, author, subject, date}
  let nextId = 1;
  const lists = new Map();
  let nextList = 1;
  const calls = { getRaw: 0, list: 0, continueList: 0, abortList: 0, query: 0 };
  const badges = new Map();
  const titles = new Map();
  const alarms = new Map();
  const displayed = new Map();

  const folderById = (id) => folders.find((f) => f.id === id);
  const header = (m) => ({
    id: m.id,
    headerMessageId: m.headerMessageId,
    author: m.author,
    subject: m.subject,
    date: m.date,
    size: m.raw.length,
    folder: { ...folderById(m.folderId) },
  });
  function paginate(found, perPage = pageSize) {
    const all = found.map(header);
    const first = all.slice(0, perPage);
    const rest = all.slice(perPage);
    if (!rest.length) return { id: null, messages: first };
    const id = `list-${nextList++}`;
    lists.set(id, { rest, perPage });
    return { id, messages: first };
  }

  const messenger = {
    host,
    storage: { local: storage },
    calls,
    badges,
    titles,
    alarms: {
      created: alarms,
      create(name, info) {
        alarms.set(name, info);
      },
      onAlarm: new Event(),
    },
    accounts: {
      async list() {
        return structuredClone(accounts);
      },
    },
    folders: {
      async query({ accountId } = {}) {
        return structuredClone(folders.filter((f) => !accountId || f.accountId === accountId));
      },
      async getFolderInfo(id) {
        const f = folderById(id);
        if (!f || f.path === "/") throw new Error("folders.getFolderInfo() failed, not supported for root folders");
        return { totalMessageCount: messages.filter((m) => m.folderId === id).length };
      },
    },
    messages: {
      onNewMailReceived: new Event(),
      async get(id) {
        const m = messages.find((x) => x.id === id);
        if (!m) throw new Error(`Message not found: ${id}.`);
        return header(m);
      },
      async getRaw(id, options) {
        calls.getRaw += 1;
        if (!options || options.data_format !== "File") throw new Error("test double: use data_format File");
        const m = messages.find((x) => x.id === id);
        if (!m) throw new Error(`Message not found: ${id}.`);
        if (m.unreadable) throw new Error("Error reading message");
        const bytes = m.raw.slice();
        return { size: bytes.length, arrayBuffer: async () => bytes.buffer };
      },
      async list(folderId) {
        calls.list += 1;
        if (!folderById(folderId)) throw new Error(`Folder not found: ${folderId}`);
        return paginate(messages.filter((m) => m.folderId === folderId));
      },
      async continueList(id) {
        calls.continueList += 1;
        const l = lists.get(id);
        if (!l) throw new Error(`No message list for id ${id}. Have you reached the end of a list?`);
        const page = l.rest.slice(0, l.perPage);
        l.rest = l.rest.slice(l.perPage);
        if (!l.rest.length) {
          lists.delete(id);
          return { id: null, messages: page };
        }
        return { id, messages: page };
      },
      async abortList(id) {
        calls.abortList += 1;
        lists.delete(id);
      },
      async query(q = {}) {
        calls.query += 1;
        let found = messages;
        if (q.headerMessageId) found = found.filter((m) => m.headerMessageId === q.headerMessageId);
        if (q.folderId) found = found.filter((m) => m.folderId === q.folderId);
        if (q.fromDate) found = found.filter((m) => new Date(m.date) >= q.fromDate);
        return paginate(found, q.messagesPerPage || pageSize);
      },
    },
    compose: { onAfterSend: new Event() },
    messageDisplay: {
      onMessagesDisplayed: new Event(),
      async getDisplayedMessages(tabId) {
        const ids = displayed.get(tabId) || [];
        return { id: null, messages: ids.map((id) => header(messages.find((m) => m.id === id))) };
      },
    },
    messageDisplayAction: {
      async setBadgeText({ tabId, text }) {
        badges.set(tabId, text);
      },
      async setTitle({ tabId, title }) {
        titles.set(tabId, title);
      },
    },
    runtime: {
      connectNative(name) {
        if (name !== "rapport") throw new Error(`unexpected host name ${name}`);
        return new PortDouble(host);
      },
      onMessage: new Event(),
      onStartup: new Event(),
      onInstalled: new Event(),
      optionsOpened: 0,
      async openOptionsPage() {
        this.optionsOpened += 1;
      },
    },
    tabs: {},

    // ----- test controls -----
    folderList: folders,
    /** Puts a message into a folder ("Mail arrives"); returns its header. */
    addMessage({ folder = "account1://Inbox", messageId, date = "2026-11-24T10:00:00Z", ...rest } = {}) {
      const raw = rawMessage({ messageId, ...rest });
      const m = {
        id: nextId++,
        headerMessageId: messageId || `generated-${nextId}@localhost`,
        folderId: folder,
        raw,
        author: rest.from || "Bob <bob@example.test>",
        subject: rest.subject || "hi",
        date,
      };
      messages.push(m);
      return header(m);
    },
    /** Creates a folder (e.g. a new account's). */
    addFolder(folder) {
      folders.push({ specialUse: [], ...folder });
    },
    /** Moves a message to another folder (its Thunderbird id stays). */
    moveMessage(id, folderId) {
      const m = messages.find((x) => x.id === id);
      m.folderId = folderId;
      return header(m);
    },
    deleteMessage(id) {
      messages = messages.filter((m) => m.id !== id);
    },
    markUnreadable(id) {
      messages.find((m) => m.id === id).unreadable = true;
    },
    /** Thunderbird restarted: every message gets a new id; open lists are gone. */
    restartSession() {
      for (const m of messages) m.id = nextId++;
      lists.clear();
    },
    display(tabId, ids) {
      displayed.set(tabId, ids);
    },
    messageList(headers) {
      return paginate(headers.map((h) => messages.find((m) => m.id === h.id)));
    },
  };
  return messenger;
}

/** Waits until `cond()` is true (polling the event loop), or fails after `ms`. */
export async function until(cond, ms = 2000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out waiting for a condition");
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Timers that never fire by themselves; tests run them with `fire()`. */
export function manualTimers() {
  const timers = new Map();
  let next = 1;
  return {
    setTimer(fn, ms) {
      const id = next++;
      timers.set(id, { fn, ms });
      return id;
    },
    clearTimer(id) {
      timers.delete(id);
    },
    pending: () => [...timers.values()],
    fireAll() {
      const all = [...timers.values()];
      timers.clear();
      for (const t of all) t.fn();
    },
  };
}

export const quiet = { info() {}, warn() {} };
