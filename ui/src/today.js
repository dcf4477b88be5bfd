// Today: what to act on — threads waiting on you, on them, contacts past their cadence, new people.

import { get, post, el, when, heading, contactLink, threadLink, toast, SNOOZES, figure } from "./lib.js";

function refresh() {
  window.dispatchEvent(new CustomEvent("rapport:refresh"));
}

function snoozeSelect(label, onPick) {
  const id = `snooze-${Math.random().toString(36).slice(2, 9)}`;
  const select = el("select", { id, "aria-label": label, class: "small" },
    el("option", { value: "" }, "Snooze…"),
    SNOOZES.map(([text, until]) => el("option", { value: until }, text)));
  select.addEventListener("change", () => {
    if (select.value) onPick(select.value);
  });
  return select;
}

async function markThread(item, action, until) {
  try {
    await post("thread/mark", { thread_id: item.thread_id, action, until });
    toast(action === "done" ? `Done: ${item.subject}` : `Snoozed: ${item.subject}`, {
      label: "Undo",
      run: async () => {
        await post("thread/mark", { thread_id: item.thread_id, action: "reopen" });
        refresh();
      },
    });
    refresh();
  } catch (e) {
    toast(e.message);
  }
}

function threadRows(items, side) {
  return items.map((item) =>
    el("li", { class: "row", "data-testid": "row", "data-row": "", tabindex: "0", "data-href": `#/thread/${item.thread_id}`, "data-thread-id": item.thread_id },
      el("div", { class: "main-col" },
        threadLink(item.thread_id, item.subject),
        el("div", { class: "meta" },
          side === "me" ? "from " : "to ",
          item.contact_email ? contactLink(item.contact_email, item.contact_name) : "—",
          " · ", when(item.since))),
      el("span", { class: `age ${item.age_days > 7 ? "late" : ""}`, "data-testid": "age" }, `${item.age_days} d`),
      el("div", { class: "actions" },
        el("button", { type: "button", class: "small", onclick: () => markThread(item, "done"), "aria-label": `Mark done: ${item.subject}` }, "Done"),
        snoozeSelect(`Snooze: ${item.subject}`, (until) => markThread(item, "snooze", until)))));
}

function neglectedRows(items) {
  return items.map((c) =>
    el("li", { class: "row", "data-testid": "row", "data-row": "", tabindex: "0", "data-href": `#/contact/${encodeURIComponent(c.email)}`, "data-email": c.email },
      el("div", { class: "main-col" },
        contactLink(c.email, c.name || c.email),
        el("div", { class: "meta" }, `every ${c.cadence_days} days · last contact `, when(c.last_contact), c.group ? ` · ${c.group}` : "")),
      el("span", { class: "age late", "data-testid": "overdue" }, `${c.overdue_days} d over`),
      el("div", { class: "actions" },
        snoozeSelect(`Snooze ${c.email}`, async (until) => {
          try {
            await post("contact/snooze", { address: c.email, until });
            toast(`Snoozed ${c.name || c.email}`, { label: "Undo", run: async () => { await post("contact/snooze", { address: c.email, until: null }); refresh(); } });
            refresh();
          } catch (e) {
            toast(e.message);
          }
        }))));
}

function newRows(items) {
  return items.map((c) =>
    el("li", { class: "row", "data-testid": "row", "data-row": "", tabindex: "0", "data-href": `#/contact/${encodeURIComponent(c.email)}`, "data-email": c.email },
      el("div", { class: "main-col" },
        contactLink(c.email, c.name || c.email),
        el("div", { class: "meta" }, "first contact ", when(c.first_contact), ` · ${c.inbound_count} in, ${c.outbound_count} out`)),
      el("div", { class: "actions" }, cadenceForm(c))));
}

function cadenceForm(c) {
  const id = `cad-${c.id}`;
  const input = el("input", { id, type: "number", min: "1", max: "3650", class: "small num", placeholder: "days", value: c.cadence_days ?? "" });
  const form = el("form", { class: "inline" },
    el("label", { for: id, class: "sr-only" }, `Cadence for ${c.email}, in days`),
    input,
    el("button", { type: "submit", class: "small" }, "Set cadence"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await post("contact/cadence", { address: c.email, days: input.value ? Number(input.value) : null });
      toast(`Cadence of ${c.name || c.email}: ${input.value ? `every ${input.value} days` : "none"}`);
      refresh();
    } catch (err) {
      toast(err.message);
    }
  });
  return form;
}

function section(title, testid, rows, empty, hint) {
  return el("section", { class: "card", "aria-labelledby": `${testid}-h` },
    el("h2", { id: `${testid}-h` }, title, " ", el("span", { class: "count", "data-testid": `${testid}-count` }, String(rows.length))),
    hint ? el("p", { class: "hint" }, hint) : null,
    rows.length ? el("ul", { class: "rows", "data-testid": testid }, rows) : el("p", { class: "empty", "data-testid": testid }, empty));
}

export async function today() {
  const t = await get("today");
  const node = el("div", { class: "today" },
    heading("Today", "What to answer, who to chase, who has gone quiet, and who is new."),
    el("div", { class: "strip" },
      figure("waiting on you", t.waiting_on_me.length, "today-fig-me"),
      figure("waiting on them", t.waiting_on_them.length, "today-fig-them"),
      figure("past cadence", t.neglected.length, "today-fig-neglected"),
      figure("new this week", t.new_people.length, "today-fig-new")),
    el("div", { class: "grid2" },
      section("Waiting on you", "today-waiting-me", threadRows(t.waiting_on_me, "me"), "Nothing waits on you. Well done."),
      section("Waiting on them", "today-waiting-them", threadRows(t.waiting_on_them, "them"), "Nobody owes you an answer.", "Your last message is 3 days old or more."),
      section("Past their cadence", "today-neglected", neglectedRows(t.neglected), "Everyone with a cadence is in touch. Set cadences on a contact's page or per group."),
      section("New this week", "today-new", newRows(t.new_people), "No new people in the last 7 days.")),
    el("div", { hidden: true, "data-testid": "today-ready" }));
  return { node, title: "Today" };
}
