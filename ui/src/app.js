// The dashboard's shell: routes (#/today …), theme, keyboard, and following the database.

import { get, el, errorBox } from "./lib.js";
import { today } from "./today.js";
import { contacts } from "./contacts.js";
import { contact } from "./contact.js";
import { groups, triage } from "./groups.js";
import { threads, thread } from "./threads.js";
import { sources } from "./sources.js";

const main = document.getElementById("main");

const ROUTES = {
  today: { title: "Today", view: () => today() },
  contacts: { title: "Contacts", view: (arg, query) => contacts(query) },
  contact: { title: "Contact", nav: "contacts", view: (arg) => contact(arg) },
  groups: { title: "Groups", view: () => groups() },
  triage: { title: "Triage", view: () => triage() },
  threads: { title: "Threads", view: (arg, query) => threads(query) },
  thread: { title: "Thread", nav: "threads", view: (arg) => thread(arg) },
  sources: { title: "Sources", view: () => sources() },
};

/** The current route: name, argument, query parameters. */
function parseHash() {
  const hash = location.hash.replace(/^#\/?/, "") || "today";
  const [pathPart, queryPart] = hash.split("?");
  const [name, ...rest] = pathPart.split("/");
  return { name: ROUTES[name] ? name : "today", arg: decodeURIComponent(rest.join("/")), query: new URLSearchParams(queryPart || "") };
}

let current = null;
let rendering = 0;

/** Renders the route; `refresh` keeps focus and scroll where they are (data changed). */
async function render(refresh = false) {
  const route = parseHash();
  const spec = ROUTES[route.name];
  const ticket = ++rendering;
  document.querySelectorAll("[data-nav]").forEach((a) => {
    if (a.dataset.nav === (spec.nav || route.name)) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  let view;
  try {
    view = await spec.view(route.arg, route.query, refresh);
  } catch (e) {
    view = { node: el("div", {}, el("h1", {}, spec.title), errorBox(e)) };
  }
  if (ticket !== rendering) return;
  if (current && current.dispose) current.dispose();
  current = view;
  current.route = `${route.name}/${route.arg}`;
  if (refresh && pressing) {
    // A button is held down: rebuilding now would replace it before the release and swallow
    // the click. The release brings the page up to date.
    stale = true;
    return;
  }
  const scroll = window.scrollY;
  const focusedId = refresh && document.activeElement ? document.activeElement.id : null;
  main.replaceChildren(view.node);
  document.title = `${view.title || spec.title} · Rapport`;
  // For bench/ui.sh: when the page's data first reached the screen.
  if (!refresh) performance.mark(`rapport:${route.name}`);
  if (refresh) {
    window.scrollTo(0, scroll);
    if (focusedId) document.getElementById(focusedId)?.focus();
  } else {
    main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
  if (view.mounted) view.mounted();
}

/** Brings the page up to date with the database. A page with state of its own (the contacts
 *  table's scroll and selection, triage's undo) updates itself; others are rebuilt, but not
 *  while the user is typing in one of their fields (the next change or poll catches up). */
export function refresh(ownAction = false) {
  const route = parseHash();
  if (current && current.refresh && current.route === `${route.name}/${route.arg}`) return current.refresh();
  const active = document.activeElement;
  if (!ownAction && active && main.contains(active) && ["INPUT", "SELECT", "TEXTAREA"].includes(active.tagName)) {
    stale = true;
    return Promise.resolve();
  }
  stale = false;
  return render(true);
}
let stale = false;
let pressing = false;
document.addEventListener("pointerdown", () => { pressing = true; }, true);
document.addEventListener("pointerup", () => {
  pressing = false;
  // After the click this release belongs to has been handled.
  if (stale) setTimeout(() => { if (stale && !pressing) refresh(); }, 0);
}, true);
document.addEventListener("focusout", (e) => {
  // Focus going to another control of the page — the form's own button being clicked: a rebuild
  // now would replace that button between mouse down and up and swallow the click (and the
  // value typed). The action's own refresh, or focus leaving the page's controls, catches up.
  if (!stale || (e.relatedTarget && main.contains(e.relatedTarget))) return;
  setTimeout(() => { if (stale) refresh(); }, 0);
});
// Pages send this after the user's own change: rebuilt at once.
window.addEventListener("rapport:refresh", () => refresh(true));
window.addEventListener("hashchange", () => render(false));

// ---- theme ----
const themeButton = document.getElementById("theme-button");
function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  themeButton.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
  themeButton.textContent = theme === "dark" ? "Light theme" : "Dark theme";
  window.dispatchEvent(new CustomEvent("rapport:theme"));
}
function toggleTheme() {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem("rapport-theme", next);
  applyTheme(next);
}
applyTheme(localStorage.getItem("rapport-theme") || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
themeButton.addEventListener("click", toggleTheme);

// ---- keyboard ----
const keysDialog = document.getElementById("keys-dialog");
document.getElementById("keys-button").addEventListener("click", () => keysDialog.showModal());
let pendingG = false;
const GO = { t: "today", c: "contacts", g: "groups", r: "triage", h: "threads", s: "sources" };
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t && (t.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(t.tagName))) {
    if (e.key === "Escape") t.blur();
    return;
  }
  if (pendingG) {
    pendingG = false;
    if (GO[e.key]) {
      e.preventDefault();
      location.hash = `#/${GO[e.key]}`;
    }
    return;
  }
  if (current && current.onKey && current.onKey(e)) {
    e.preventDefault();
    return;
  }
  if (e.key === "g") pendingG = true;
  else if (e.key === "?") keysDialog.showModal();
  else if (e.key === "t") toggleTheme();
  else if (e.key === "/") {
    e.preventDefault();
    if (parseHash().name !== "contacts") location.hash = "#/contacts?focus=search";
    else document.getElementById("contact-search")?.focus();
  } else if (e.key === "j" || e.key === "k") {
    const rows = [...main.querySelectorAll("[data-row]")];
    if (!rows.length) return;
    const i = rows.indexOf(document.activeElement);
    const next = rows[Math.max(0, Math.min(rows.length - 1, i + (e.key === "j" ? 1 : -1)))] || rows[0];
    e.preventDefault();
    next.focus();
  } else if (e.key === "Enter" && document.activeElement?.dataset?.href) {
    location.hash = document.activeElement.dataset.href;
  }
});

// ---- following the database: one cheap request a second ----
let version = null;
async function poll() {
  try {
    const v = (await get("changes")).version;
    if (version !== null && v !== version) await refresh();
    version = v;
  } catch {
    // The server stopped or restarted: keep trying quietly.
  }
  setTimeout(poll, 1000);
}

render(false);
poll();
