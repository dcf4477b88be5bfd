// Builds the sender card's DOM from a `cardFor` result (see lib/app.js). Pure DOM building,
// no innerHTML: names and subjects come from mail and are never interpreted as markup.

/** "2026-11-20T10:00:00Z" → "2026-11-20", or "—". */
export function day(iso) {
  return iso ? String(iso).slice(0, 10) : "—";
}

/** Whose turn it is in a thread, in words. */
export function turn(waitingOn) {
  if (waitingOn === "me") return "your turn to reply";
  if (waitingOn === "them") return "waiting on them";
  return "nobody owes a reply";
}

function el(doc, tag, text, cls) {
  const e = doc.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function rows(doc, pairs) {
  const table = el(doc, "table");
  for (const [k, v] of pairs) {
    const tr = el(doc, "tr");
    tr.append(el(doc, "th", k), el(doc, "td", v));
    table.append(tr);
  }
  return table;
}

export function renderCard(doc, data) {
  const box = el(doc, "div");
  if (!data) {
    box.append(el(doc, "p", "No message is displayed.", "muted"));
    return box;
  }
  if (!data.address) {
    box.append(el(doc, "p", "This message has no sender address.", "muted"));
    return box;
  }
  const card = data.card || {};
  const c = card.contact;
  const x = card.explanation || {};
  box.append(el(doc, "h1", c && c.name ? c.name : data.address));
  box.append(el(doc, "p", data.address, "muted"));
  if (c) {
    box.append(
      rows(doc, [
        ["Messages", `${c.inbound_count} from them, ${c.outbound_count} to them`],
        ["First contact", day(c.first_contact)],
        ["Last contact", day(c.last_contact)],
        ["Last from them", day(c.last_inbound)],
        ["Last from you", day(c.last_outbound)],
        ["Threads", c.thread_count],
        ["Neglected", c.neglected ? `yes (cadence ${c.cadence_days} days)` : c.cadence_days ? `no (due ${day(c.due)})` : "no cadence set"],
      ]),
    );
    const open = c.open_threads || [];
    if (open.length) {
      box.append(el(doc, "h2", "Open threads"));
      const ul = el(doc, "ul");
      for (const t of open.slice(0, 5)) ul.append(el(doc, "li", `${t.subject || "(no subject)"} — ${turn(t.waiting_on)}, ${t.age_days} d`));
      box.append(ul);
    }
  } else {
    box.append(
      rows(doc, [
        ["Messages", `${x.messages_from || 0} from, ${x.messages_to || 0} to`],
        ["Contact", "no"],
        ["Why", x.reason || x.status || "not seen yet"],
      ]),
    );
  }
  const t = data.thread;
  box.append(el(doc, "h2", "This conversation"));
  if (t) {
    box.append(
      rows(doc, [
        ["Messages", t.message_count],
        ["Since", day(t.first_date)],
        ["Last", `${day(t.last_date)} (${t.last_direction})`],
        ["State", turn(t.waiting_on)],
      ]),
    );
  } else {
    box.append(el(doc, "p", "Not in Rapport yet (it is captured shortly).", "muted"));
  }
  return box;
}
