/*
 * Rapport for Outlook: what the add-in captures and how.
 *
 *  - On read: the message's EML (getAsFileAsync, Mailbox 1.14); without 1.14 its headers
 *    (getAllInternetHeadersAsync, 1.8); without 1.8 a header block made from the item's fields
 *    (1.1). Rapport stores headers only, so a large message is sent as its header block.
 *  - On send: records participants, subject and time with `record_sent`, and stamps an
 *    X-Rapport-Id header so Rapport can join the record to the Sent Items copy later.
 *  - Backfill: the messages the user selected (Mailbox 1.13 + 1.15), at most 100 at a time.
 *
 * Everything Office-specific goes through the adapter (office-adapter.js) passed in; the bridge
 * client (bridge-client.js) is passed in too. Never logs addresses, subjects or bodies.
 */
(function (root) {
  "use strict";

  /** EMLs up to this many base64 characters are sent whole; larger ones as their headers. */
  const MAX_FULL_EML = 2 * 1024 * 1024;
  /** Most messages one backfill takes (Outlook's multi-select limit). */
  const MAX_BACKFILL = 100;
  const TRACKING_HEADER = "X-Rapport-Id";

  // ----- base64 <-> bytes/text, the same under Node and in browsers -----

  function bytesToB64(bytes) {
    let bin = "";
    const chunk = 0x8000;
    for (let i = 0; i < bytes.length; i += chunk) {
      bin += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
    }
    return root.btoa(bin);
  }

  function b64ToBytes(b64) {
    const bin = root.atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function textToB64(text) {
    return bytesToB64(new TextEncoder().encode(text));
  }

  /** The header block (up to and including the blank line) of a message's bytes, or null. */
  function headerEnd(bytes) {
    for (let i = 0; i + 1 < bytes.length; i++) {
      if (bytes[i] === 10) {
        if (bytes[i + 1] === 10) return i + 2;
        if (bytes[i + 1] === 13 && bytes[i + 2] === 10) return i + 3;
      }
    }
    return -1;
  }

  /**
   * What to send for an EML given as base64: the whole message when small, else only its
   * header block (decoding as little as needed). Returns null if no header block is found.
   */
  function trimEml(b64, maxFull) {
    const clean = String(b64 || "").replace(/\s+/g, "");
    if (!clean) return null;
    if (clean.length <= (maxFull || MAX_FULL_EML)) return clean;
    for (const prefix of [256 * 1024, 1024 * 1024, 4 * 1024 * 1024]) {
      const part = clean.slice(0, Math.min(clean.length, prefix) - (Math.min(clean.length, prefix) % 4));
      const bytes = b64ToBytes(part);
      const end = headerEnd(bytes);
      if (end > 0) return bytesToB64(bytes.subarray(0, end));
      if (part.length === clean.length) break;
    }
    return null;
  }

  /** RFC 2047 encoded word for non-ASCII text; ASCII passes unchanged. */
  function encodeWord(text) {
    const s = String(text || "").replace(/[\r\n]+/g, " ");
    if (/^[\x20-\x7e]*$/.test(s)) return s;
    return "=?UTF-8?B?" + textToB64(s) + "?=";
  }

  function mailbox(a) {
    if (!a || !a.address) return "";
    const addr = String(a.address).replace(/[\r\n<>]/g, "");
    if (!a.name || a.name === a.address) return "<" + addr + ">";
    const name = /^[\x20-\x7e]*$/.test(a.name) ? '"' + a.name.replace(/["\\\r\n]/g, "") + '"' : encodeWord(a.name);
    return name + " <" + addr + ">";
  }

  const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function rfc5322Date(iso) {
    const d = new Date(iso);
    if (isNaN(d.getTime())) return null;
    const p = (n) => String(n).padStart(2, "0");
    return DAYS[d.getUTCDay()] + ", " + d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear() + " " + p(d.getUTCHours()) + ":" + p(d.getUTCMinutes()) + ":" + p(d.getUTCSeconds()) + " +0000";
  }

  function messageId(id) {
    const s = String(id || "").trim().replace(/[\r\n]/g, "");
    if (!s) return "";
    return s.startsWith("<") ? s : "<" + s + ">";
  }

  /** A header block made from a read item's fields (Mailbox 1.1), CRLF line ends. */
  function headersFromFields(f) {
    const lines = [];
    if (f.from && f.from.address) lines.push("From: " + mailbox(f.from));
    if (f.sender && f.sender.address && f.from && f.sender.address.toLowerCase() !== f.from.address.toLowerCase()) {
      lines.push("Sender: " + mailbox(f.sender));
    }
    if (f.to && f.to.length) lines.push("To: " + f.to.map(mailbox).join(", "));
    if (f.cc && f.cc.length) lines.push("Cc: " + f.cc.map(mailbox).join(", "));
    if (f.subject) lines.push("Subject: " + encodeWord(f.subject));
    const date = f.dateTimeCreated ? rfc5322Date(f.dateTimeCreated) : null;
    if (date) lines.push("Date: " + date);
    const mid = messageId(f.internetMessageId);
    if (mid) lines.push("Message-ID: " + mid);
    lines.push("X-Rapport-Capture: outlook-fields");
    return lines.join("\r\n") + "\r\n\r\n";
  }

  /** Internet headers from getAllInternetHeadersAsync, completed with fields they lack. */
  function headersFromInternetHeaders(headers, f) {
    let h = String(headers || "").replace(/\r?\n/g, "\r\n").replace(/(\r\n)+$/, "");
    const has = (name) => new RegExp("^" + name + ":", "im").test(h);
    const extra = [];
    if (!has("Message-ID") && f && f.internetMessageId) extra.push("Message-ID: " + messageId(f.internetMessageId));
    if (!has("From") && f && f.from && f.from.address) extra.push("From: " + mailbox(f.from));
    if (!has("Date") && f && f.dateTimeCreated) {
      const d = rfc5322Date(f.dateTimeCreated);
      if (d) extra.push("Date: " + d);
    }
    if (extra.length) h = (h ? h + "\r\n" : "") + extra.join("\r\n");
    return h + "\r\n\r\n";
  }

  /**
   * The raw message to send for a read item, by the best means this Outlook offers:
   * {mode: "eml"|"headers"|"fields", raw: base64}.
   */
  async function rawFor(office, item) {
    const fields = item.fields() || {};
    if (office.supports("1.14")) {
      try {
        const raw = trimEml(await item.getEml());
        if (raw) return { mode: "eml", raw: raw, fields: fields };
      } catch (e) {
        /* fall through to headers */
      }
    }
    if (office.supports("1.8")) {
      try {
        const headers = await item.getHeaders();
        if (headers && /\S/.test(headers)) {
          return { mode: "headers", raw: textToB64(headersFromInternetHeaders(headers, fields)), fields: fields };
        }
      } catch (e) {
        /* fall through to fields */
      }
    }
    return { mode: "fields", raw: textToB64(headersFromFields(fields)), fields: fields };
  }

  /** Captures one read item: → {mode, outcome, message_id, thread_id}. */
  async function captureItem(office, bridge, item, options) {
    const opts = options || {};
    const got = await rawFor(office, item);
    const me = office.userAddress();
    const from = got.fields.from && got.fields.from.address ? got.fields.from.address.toLowerCase() : "";
    const result = await bridge.call("capture", {
      raw: got.raw,
      source: { account: me, folder: opts.folder || "", id: got.fields.itemId || got.fields.internetMessageId || "" },
      sent: !!me && from === me,
    });
    return Object.assign({ mode: got.mode }, result || {});
  }

  /** A random id for the X-Rapport-Id header. */
  function newTrackingId() {
    const c = root.crypto;
    const bytes = new Uint8Array(16);
    if (c && typeof c.getRandomValues === "function") c.getRandomValues(bytes);
    else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("") + "@rapport";
  }

  /**
   * The OnMessageSend work: stamp X-Rapport-Id, then record the message. Never throws; returns
   * {stamped, recorded, error?}. The caller lets the send go on whatever happens.
   */
  async function recordSend(office, bridge, item, options) {
    const opts = options || {};
    const tracking = opts.trackingId || newTrackingId();
    const out = { trackingId: tracking, stamped: false, recorded: false };
    try {
      await office.setHeaders(item, { [TRACKING_HEADER]: tracking });
      out.stamped = true;
    } catch (e) {
      out.error = "header: " + (e && e.message);
    }
    try {
      const d = await office.composeDetails(item);
      const me = office.userAddress();
      const from = d.from && d.from.address ? d.from.address : me;
      if (!from) throw new Error("the sender's address is unknown");
      const addrs = (list) => (list || []).map((a) => a.address).filter(Boolean);
      await bridge.call("record_sent", {
        tracking_id: tracking,
        from: from,
        to: addrs(d.to),
        cc: addrs(d.cc),
        bcc: addrs(d.bcc),
        subject: d.subject || "",
        date: Math.floor((opts.now || Date.now()) / 1000),
        in_reply_to: d.inReplyTo || undefined,
        source: { account: me, folder: "Sent Items", id: "" },
      });
      out.recorded = true;
    } catch (e) {
      out.error = (out.error ? out.error + "; " : "") + "record: " + ((e && (e.kind || e.message)) || "failed");
    }
    return out;
  }

  /**
   * Captures the selected messages (Mailbox 1.13 selection + 1.15 loadItemByIdAsync), one at a
   * time, at most 100. → {total, stored, duplicate, failed, skipped}.
   */
  async function backfillSelected(office, bridge, options) {
    const opts = options || {};
    if (!office.supports("1.15")) throw new Error("this Outlook cannot load selected messages (Mailbox 1.15 is needed)");
    const selected = await office.selectedItems();
    const take = selected.slice(0, MAX_BACKFILL);
    const counts = { total: take.length, stored: 0, duplicate: 0, failed: 0, skipped: selected.length - take.length };
    for (let i = 0; i < take.length; i++) {
      let loaded = null;
      try {
        loaded = await office.loadItem(take[i].itemId);
        const r = await captureItem(office, bridge, loaded, { folder: opts.folder || "" });
        if (r.outcome === "stored") counts.stored++;
        else counts.duplicate++;
      } catch (e) {
        counts.failed++;
        // The bridge is gone or refuses us: stop instead of failing 100 times.
        if (e && (e.kind === "unreachable" || e.kind === "permission-denied" || e.kind === "unauthorized")) {
          if (loaded) await loaded.unload().catch(() => {});
          counts.error = e;
          break;
        }
      }
      if (loaded) await loaded.unload().catch(() => {});
      if (opts.onProgress) opts.onProgress(i + 1, take.length);
    }
    return counts;
  }

  root.RapportCapture = {
    MAX_FULL_EML: MAX_FULL_EML,
    MAX_BACKFILL: MAX_BACKFILL,
    TRACKING_HEADER: TRACKING_HEADER,
    textToB64: textToB64,
    b64ToBytes: b64ToBytes,
    trimEml: trimEml,
    encodeWord: encodeWord,
    headersFromFields: headersFromFields,
    headersFromInternetHeaders: headersFromInternetHeaders,
    rawFor: rawFor,
    captureItem: captureItem,
    newTrackingId: newTrackingId,
    recordSend: recordSend,
    backfillSelected: backfillSelected,
  };
})(typeof globalThis !== "undefined" ? globalThis : this);
