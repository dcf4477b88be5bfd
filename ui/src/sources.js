// Sources: every account and capture path, its last sync and errors, what `rapport doctor`
// advises, and the progress of imports while they run.

import { get, el, when, heading, figure } from "./lib.js";

function importRow(r) {
  const fraction = r.bytes_total > 0 ? Math.min(1, r.bytes_done / r.bytes_total) : null;
  return el("li", { class: "row", "data-testid": "import-row", "data-state": r.state },
    el("div", { class: "main-col" },
      el("strong", {}, r.label || "import"),
      el("div", { class: "meta" }, `${r.state} · started `, when(r.started), ` · ${r.messages} read, ${r.stored} stored, ${r.duplicates} already there, ${r.skipped} skipped`),
      r.state === "running" && fraction !== null
        ? el("progress", { max: "1", value: String(fraction), "aria-label": `Import of ${r.label}`, "data-testid": "import-progress" }, `${Math.round(fraction * 100)}%`)
        : null),
    el("span", { class: `state ${r.state}` }, r.state === "running" && fraction !== null ? `${Math.round(fraction * 100)} %` : r.state));
}

export async function sources() {
  const [capture, accounts, checks, imports, stats] = await Promise.all([get("sources"), get("status"), get("doctor"), get("imports", { limit: 10 }), get("stats")]);
  const problems = checks.filter((c) => c.status !== "ok");
  const node = el("div", { class: "sources" },
    heading("Sources", "Where your mail comes from, how current it is, and what needs attention."),
    el("div", { class: "strip" },
      figure("messages", stats.messages, "sources-messages"),
      figure("contacts", stats.contacts, "sources-contacts"),
      figure("capture paths", capture.length, "sources-paths"),
      figure("need attention", problems.length, "sources-problems")),
    el("section", { class: "card", "aria-labelledby": "imports-h" },
      el("h2", { id: "imports-h" }, "Imports"),
      imports.length ? el("ul", { class: "rows", "data-testid": "imports" }, imports.map(importRow)) : el("p", { class: "empty" }, "No imports yet: rapport import ~/Mail")),
    el("div", { class: "grid2" },
      el("section", { class: "card", "aria-labelledby": "paths-h" },
        el("h2", { id: "paths-h" }, "Capture paths"),
        capture.length
          ? el("table", { class: "plain", "data-testid": "sources-table" },
            el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Path"), el("th", { scope: "col" }, "Account"), el("th", { scope: "col", class: "num" }, "Messages seen"), el("th", { scope: "col" }, "Last"))),
            el("tbody", {}, capture.map((s) => el("tr", { "data-testid": "source-row", "data-kind": s.kind },
              el("td", {}, s.kind), el("td", {}, s.account || "—"), el("td", { class: "num", "data-testid": "sightings" }, String(s.sightings)), el("td", {}, when(s.last_seen))))))
          : el("p", { class: "empty" }, "Nothing stored yet.")),
      el("section", { class: "card", "aria-labelledby": "accounts-h" },
        el("h2", { id: "accounts-h" }, "Accounts"),
        accounts.length
          ? el("table", { class: "plain", "data-testid": "accounts-table" },
            el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Account"), el("th", { scope: "col" }, "Folder"), el("th", { scope: "col" }, "Last sync"), el("th", { scope: "col", class: "num" }, "Messages"), el("th", { scope: "col" }, "Last error"))),
            el("tbody", {}, accounts.flatMap((a) => (a.folders.length ? a.folders : [null]).map((f) => el("tr", {},
              el("td", {}, a.account), el("td", {}, f ? f.folder : "—"),
              el("td", {}, f && f.last_sync ? when(new Date(f.last_sync * 1000).toISOString()) : "never"),
              el("td", { class: "num" }, f ? String(f.message_count) : ""),
              el("td", { class: f && f.last_error ? "late" : "" }, f ? f.last_error || "" : ""))))))
          : el("p", { class: "empty" }, "No accounts. Add one: rapport account add NAME --email you@example.com"))),
    el("section", { class: "card", "aria-labelledby": "doctor-h" },
      el("h2", { id: "doctor-h" }, "Checks"),
      el("ul", { class: "checks", "data-testid": "doctor" }, checks.map((c) => el("li", { class: `check state-${c.status}`, "data-testid": "check", "data-status": c.status },
        el("span", { class: "badge" }, c.status === "ok" ? "OK" : c.status === "warn" ? "Warning" : "Fix"),
        el("strong", {}, c.area), " ", c.detail)))),
    el("div", { hidden: true, "data-testid": "sources-ready" }));
  return { node, title: "Sources" };
}
