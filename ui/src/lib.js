// Shared pieces: the API client, DOM building (text only, never HTML from data), formatting.

let csrf = null;

/** An API error with the server's code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function answer(res) {
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = body && body.error;
    throw new ApiError(res.status, e ? e.code : "Http", e ? e.message : `${res.status} ${text.trim()}`);
  }
  return body;
}

/** GET /api/<route>?<params>: what `rapport <command> --json` prints. */
export async function get(route, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "" && v !== false) q.set(k, v === true ? "1" : String(v));
  }
  const qs = q.toString();
  const res = await fetch(`/api/${route}${qs ? `?${qs}` : ""}`, { credentials: "same-origin" });
  return answer(res);
}

/** POST /api/<route> with a JSON body and this session's CSRF token. */
export async function post(route, body) {
  if (!csrf) csrf = (await get("session")).csrf;
  const res = await fetch(`/api/${route}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Rapport-CSRF": csrf },
    body: JSON.stringify(body),
  });
  return answer(res);
}

/** el("a", {href: "#/x", class: "y"}, "text", child…): attributes, then children (strings are text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const DAY = 86400 * 1000;

/** "3 days ago", "in 2 days", "today", or "—". */
export function ago(iso, now = Date.now()) {
  if (!iso) return "—";
  const t = Date.parse(iso);
  const days = Math.round((now - t) / DAY);
  if (days === 0) return "today";
  if (days === 1) return "yesterday";
  if (days === -1) return "tomorrow";
  if (days < 0) return `in ${-days} days`;
  if (days < 60) return `${days} days ago`;
  if (days < 730) return `${Math.round(days / 30.4)} months ago`;
  return `${Math.round(days / 365.25)} years ago`;
}

/** "2025-03-01". */
export function day(iso) {
  return iso ? iso.slice(0, 10) : "—";
}

/** A <time> showing how long ago, with the date as its title and datetime. */
export function when(iso) {
  if (!iso) return el("span", { class: "muted" }, "—");
  return el("time", { datetime: iso, title: iso.replace("T", " ").replace("Z", " UTC") }, ago(iso));
}

/** Seconds as "3 h", "2 d", "45 min". */
export function duration(secs) {
  if (secs === null || secs === undefined) return "—";
  if (secs < 3600) return `${Math.max(1, Math.round(secs / 60))} min`;
  if (secs < 2 * 86400) return `${Math.round(secs / 360) / 10} h`;
  return `${Math.round(secs / 8640) / 10} d`;
}

export function person(name, email) {
  return name ? `${name} <${email}>` : email;
}

export function contactLink(email, name) {
  return el("a", { href: `#/contact/${encodeURIComponent(email)}` }, name || email);
}

export function threadLink(id, subject) {
  return el("a", { href: `#/thread/${id}` }, subject || "(no subject)");
}

/** Shows a short message; `action` adds a button (e.g. Undo). */
export function toast(message, action) {
  const box = document.getElementById("toast");
  box.replaceChildren(el("span", {}, message));
  if (action) box.append(el("button", { type: "button", onclick: () => { box.replaceChildren(); action.run(); } }, action.label));
  box.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.classList.remove("show"), action ? 10000 : 4000);
}

/** The page's heading and an optional line under it. */
export function heading(title, sub) {
  return el("div", { class: "page-head" }, el("h1", {}, title), sub ? el("p", { class: "sub" }, sub) : null);
}

/** A figure for the summary strips: big number, label; `testid` for tests. */
export function figure(label, value, testid) {
  return el("div", { class: "figure" }, el("span", { class: "value", "data-testid": testid }, String(value)), el("span", { class: "label" }, label));
}

export function errorBox(e) {
  return el("div", { class: "error", role: "alert" }, e.message || String(e));
}

/** Snooze choices: label → the API's `until`. */
export const SNOOZES = [["1 day", "1d"], ["3 days", "3d"], ["1 week", "1w"], ["2 weeks", "2w"], ["1 month", "1m"]];
