// Threads: conversations, most recent first, and one conversation as its reply tree.

import { get, post, el, when, day, heading, threadLink, contactLink, toast, SNOOZES } from "./lib.js";

const TURN = { me: "Waiting on you", them: "Waiting on them", "": "" };

export async function threads(query) {
  const waiting = query.get("waiting") || "";
  const list = await get("threads", { waiting, limit: 200 });
  const filter = el("select", { id: "thread-filter" },
    [["", "All conversations"], ["me", "Waiting on you"], ["them", "Waiting on them"]].map(([v, t]) => el("option", { value: v, selected: v === waiting }, t)));
  filter.addEventListener("change", () => { location.hash = `#/threads${filter.value ? `?waiting=${filter.value}` : ""}`; });
  const node = el("div", { class: "threads" },
    heading("Threads", "Conversations, most recent first, and whose turn it is."),
    el("div", { class: "toolbar" }, el("div", { class: "field" }, el("label", { for: "thread-filter" }, "Show"), filter)),
    el("section", { class: "card" },
      list.length
        ? el("table", { class: "plain", "data-testid": "threads-table" },
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Subject"), el("th", { scope: "col" }, "Last"), el("th", { scope: "col", class: "num" }, "Messages"), el("th", { scope: "col" }, "Turn"), el("th", { scope: "col" }, "People"))),
          el("tbody", {}, list.map((t) => el("tr", { "data-testid": "row", "data-row": "", tabindex: "0", "data-href": `#/thread/${t.id}`, "data-thread-id": t.id },
            el("td", {}, threadLink(t.id, t.subject)),
            el("td", {}, when(t.last_date)),
            el("td", { class: "num", "data-testid": "message-count" }, String(t.message_count)),
            el("td", {}, t.waiting_on ? el("span", { class: `turn ${t.waiting_on}` }, TURN[t.waiting_on]) : ""),
            el("td", { class: "people" }, t.participants.join(", "))))))
        : el("p", { class: "empty" }, "No conversations match.")),
    el("div", { hidden: true, "data-testid": "threads-ready" }));
  return { node, title: "Threads" };
}

export async function thread(id) {
  const t = await get("thread", { id });
  const act = async (action, until) => {
    try {
      await post("thread/mark", { thread_id: t.id, action, until });
      toast(action === "reopen" ? "Back on the awaiting lists" : action === "done" ? "Marked done" : "Snoozed");
      window.dispatchEvent(new CustomEvent("rapport:refresh"));
    } catch (e) {
      toast(e.message);
    }
  };
  const snooze = el("select", { id: "thread-snooze", "aria-label": "Snooze this thread" }, el("option", { value: "" }, "Snooze…"), SNOOZES.map(([text, v]) => el("option", { value: v }, text)));
  snooze.addEventListener("change", () => snooze.value && act("snooze", snooze.value));
  const node = el("div", { class: "thread" },
    heading(t.subject || "(no subject)", `${t.message_count} messages, ${day(t.first_date)} to ${day(t.last_date)}`),
    el("div", { class: "toolbar" },
      el("span", { class: `turn big ${t.waiting_on}`, "data-testid": "thread-turn" }, t.waiting_on ? TURN[t.waiting_on] : "Nobody's turn"),
      t.waiting_on ? el("button", { type: "button", class: "small", onclick: () => act("done") }, "Mark done") : null,
      t.waiting_on ? snooze : null,
      el("button", { type: "button", class: "small ghost", onclick: () => act("reopen") }, "Reopen")),
    el("section", { class: "card", "aria-labelledby": "tree-h" },
      el("h2", { id: "tree-h" }, "Reply tree"),
      el("ol", { class: "tree", "data-testid": "thread-tree" },
        t.messages.map((m) => el("li", { class: `msg ${m.direction}`, style: `--depth:${Math.min(m.depth, 12)}`, "data-testid": "thread-message", "data-depth": m.depth },
          el("div", { class: "who" },
            el("span", { class: "arrow", "aria-hidden": "true" }, m.direction === "outbound" ? "→" : m.direction === "inbound" ? "←" : "↔"),
            m.direction === "outbound" ? el("strong", {}, "You") : contactLink(m.from, m.from_name || m.from),
            el("span", { class: "muted" }, " · ", el("time", { datetime: m.date }, m.date.replace("T", " ").replace("Z", " UTC"))),
            m.class !== "person" ? el("span", { class: "tag" }, m.class) : null),
          el("div", { class: "subject" }, m.subject || "(no subject)"))))),
    el("div", { hidden: true, "data-testid": "thread-ready" }));
  return { node, title: t.subject || "Thread" };
}
