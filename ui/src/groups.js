// Groups ("buckets") with their cadence and overdue counts, and Triage: sorting the contacts
// that are in no group yet, newest first, one key per group (Contactually's bucketing game).

import { get, post, el, when, heading, toast, figure } from "./lib.js";

export async function groups() {
  const list = await get("groups");
  const ungrouped = (await get("contacts/count", { ungrouped: true })).count;
  const rows = list.map((g) => {
    const id = `cad-${g.group.replace(/[^a-z0-9]/gi, "_")}`;
    const input = el("input", { id, type: "number", min: "1", max: "3650", class: "small num", value: g.cadence_days ?? "", placeholder: "none" });
    const form = el("form", { class: "inline" },
      el("label", { for: id, class: "sr-only" }, `Cadence of ${g.group}, in days`), input,
      el("button", { type: "submit", class: "small" }, "Save"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await post("group/cadence", { group: g.group, days: input.value ? Number(input.value) : null });
        toast(input.value ? `${g.group}: every ${input.value} days` : `${g.group}: no cadence`);
        window.dispatchEvent(new CustomEvent("rapport:refresh"));
      } catch (err) {
        toast(err.message);
      }
    });
    return el("tr", { "data-testid": "group-row", "data-group": g.group },
      el("th", { scope: "row" }, el("a", { href: `#/contacts?group=${encodeURIComponent(g.group)}` }, g.group)),
      el("td", {}, form),
      el("td", { class: "num", "data-testid": "group-contacts" }, String(g.contacts)),
      el("td", { class: `num ${g.overdue ? "late" : ""}`, "data-testid": "group-overdue" }, String(g.overdue)));
  });
  const node = el("div", { class: "groups" },
    heading("Groups", "Put people in groups and give each group a cadence: who you see every month, every quarter, every year."),
    el("div", { class: "strip" },
      figure("groups", list.length, "groups-count"),
      figure("overdue", list.reduce((n, g) => n + g.overdue, 0), "groups-overdue"),
      figure("in no group", ungrouped, "groups-ungrouped")),
    el("section", { class: "card" },
      list.length
        ? el("table", { class: "plain", "data-testid": "groups-table" },
          el("caption", { class: "sr-only" }, "Groups"),
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Group"), el("th", { scope: "col" }, "Cadence (days)"), el("th", { scope: "col", class: "num" }, "Contacts"), el("th", { scope: "col", class: "num" }, "Overdue"))),
          el("tbody", {}, rows))
        : el("p", { class: "empty" }, "No groups yet. Triage sorts your contacts into groups with one key each."),
      el("p", {}, el("a", { class: "button primary", href: "#/triage" }, `Triage ${ungrouped} contacts in no group`))),
    el("div", { hidden: true, "data-testid": "groups-ready" }));
  return { node, title: "Groups" };
}

const DEFAULT_GROUPS = ["clients", "prospects", "partners", "friends", "investors"];

export async function triage() {
  const existing = (await get("groups")).map((g) => g.group);
  const names = [...existing, ...DEFAULT_GROUPS.filter((g) => !existing.includes(g))].slice(0, 9);
  let queue = await get("contacts", { ungrouped: true, sort: "last", limit: 200 });
  let total = (await get("contacts/count", { ungrouped: true })).count;
  const skipped = new Set();
  const undo = [];
  const card = el("div", { class: "triage-card card", "data-testid": "triage-card", "aria-live": "polite" });
  const remaining = el("span", { "data-testid": "triage-remaining" });
  const keys = el("ol", { class: "keys-list", "data-testid": "triage-groups" });
  const newGroup = el("form", { class: "inline", hidden: true },
    el("label", { for: "triage-new" }, "New group"),
    el("input", { id: "triage-new", required: true, autocomplete: "off" }),
    el("button", { type: "submit", class: "small primary" }, "Put in it"));

  const currentContact = () => queue.find((c) => !skipped.has(c.email));

  function draw() {
    remaining.textContent = `${Math.max(0, total - skipped.size)} left`;
    keys.replaceChildren(...names.map((g, i) => el("li", {}, el("button", { type: "button", class: "key-button", onclick: () => assign(g), "data-testid": "triage-key" }, el("kbd", {}, String(i + 1)), " ", g))));
    const c = currentContact();
    if (!c) {
      card.replaceChildren(el("p", { class: "empty", "data-testid": "triage-done" }, "Everyone is in a group. Nicely done."));
      return;
    }
    card.replaceChildren(
      el("h2", { "data-testid": "triage-name" }, c.name || c.email),
      el("p", { class: "email", "data-testid": "triage-email" }, c.email),
      el("p", {}, "Last contact ", when(c.last_contact), ` · ${c.inbound_count} from them, ${c.outbound_count} from you, ${c.thread_count} threads`),
      el("p", {}, el("a", { href: `#/contact/${encodeURIComponent(c.email)}` }, "Open the contact")));
  }

  async function assign(group) {
    const c = currentContact();
    if (!c) return;
    try {
      const r = await post("contacts/group", { addresses: [c.email], group });
      undo.push({ email: c.email, previous: r.previous[0].group, contact: c });
      queue = queue.filter((x) => x.email !== c.email);
      total -= 1;
      if (!names.includes(group) && names.length < 9) names.push(group);
      toast(`${c.name || c.email} → ${group}`);
      if (queue.length < 20) {
        queue = await get("contacts", { ungrouped: true, sort: "last", limit: 200 });
      }
      draw();
    } catch (e) {
      toast(e.message);
    }
  }

  async function undoLast() {
    const last = undo.pop();
    if (!last) {
      toast("Nothing to undo");
      return;
    }
    try {
      await post("contacts/group", { addresses: [last.email], group: last.previous });
      queue = [last.contact, ...queue.filter((x) => x.email !== last.email)];
      total += 1;
      toast(`Undone: ${last.contact.name || last.email} is in no group again`);
      draw();
    } catch (e) {
      toast(e.message);
    }
  }

  newGroup.addEventListener("submit", (e) => {
    e.preventDefault();
    const input = newGroup.querySelector("input");
    const g = input.value.trim();
    newGroup.hidden = true;
    input.value = "";
    if (g) assign(g);
  });

  draw();
  const node = el("div", { class: "triage" },
    heading("Triage", "Contacts in no group, most recent first. Press a number to put the contact in that group."),
    el("p", { class: "sub" }, remaining),
    el("div", { class: "grid2" },
      card,
      el("section", { class: "card", "aria-labelledby": "keys-h" },
        el("h2", { id: "keys-h" }, "Keys"),
        keys,
        el("p", {}, el("kbd", {}, "n"), " new group · ", el("kbd", {}, "s"), " skip · ", el("kbd", {}, "u"), " undo"),
        newGroup)),
    el("div", { hidden: true, "data-testid": "triage-ready" }));

  return {
    node,
    title: "Triage",
    /** Others wrote: the count may have changed; the card and the undo history stay. */
    async refresh() {
      total = (await get("contacts/count", { ungrouped: true })).count;
      draw();
    },
    onKey(e) {
      if (/^[1-9]$/.test(e.key)) {
        const g = names[Number(e.key) - 1];
        if (g) assign(g);
        return true;
      }
      if (e.key === "u") {
        undoLast();
        return true;
      }
      if (e.key === "s") {
        const c = currentContact();
        if (c) skipped.add(c.email);
        draw();
        return true;
      }
      if (e.key === "n") {
        newGroup.hidden = false;
        newGroup.querySelector("input").focus();
        return true;
      }
      return false;
    },
  };
}
