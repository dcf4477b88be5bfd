// Small pure helpers shared by the background, the popup and the options page.

export const HOST_NAME = "rapport";
export const EXTENSION_ID = "rapport@rapport.invalid";

/** Bytes (ArrayBuffer or Uint8Array) → base64, in chunks so large messages do not blow the stack. */
export function toBase64(buffer) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const parts = [];
  for (let i = 0; i < bytes.length; i += 0x8000) {
    parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)));
  }
  return btoa(parts.join(""));
}

/**
 * The header block of a raw message (up to and including the blank line), for messages too big
 * to send whole: Rapport stores headers only, so nothing it keeps is lost.
 */
export function headerPart(buffer) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      if (bytes[i + 1] === 0x0a) return bytes.subarray(0, i + 2);
      if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return bytes.subarray(0, i + 3);
    }
  }
  return bytes;
}

/** "Name <a@b>" or "a@b" → "a@b" (lower-cased), or "" when there is no address. */
export function addressOf(author) {
  if (!author) return "";
  const s = String(author);
  const m = s.match(/<([^<>\s]+@[^<>\s]+)>\s*$/);
  const a = m ? m[1] : s.trim();
  return /^[^\s@]+@[^\s@]+$/.test(a) ? a.toLowerCase() : "";
}

/** Retry delay after `attempts` failures: 1 s, 2 s, 4 s, … capped at 5 minutes. */
export function backoffMs(attempts) {
  const n = Math.max(1, attempts | 0);
  return Math.min(1000 * 2 ** Math.min(n - 1, 20), 5 * 60 * 1000);
}

/**
 * Wraps an async `fn` so that it runs one at a time: a call made while a run is in progress
 * gets that run's promise instead of starting another.
 */
export function oneAtATime(fn) {
  let running = null;
  return () => {
    if (!running) {
      running = fn().finally(() => {
        running = null;
      });
    }
    return running;
  };
}

/** Splits an array into chunks of at most `size` elements. */
export function chunks(list, size) {
  const out = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * Folders whose mail Rapport captures. Drafts, templates and the outbox hold mail that was
 * never sent; junk is spam unless the user opts in. Root folders hold no messages.
 */
export function wantedFolder(folder, { includeJunk = false } = {}) {
  if (!folder) return true; // unknown folder (e.g. a sent copy without one): capture
  if (folder.isVirtual) return false;
  if (folder.path === "/" || folder.isRoot) return false;
  const use = folder.specialUse || [];
  if (use.includes("drafts") || use.includes("templates") || use.includes("outbox")) return false;
  if (use.includes("junk") && !includeJunk) return false;
  return true;
}

/** Whether mail in this folder is the user's own sent mail. */
export function isSentFolder(folder) {
  return !!folder && (folder.specialUse || []).includes("sent");
}

/** A stable queue key for one message in one folder. */
export function captureKey(folder, headerMessageId) {
  const where = folder ? `${folder.accountId || ""}:${folder.path || ""}` : "-";
  return `${where}|${headerMessageId}`;
}
