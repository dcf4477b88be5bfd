// One contact: charts of the relationship over time, the facts, and what can be set.

import { get, post, el, when, day, duration, heading, threadLink, toast, figure, SNOOZES, ApiError } from "./lib.js";

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}


/** A uPlot chart sized to its box, redrawn when the theme or the width changes. */
function chart(box, makeOptions, data) {
  let plot = null;
  const draw = () => {
    if (!window.uPlot || !box.isConnected) return;
    if (plot) plot.destroy();
    const width = Math.max(280, box.clientWidth);
    plot = new window.uPlot(makeOptions(width), data, box);
  };
  const observer = new ResizeObserver(() => draw());
  observer.observe(box);
  window.addEventListener("rapport:theme", draw);
  return {
    draw,
    dispose() {
      observer.disconnect();
      window.removeEventListener("rapport:theme", draw);
      if (plot) plot.destroy();
    },
  };
}

/** Axes for one point per month: x is the month's index, labelled `YYYY-MM`, thinned to fit. */
function axes(months, yLabel, width) {
  const stroke = css("--muted");
  const grid = { stroke: css("--line"), width: 1 };
  const every = Math.max(1, Math.ceil(months.length / Math.max(1, Math.floor(width / 80))));
  return [
    {
      stroke, grid, ticks: grid,
      splits: () => months.map((_, i) => i).filter((i) => i % every === 0),
      values: (u, splits) => splits.map((i) => months[i] ?? ""),
    },
    { stroke, grid, ticks: grid, label: yLabel },
  ];
}

const xScale = (n) => ({ time: false, range: () => [-0.5, n - 0.5] });

function messagesChart(monthly) {
  const data = [monthly.map((_, i) => i), monthly.map((m) => m.inbound), monthly.map((m) => m.outbound)];
  return { data, options: (width) => messagesOptions(monthly, width) };
}

function replyChart(monthly) {
  const hours = (s) => (s === null || s === undefined ? null : Math.round((s / 3600) * 10) / 10);
  const data = [monthly.map((_, i) => i), monthly.map((m) => hours(m.median_reply_mine_secs)), monthly.map((m) => hours(m.median_reply_theirs_secs))];
  const months = monthly.map((m) => m.month);
  return {
    data,
    options: (width) => ({
      width,
      height: 200,
      scales: { x: xScale(months.length), y: { range: (u, min, max) => [0, Math.max(1, (max ?? 1) * 1.15)] } },
      axes: axes(months, "hours", width),
      series: [
        {},
        { label: "You answer in", stroke: css("--out"), width: 2, spanGaps: true, points: { show: true, size: 6 } },
        { label: "They answer in", stroke: css("--in"), width: 2, spanGaps: true, points: { show: true, size: 6 } },
      ],
      legend: { live: false },
    }),
  };
}

/** The monthly figures as a table too: the charts' text alternative. */
function monthlyTable(monthly) {
  return el("details", { class: "monthly" },
    el("summary", {}, "The figures by month"),
    el("table", { class: "plain", "data-testid": "contact-monthly" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Month"), el("th", { scope: "col" }, "From them"), el("th", { scope: "col" }, "From you"), el("th", { scope: "col" }, "You answer in"), el("th", { scope: "col" }, "They answer in"))),
      el("tbody", {}, monthly.map((m) => el("tr", {}, el("th", { scope: "row" }, m.month), el("td", {}, String(m.inbound)), el("td", {}, String(m.outbound)), el("td", {}, duration(m.median_reply_mine_secs)), el("td", {}, duration(m.median_reply_theirs_secs)))))));
}

function settings(c, groups) {
  const cadence = el("input", { id: "set-cadence", type: "number", min: "1", max: "3650", class: "num", value: c.cadence_days ?? "", "data-testid": "cadence-input" });
  const group = el("input", { id: "set-group", list: "contact-groups", value: c.group, "data-testid": "group-input" });
  const snooze = el("select", { id: "set-snooze" }, el("option", { value: "" }, c.snoozed_until ? `Snoozed until ${day(c.snoozed_until)}` : "Not snoozed"), SNOOZES.map(([t, v]) => el("option", { value: v }, t)), c.snoozed_until ? el("option", { value: "off" }, "Wake now") : null);
  const save = async (route, body, message) => {
    try {
      await post(route, body);
      toast(message);
      window.dispatchEvent(new CustomEvent("rapport:refresh"));
    } catch (e) {
      toast(e.message);
    }
  };
  const form = (id, label, control, onSubmit, hint) => {
    const f = el("form", { class: "setting" }, el("label", { for: id }, label), el("div", { class: "inline" }, control, el("button", { type: "submit", class: "small" }, "Save")), hint ? el("p", { class: "hint" }, hint) : null);
    f.addEventListener("submit", (e) => { e.preventDefault(); onSubmit(); });
    return f;
  };
  return el("section", { class: "card", "aria-labelledby": "settings-h" },
    el("h2", { id: "settings-h" }, "Keep in touch"),
    form("set-cadence", "Cadence (days)", cadence, () => save("contact/cadence", { address: c.email, days: cadence.value ? Number(cadence.value) : null }, cadence.value ? `Cadence: every ${cadence.value} days` : "Cadence cleared"), "Empty clears it; the group's cadence then applies."),
    form("set-group", "Group", group, () => save("contacts/group", { addresses: [c.email], group: group.value.trim() }, group.value.trim() ? `In group ${group.value.trim()}` : "In no group")),
    form("set-snooze", "Snooze", snooze, () => snooze.value && save("contact/snooze", { address: c.email, until: snooze.value === "off" ? null : snooze.value }, snooze.value === "off" ? "Awake" : "Snoozed"), "Off the past-cadence list until then."),
    el("datalist", { id: "contact-groups" }, groups.map((g) => el("option", { value: g.group }))));
}

async function notAContact(address, error) {
  const x = await get("explain", { address });
  return {
    node: el("div", {},
      heading(address, x.is_identity ? "One of your own addresses." : "Not a contact."),
      el("section", { class: "card", "data-testid": "explain" },
        el("h2", {}, "Why"),
        el("p", { "data-testid": "explain-reason" }, x.reason),
        x.known ? el("p", {}, `${x.messages_from} messages from it, ${x.messages_to} to it; policy ${x.policy}.`) : null,
        Object.keys(x.by_class).length ? el("p", {}, "Its mail: ", Object.entries(x.by_class).map(([k, v]) => `${v} ${k}`).join(", ")) : null,
        el("p", { class: "hint" }, error.message))),
    title: address,
  };
}

export async function contact(address) {
  let c;
  try {
    [c] = await Promise.all([get("contact", { address, timeline: 20 })]);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return notAContact(address, e);
    throw e;
  }
  const groups = await get("groups");
  const cadenceState = c.cadence_days
    ? c.neglected ? el("span", { class: "late", "data-testid": "contact-cadence-state" }, `overdue since ${day(c.due)}`) : el("span", { class: "ok", "data-testid": "contact-cadence-state" }, `kept; next touch by ${day(c.due)}`)
    : el("span", { class: "muted", "data-testid": "contact-cadence-state" }, "no cadence");

  const msgBox = el("div", { class: "chart", role: "img", "aria-label": `Messages per month with ${c.name || c.email}: from them and from you` });
  const replyBox = el("div", { class: "chart", role: "img", "aria-label": "Median reply time per month, each way, in hours" });
  const msg = messagesChart(c.monthly);
  const reply = replyChart(c.monthly);
  const charts = [];

  const node = el("div", { class: "contact" },
    heading(c.name || c.email, c.name ? c.email : null),
    el("div", { class: "strip" },
      figure("from them", c.inbound_count, "contact-inbound-count"),
      figure("from you", c.outbound_count, "contact-outbound-count"),
      figure("threads", c.thread_count, "contact-thread-count"),
      figure("you answer in (median)", duration(c.median_reply_mine_secs), "contact-reply-mine"),
      figure("they answer in (median)", duration(c.median_reply_theirs_secs), "contact-reply-theirs")),
    el("div", { class: "grid2" },
      el("section", { class: "card", "aria-labelledby": "facts-h" },
        el("h2", { id: "facts-h" }, "At a glance"),
        el("dl", { class: "facts" },
          el("dt", {}, "First contact"), el("dd", { "data-testid": "contact-first" }, day(c.first_contact), " (", when(c.first_contact), ")"),
          el("dt", {}, "Last contact"), el("dd", { "data-testid": "contact-last" }, day(c.last_contact), " (", when(c.last_contact), ")"),
          el("dt", {}, "Last from them"), el("dd", {}, when(c.last_inbound)),
          el("dt", {}, "Last from you"), el("dd", {}, when(c.last_outbound)),
          el("dt", {}, "Cadence"), el("dd", { "data-testid": "contact-cadence" }, c.cadence_days ? `every ${c.cadence_days} days · ` : "", cadenceState),
          el("dt", {}, "Group"), el("dd", { "data-testid": "contact-group" }, c.group || "—"))),
      settings(c, groups)),
    el("section", { class: "card", "aria-labelledby": "chart1-h" },
      el("h2", { id: "chart1-h" }, "Messages per month"),
      c.monthly.length ? msgBox : el("p", { class: "empty" }, "No messages counted yet."),
      el("h2", { id: "chart2-h" }, "Reply time per month"),
      c.monthly.length ? replyBox : null,
      monthlyTable(c.monthly)),
    el("div", { class: "grid2" },
      el("section", { class: "card", "aria-labelledby": "open-h" },
        el("h2", { id: "open-h" }, "Open threads ", el("span", { class: "count" }, String(c.open_threads.length))),
        c.open_threads.length
          ? el("ul", { class: "rows", "data-testid": "contact-open-threads" }, c.open_threads.map((t) => el("li", { class: "row", "data-row": "", tabindex: "0", "data-href": `#/thread/${t.thread_id}` }, el("div", { class: "main-col" }, threadLink(t.thread_id, t.subject), el("div", { class: "meta" }, `waiting on ${t.waiting_on === "me" ? "you" : "them"} · `, when(t.since))))))
          : el("p", { class: "empty" }, "Nothing waits on anyone.")),
      el("section", { class: "card", "aria-labelledby": "names-h" },
        el("h2", { id: "names-h" }, "Names and addresses"),
        el("ul", { class: "plain-list", "data-testid": "contact-addresses" }, c.addresses.map((a) => el("li", {}, el("strong", {}, a.email), a.name ? ` — ${a.name}` : "", el("span", { class: "muted" }, ` (${a.reason})`)))),
        c.name_history.length > 1 ? el("p", {}, "Names seen: ", c.name_history.map((n) => `${n.name} (${n.uses}×)`).join(", ")) : null)),
    el("section", { class: "card", "aria-labelledby": "recent-h" },
      el("h2", { id: "recent-h" }, "Recent messages"),
      el("table", { class: "plain", "data-testid": "contact-timeline" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Date"), el("th", { scope: "col" }, "Way"), el("th", { scope: "col" }, "Subject"), el("th", { scope: "col" }, "Kind"))),
        el("tbody", {}, c.timeline.map((m) => el("tr", {},
          el("td", {}, day(m.date)),
          el("td", {}, m.direction === "outbound" ? "→ to them" : m.direction === "inbound" ? "← from them" : "↔"),
          el("td", {}, threadLink(m.thread_id, m.subject)),
          el("td", {}, m.class === "person" ? "" : m.class)))))));

  return {
    node,
    title: c.name || c.email,
    mounted() {
      if (!c.monthly.length) return;
      charts.push(chart(msgBox, msg.options, msg.data));
      charts.push(chart(replyBox, reply.options, reply.data));
      for (const ch of charts) ch.draw();
    },
    dispose() {
      for (const ch of charts) ch.dispose();
    },
  };
}

function messagesOptions(monthly, width) {
  const bars = (align) => (window.uPlot ? window.uPlot.paths.bars({ size: [0.35, 48], align }) : undefined);
  return {
    width,
    height: 220,
    scales: { x: xScale(monthly.length), y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: axes(monthly.map((m) => m.month), "messages", width),
    series: [
      {},
      { label: "From them", stroke: css("--in"), fill: css("--in-fill"), paths: bars(-1), points: { show: false } },
      { label: "From you", stroke: css("--out"), fill: css("--out-fill"), paths: bars(1), points: { show: false } },
    ],
    legend: { live: false },
  };
}

