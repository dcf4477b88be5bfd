// Contacts: a table that stays fast at tens of thousands of rows. Only the rows in view are in
// the page; they are fetched 200 at a time from /api/contacts (limit/offset) as you scroll, and
// /api/contacts/count gives the table its full height.

import { get, post, el, when, heading, toast } from "./lib.js";

const ROW = 40;
const PAGE = 200;
const COLUMNS = [
  { key: "name", label: "Contact", sort: "name" },
  { key: "group", label: "Group" },
  { key: "last_contact", label: "Last contact", sort: "last" },
  { key: "first_contact", label: "First contact", sort: "new" },
  { key: "inbound_count", label: "In", sort: "inbound", num: true },
  { key: "outbound_count", label: "Out", sort: "outbound", num: true },
  { key: "thread_count", label: "Threads", sort: "threads", num: true },
  { key: "cadence_days", label: "Cadence" },
];

/** Filters as in the hash (#/contacts?group=clients&sort=name) ⇄ the API's parameters. */
function filtersFrom(query) {
  const f = {};
  for (const k of ["search", "group", "domain", "flow", "since", "class", "sort"]) {
    if (query.get(k)) f[k] = query.get(k);
  }
  if (query.get("ungrouped")) f.ungrouped = true;
  return f;
}

function setHash(filters) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v === true ? "1" : v);
  const next = `#/contacts${q.toString() ? `?${q}` : ""}`;
  if (location.hash !== next) history.replaceState(null, "", next);
}

function select(id, label, value, options) {
  return el("div", { class: "field" },
    el("label", { for: id }, label),
    el("select", { id }, options.map(([v, text]) => el("option", { value: v, selected: v === (value || "") }, text))));
}

export async function contacts(query) {
  const filters = filtersFrom(query);
  const [groups, countAnswer] = await Promise.all([get("groups"), get("contacts/count", filters)]);
  let count = countAnswer.count;
  const pages = new Map();
  const selected = new Set();
  let lastClicked = null;

  const countLine = el("p", { class: "sub", "data-testid": "contacts-count" }, `${count} contacts`);
  const selection = el("div", { class: "selection", hidden: true });
  const body = el("div", { role: "rowgroup", class: "vbody" });
  const spacer = el("div", { class: "spacer" });
  const viewport = el("div", { class: "viewport" }, spacer, body);

  const headerRow = el("div", { role: "row", class: "vrow head", "aria-rowindex": "1" },
    el("div", { role: "columnheader", class: "cell check" }, el("span", { class: "sr-only" }, "Selected")),
    COLUMNS.map((c) => {
      const active = (filters.sort || "last") === c.sort;
      return el("div", { role: "columnheader", class: `cell ${c.num ? "num" : ""} col-${c.key}`, "aria-sort": active ? (c.sort === "name" ? "ascending" : "descending") : null },
        c.sort
          ? el("button", { type: "button", class: "sort", onclick: () => { filters.sort = c.sort; setHash(filters); reload(); }, "aria-label": `Sort by ${c.label}` }, c.label, active ? " ▾" : "")
          : c.label);
    }));
  const table = el("div", { role: "table", class: "vtable", "aria-label": "Contacts", "aria-rowcount": String(count + 1), "data-testid": "contacts-table" },
    el("div", { role: "rowgroup" }, headerRow), viewport);

  async function page(n) {
    if (!pages.has(n)) pages.set(n, get("contacts", { ...filters, limit: PAGE, offset: n * PAGE }));
    return pages.get(n);
  }

  function toggle(email, index, shift) {
    if (shift && lastClicked !== null) {
      const [a, b] = [Math.min(lastClicked, index), Math.max(lastClicked, index)];
      Promise.all([...new Set(Array.from({ length: b - a + 1 }, (_, i) => Math.floor((a + i) / PAGE)))].map(page)).then(() => {
        for (let i = a; i <= b; i++) {
          pages.get(Math.floor(i / PAGE)).then((rows) => {
            const r = rows[i % PAGE];
            if (r) selected.add(r.email);
            draw();
          });
        }
      });
    } else if (selected.has(email)) selected.delete(email);
    else selected.add(email);
    lastClicked = index;
    draw();
  }

  function rowNode(c, index) {
    const checkbox = el("input", { type: "checkbox", "aria-label": `Select ${c.name || c.email}`, checked: selected.has(c.email) });
    checkbox.addEventListener("click", (e) => { e.stopPropagation(); toggle(c.email, index, e.shiftKey); });
    const row = el("div", { role: "row", class: `vrow ${selected.has(c.email) ? "selected" : ""}`, "aria-rowindex": String(index + 2), tabindex: "0", "data-row": "", "data-testid": "row", "data-email": c.email, "data-href": `#/contact/${encodeURIComponent(c.email)}`, style: `top:${index * ROW}px` },
      el("div", { role: "cell", class: "cell check" }, checkbox),
      el("div", { role: "cell", class: "cell col-name" }, el("a", { href: `#/contact/${encodeURIComponent(c.email)}`, tabindex: "-1" }, el("span", { class: "name" }, c.name || c.email)), c.name ? el("span", { class: "email" }, c.email) : null),
      el("div", { role: "cell", class: "cell col-group" }, c.group ? el("span", { class: "tag" }, c.group) : ""),
      el("div", { role: "cell", class: "cell col-last_contact" }, when(c.last_contact)),
      el("div", { role: "cell", class: "cell col-first_contact" }, when(c.first_contact)),
      el("div", { role: "cell", class: "cell num", "data-testid": "inbound" }, String(c.inbound_count)),
      el("div", { role: "cell", class: "cell num", "data-testid": "outbound" }, String(c.outbound_count)),
      el("div", { role: "cell", class: "cell num" }, String(c.thread_count)),
      el("div", { role: "cell", class: "cell col-cadence_days" }, c.cadence_days ? el("span", { class: c.neglected ? "late" : "" }, `${c.cadence_days} d${c.neglected ? " · overdue" : ""}`) : ""));
    return row;
  }

  let drawing = 0;
  async function draw() {
    const ticket = ++drawing;
    spacer.style.height = `${count * ROW}px`;
    const top = viewport.scrollTop;
    const height = viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - 10);
    const last = Math.min(count - 1, Math.ceil((top + height) / ROW) + 10);
    const needed = new Set();
    for (let i = first; i <= last; i++) needed.add(Math.floor(i / PAGE));
    const loaded = await Promise.all([...needed].map(async (n) => [n, await page(n)]));
    if (ticket !== drawing) return;
    const byPage = new Map(loaded);
    const focusedEmail = document.activeElement?.closest?.(".vrow")?.dataset?.email;
    const rows = [];
    for (let i = first; i <= last; i++) {
      const c = byPage.get(Math.floor(i / PAGE))?.[i % PAGE];
      if (c) rows.push(rowNode(c, i));
    }
    body.replaceChildren(...rows);
    if (focusedEmail) body.querySelector(`[data-email="${CSS.escape(focusedEmail)}"]`)?.focus({ preventScroll: true });
    selection.hidden = selected.size === 0;
    selection.replaceChildren(...selectionBar());
    if (!body.dataset.ready && rows.length) performance.mark("rapport:contacts-rows");
    body.dataset.ready = "1";
  }

  function selectionBar() {
    if (!selected.size) return [];
    const input = el("input", { id: "bulk-group", list: "group-names", placeholder: "group name", required: true, class: "small" });
    const form = el("form", { class: "inline" },
      el("strong", { "data-testid": "selected-count" }, `${selected.size} selected`),
      el("label", { for: "bulk-group" }, "Put in group"),
      input,
      el("button", { type: "submit", class: "small primary" }, "Apply"),
      el("button", { type: "button", class: "small", onclick: () => moveTo("") }, "Remove from group"),
      el("button", { type: "button", class: "small ghost", onclick: () => { selected.clear(); draw(); } }, "Clear selection"));
    form.addEventListener("submit", (e) => { e.preventDefault(); moveTo(input.value.trim()); });
    return [form];
  }

  async function moveTo(group) {
    try {
      const r = await post("contacts/group", { addresses: [...selected], group });
      selected.clear();
      toast(`${r.updated} contacts ${group ? `put in ${group}` : "taken out of their group"}`, {
        label: "Undo",
        run: async () => {
          const byGroup = new Map();
          for (const p of r.previous) byGroup.set(p.group, [...(byGroup.get(p.group) || []), p.address]);
          for (const [g, addresses] of byGroup) await post("contacts/group", { addresses, group: g });
          window.dispatchEvent(new CustomEvent("rapport:refresh"));
        },
      });
      window.dispatchEvent(new CustomEvent("rapport:refresh"));
    } catch (e) {
      toast(e.message);
    }
  }

  async function reload() {
    pages.clear();
    count = (await get("contacts/count", filters)).count;
    countLine.textContent = `${count} contacts`;
    table.setAttribute("aria-rowcount", String(count + 1));
    headerRow.querySelectorAll("[role=columnheader]").forEach((h, i) => {
      const c = COLUMNS[i - 1];
      if (!c) return;
      const active = (filters.sort || "last") === c.sort;
      if (active) h.setAttribute("aria-sort", c.sort === "name" ? "ascending" : "descending");
      else h.removeAttribute("aria-sort");
      const b = h.querySelector("button");
      if (b) b.textContent = c.label + (active ? " ▾" : "");
    });
    viewport.scrollTop = 0;
    draw();
  }

  const groupOptions = [["", "Any group"], ["__none__", "No group"], ...groups.map((g) => [g.group, g.group])];
  const search = el("input", { id: "contact-search", type: "search", placeholder: "Name or address", value: filters.search || "", autocomplete: "off" });
  const domain = el("input", { id: "f-domain", type: "text", placeholder: "acme.example", value: filters.domain || "" });
  const toolbar = el("form", { class: "toolbar", role: "search" },
    el("div", { class: "field grow" }, el("label", { for: "contact-search" }, "Search"), search),
    select("f-group", "Group", filters.ungrouped ? "__none__" : filters.group, groupOptions),
    el("div", { class: "field" }, el("label", { for: "f-domain" }, "Domain"), domain),
    select("f-flow", "Flow", filters.flow, [["", "Any"], ["two-way", "Both ways"], ["sent-only", "Only sent"], ["received-only", "Only received"]]),
    select("f-since", "Last contact", filters.since, [["", "Any time"], ["30d", "Last 30 days"], ["90d", "Last 90 days"], ["1y", "Last year"]]),
    select("f-class", "Mail", filters.class, [["", "Any"], ["person", "Personal"], ["list", "Lists"], ["bulk", "Bulk"], ["auto", "Automatic"]]));
  let typing;
  const apply = () => {
    filters.search = search.value.trim() || undefined;
    filters.domain = domain.value.trim() || undefined;
    const g = toolbar.querySelector("#f-group").value;
    filters.group = g && g !== "__none__" ? g : undefined;
    filters.ungrouped = g === "__none__" ? true : undefined;
    filters.flow = toolbar.querySelector("#f-flow").value || undefined;
    filters.since = toolbar.querySelector("#f-since").value || undefined;
    filters.class = toolbar.querySelector("#f-class").value || undefined;
    setHash(filters);
    reload().catch((e) => toast(e.message));
  };
  toolbar.addEventListener("input", (e) => {
    clearTimeout(typing);
    typing = setTimeout(apply, e.target.tagName === "SELECT" ? 0 : 200);
  });
  toolbar.addEventListener("submit", (e) => { e.preventDefault(); apply(); });

  viewport.addEventListener("scroll", () => requestAnimationFrame(draw), { passive: true });
  const datalist = el("datalist", { id: "group-names" }, groups.map((g) => el("option", { value: g.group })));
  const node = el("div", { class: "contacts" },
    heading("Contacts"), countLine, toolbar, selection, datalist, table,
    el("div", { hidden: true, "data-testid": "contacts-ready" }));

  return {
    node,
    title: "Contacts",
    /** New data: the same filters, scroll position and selection. */
    async refresh() {
      pages.clear();
      count = (await get("contacts/count", filters)).count;
      countLine.textContent = `${count} contacts`;
      table.setAttribute("aria-rowcount", String(count + 1));
      await draw();
    },
    mounted() {
      draw();
      if (query.get("focus") === "search") search.focus();
    },
    onKey(e) {
      const row = document.activeElement?.closest?.(".vrow");
      if (e.key === "x" && row) {
        toggle(row.dataset.email, Number(row.getAttribute("aria-rowindex")) - 2, e.shiftKey);
        return true;
      }
      if ((e.key === "j" || e.key === "k") && (row || document.activeElement === document.body || document.activeElement === document.getElementById("main"))) {
        const index = row ? Number(row.getAttribute("aria-rowindex")) - 2 : -1;
        const next = Math.max(0, Math.min(count - 1, index + (e.key === "j" ? 1 : -1)));
        const y = next * ROW;
        if (y < viewport.scrollTop || y > viewport.scrollTop + viewport.clientHeight - ROW) viewport.scrollTop = y - viewport.clientHeight / 2;
        draw().then(() => body.querySelector(`[aria-rowindex="${next + 2}"]`)?.focus({ preventScroll: true }));
        return true;
      }
      return false;
    },
  };
}
