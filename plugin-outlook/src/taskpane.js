/*
 * Rapport for Outlook: the task pane.
 *
 * For the message on screen it captures the message, then shows the thread's state and, for
 * the sender and each recipient, the history Rapport knows (bridge methods `capture`,
 * `thread`, `card`). Pinned, it follows the selection (ItemChanged, Mailbox 1.5); with several
 * messages selected (Mailbox 1.13/1.15) it offers to capture them all.
 * Office.js is reached only through RapportOffice (office-adapter.js).
 */
(function (root) {
  "use strict";
  const office = root.RapportOffice;
  const Bridge = root.RapportBridge;
  const capture = root.RapportCapture;
  const doc = root.document;
  const MAX_PEOPLE = 12;
  const READY_TIMEOUT_MS = 10000;

  const $ = (id) => doc.getElementById(id);
  const state = { seq: 0, bridge: null };

  function el(tag, attrs, text) {
    const e = doc.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) e.setAttribute(k, String(v));
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function day(iso) {
    return iso ? String(iso).slice(0, 10) : "never";
  }

  function setStatus(text) {
    const s = $("status");
    s.textContent = text || "";
    s.hidden = !text;
  }

  // ----- problems: say exactly what is wrong and how to fix it -----

  const PROBLEMS = {
    unreachable: (origin) => ({
      title: "Cannot reach Rapport",
      text: "Rapport's bridge at " + origin + " is not answering: it is not running on this computer (or its certificate is not trusted yet).",
      fix: "Start it with `rapport serve` (set it up once with `rapport install outlook`), then select Retry.",
    }),
    "permission-denied": () => ({
      title: "Cannot reach Rapport: local network access is blocked",
      text: "Your browser denied Outlook access to apps on this computer (Local Network Access), so the pane cannot talk to Rapport.",
      fix: "Open the site settings (the icon left of the address) and allow \u201cLocal network access\u201d for Outlook, then select Retry. Administrators can allow it with the LocalNetworkAccessAllowedForUrls policy.",
    }),
    forbidden: () => ({
      title: "Rapport refused this page",
      text: "The bridge accepts requests only from its own address (https://localhost with its port).",
      fix: "Open the add-in from Outlook, as installed by `rapport install outlook`.",
    }),
    timeout: () => ({
      title: "Rapport is not answering",
      text: "The bridge took too long to answer.",
      fix: "Check that `rapport serve` is still running, then select Retry.",
    }),
    outside: () => ({
      title: "Open Rapport from Outlook",
      text: "This page is Rapport's Outlook task pane; Office did not start here.",
      fix: "Open a message in Outlook and choose Rapport > History.",
    }),
  };

  function showProblem(kind, detail) {
    if (kind === "unauthorized") {
      showPairing(state.bridge && state.bridge.hasToken() ? "Rapport no longer accepts this pane's key (it was replaced): pair again." : "");
      return;
    }
    const make = PROBLEMS[kind] || PROBLEMS.unreachable;
    const p = make(state.bridge ? state.bridge.origin : Bridge.defaultOrigin());
    $("problem-title").textContent = p.title;
    $("problem-text").textContent = p.text + (detail ? " (" + detail + ")" : "");
    $("problem-fix").textContent = p.fix;
    $("problem").hidden = false;
    $("problem").dataset.kind = kind;
    // What is on screen may be out of date: show only the problem.
    $("thread").hidden = true;
    $("people").hidden = true;
    $("capture-state").textContent = "";
    setStatus("");
  }

  // ----- pairing: the one-time code `rapport serve` shows, traded for the API token -----

  function showPairing(why) {
    clearProblem();
    $("thread").hidden = true;
    $("people").hidden = true;
    $("capture-state").textContent = "";
    setStatus("");
    $("pair-result").textContent = why || "";
    $("pair").hidden = false;
    $("pair-code").focus();
  }

  async function pairNow() {
    const button = $("pair-run");
    button.disabled = true;
    $("pair-result").textContent = "Pairing…";
    try {
      const token = await state.bridge.pair($("pair-code").value);
      await rememberToken(token);
      $("pair").hidden = true;
      $("pair-code").value = "";
      $("pair-result").textContent = "";
      await state.afterPairing();
    } catch (e) {
      if (e && e.kind === "pairing") $("pair-result").textContent = e.message;
      else showProblem(e && e.kind ? e.kind : "unreachable");
    } finally {
      button.disabled = false;
    }
  }

  async function storedToken() {
    const stored = await office.storageGet(Bridge.TOKEN_KEY).catch(() => null);
    if (stored) return stored;
    try {
      return (root.localStorage && root.localStorage.getItem(Bridge.TOKEN_KEY)) || "";
    } catch (e) {
      return "";
    }
  }

  function clearProblem() {
    $("problem").hidden = true;
    delete $("problem").dataset.kind;
  }

  function isConnectionProblem(e) {
    return e && ["unreachable", "permission-denied", "unauthorized", "forbidden", "timeout"].includes(e.kind);
  }

  // ----- rendering -----

  function fact(dl, label, value, key) {
    dl.appendChild(el("dt", {}, label));
    dl.appendChild(el("dd", { "data-field": key }, value));
  }

  function waitingText(w) {
    if (w === "me") return "your turn to answer";
    if (w === "them") return "waiting on them";
    return "nobody (answered)";
  }

  function renderThread(t) {
    const box = $("thread");
    const dl = $("thread-facts");
    dl.textContent = "";
    if (!t) {
      box.hidden = true;
      return;
    }
    $("thread-subject").textContent = t.subject || "(no subject)";
    fact(dl, "Messages", t.message_count, "thread-messages");
    fact(dl, "Started", day(t.first_date), "thread-first");
    fact(dl, "Last", day(t.last_date) + (t.last_direction ? " (" + t.last_direction + ")" : ""), "thread-last");
    fact(dl, "Waiting on", waitingText(t.waiting_on), "thread-waiting");
    box.hidden = false;
  }

  function personCard(person, answer) {
    const card = el("div", { class: "person", "data-address": person.address.toLowerCase() });
    card.appendChild(el("span", { class: "role" }, person.role));
    const c = answer && answer.contact;
    const ex = answer && answer.explanation;
    card.appendChild(el("div", { class: "who" }, (c && c.name) || person.name || person.address));
    card.appendChild(el("div", { class: "addr" }, person.address));
    if (answer && answer.error) {
      card.appendChild(el("p", { class: "muted" }, "Could not look this address up: " + (answer.error.message || "error")));
      return card;
    }
    const badges = el("div", { class: "badges" });
    const dl = el("dl", { class: "facts" });
    if (c) {
      const open = c.open_threads || [];
      const mine = open.filter((o) => o.waiting_on === "me").length;
      const theirs = open.filter((o) => o.waiting_on === "them").length;
      if (mine) badges.appendChild(el("span", { class: "badge turn-me", "data-field": "turn" }, "your turn (" + mine + ")"));
      if (theirs) badges.appendChild(el("span", { class: "badge", "data-field": mine ? "turn-theirs" : "turn" }, "their turn (" + theirs + ")"));
      if (!mine && !theirs) badges.appendChild(el("span", { class: "badge", "data-field": "turn" }, "nothing open"));
      if (c.neglected) badges.appendChild(el("span", { class: "badge neglected", "data-field": "neglected" }, "neglected" + (c.due ? " since " + day(c.due) : "")));
      else if (c.cadence_days) badges.appendChild(el("span", { class: "badge", "data-field": "neglected" }, "in touch (every " + c.cadence_days + " days)"));
      fact(dl, "First contact", day(c.first_contact), "first_contact");
      fact(dl, "Last contact", day(c.last_contact), "last_contact");
      fact(dl, "Last from them", day(c.last_inbound), "last_inbound");
      fact(dl, "Last from you", day(c.last_outbound), "last_outbound");
      fact(dl, "From them", c.inbound_count, "inbound_count");
      fact(dl, "From you", c.outbound_count, "outbound_count");
      fact(dl, "Threads", c.thread_count + (open.length ? " (" + open.length + " open)" : ""), "thread_count");
    } else if (ex) {
      badges.appendChild(el("span", { class: "badge", "data-field": "status" }, ex.is_identity ? "you" : "not a contact"));
      fact(dl, "From them", ex.messages_from, "inbound_count");
      fact(dl, "Addressed to them", ex.messages_to, "outbound_count");
      if (ex.reason) fact(dl, "Why", ex.reason, "reason");
    }
    card.appendChild(badges);
    card.appendChild(dl);
    return card;
  }

  function peopleOf(fields, me) {
    const seen = new Set();
    const out = [];
    const add = (a, role) => {
      if (!a || !a.address) return;
      const key = a.address.toLowerCase();
      if (seen.has(key) || key === me) return;
      seen.add(key);
      out.push({ name: a.name || "", address: a.address, role: role });
    };
    add(fields.from, "from");
    (fields.to || []).forEach((a) => add(a, "to"));
    (fields.cc || []).forEach((a) => add(a, "cc"));
    return out;
  }

  // ----- the flow for one message -----

  async function show() {
    const seq = ++state.seq;
    const stale = () => seq !== state.seq;
    const item = office.currentItem();
    await refreshSelection();
    if (!item) {
      $("thread").hidden = true;
      $("people").hidden = true;
      setStatus("Select a message to see your history with its sender and recipients.");
      return;
    }
    const fields = item.fields();
    setStatus("Looking up…");
    let captured = null;
    try {
      captured = await capture.captureItem(office, state.bridge, item);
      $("capture-state").textContent = captured.outcome === "stored" ? "captured" : "known";
    } catch (e) {
      if (stale()) return;
      if (isConnectionProblem(e)) {
        showProblem(e.kind);
        return;
      }
      $("capture-state").textContent = "not captured";
    }
    if (stale()) return;
    clearProblem();
    let thread = null;
    try {
      const params = captured && captured.thread_id ? { thread_id: captured.thread_id } : { message_id: fields.internetMessageId };
      thread = await state.bridge.call("thread", params);
    } catch (e) {
      if (isConnectionProblem(e)) {
        if (!stale()) showProblem(e.kind);
        return;
      }
    }
    const people = peopleOf(fields, office.userAddress()).slice(0, MAX_PEOPLE);
    const answers = await Promise.all(
      people.map((p) => state.bridge.call("card", { address: p.address }).catch((e) => ({ error: e })))
    );
    if (stale()) return;
    const broken = answers.find((a) => a && a.error && isConnectionProblem(a.error));
    if (broken) {
      showProblem(broken.error.kind);
      return;
    }
    renderThread(thread);
    const list = $("people-list");
    list.textContent = "";
    people.forEach((p, i) => list.appendChild(personCard(p, answers[i])));
    $("people").hidden = people.length === 0;
    setStatus(people.length ? "" : "Only you are on this message.");
  }

  async function refreshSelection() {
    const box = $("backfill");
    if (!office.supports("1.15")) {
      box.hidden = true;
      return;
    }
    try {
      const selected = await office.selectedItems();
      if (selected.length > 1) {
        const n = Math.min(selected.length, capture.MAX_BACKFILL);
        $("backfill-text").textContent = selected.length + " messages selected" + (selected.length > n ? " (the first " + n + " will be captured)" : "") + ".";
        box.hidden = false;
      } else {
        box.hidden = true;
      }
    } catch (e) {
      box.hidden = true;
    }
  }

  async function runBackfill() {
    const button = $("backfill-run");
    button.disabled = true;
    $("backfill-result").textContent = "Capturing…";
    try {
      const r = await capture.backfillSelected(office, state.bridge, {
        onProgress: (done, total) => {
          $("backfill-result").textContent = "Capturing " + done + " of " + total + "…";
        },
      });
      if (r.error && isConnectionProblem(r.error)) showProblem(r.error.kind);
      $("backfill-result").textContent = r.stored + " new, " + r.duplicate + " already known" + (r.failed ? ", " + r.failed + " failed" : "") + (r.skipped ? ", " + r.skipped + " left (select at most 100)" : "") + ".";
    } catch (e) {
      $("backfill-result").textContent = e.message || "Backfill failed.";
    } finally {
      button.disabled = false;
    }
  }

  async function rememberToken(token) {
    // Roaming settings reach the send handler too (its runtime cannot show a pairing form).
    if (!token) return;
    await office.storageSet(Bridge.TOKEN_KEY, token);
    try {
      if (root.localStorage) root.localStorage.setItem(Bridge.TOKEN_KEY, token);
    } catch (e) {
      /* storage may be disabled */
    }
  }

  function withTimeout(promise, ms) {
    return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms))]);
  }

  /** Opened in a plain browser (e.g. to check the certificate): say whether the bridge works. */
  async function checkBridge() {
    try {
      const st = await state.bridge.call("status");
      setStatus("Rapport is running (" + st.stats.messages + " messages). Open a message in Outlook and choose Rapport > History.");
    } catch (e) {
      showProblem(isConnectionProblem(e) ? e.kind : "outside");
    }
  }

  async function start() {
    state.bridge = Bridge.create({});
    $("retry").addEventListener("click", () => {
      clearProblem();
      show();
    });
    $("backfill-run").addEventListener("click", runBackfill);
    $("pair-form").addEventListener("submit", (event) => {
      event.preventDefault();
      pairNow();
    });
    let info = null;
    try {
      info = await withTimeout(office.ready(), READY_TIMEOUT_MS);
    } catch (e) {
      showProblem("outside");
      return;
    }
    state.bridge.setToken(await storedToken());
    const inOutlook = !!(info && info.host);
    state.afterPairing = inOutlook ? show : checkBridge;
    if (inOutlook) {
      office.onItemChanged(() => show()).catch(() => false);
      office.onSelectionChanged(() => refreshSelection()).catch(() => false);
    }
    if (!state.bridge.hasToken()) {
      showPairing("");
      return;
    }
    await state.afterPairing();
  }

  root.RapportPane = { show: show, start: start };
  start();
})(typeof globalThis !== "undefined" ? globalThis : this);
