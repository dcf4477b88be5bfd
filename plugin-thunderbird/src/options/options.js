// The options page: host status, identities, policy, backfill progress. Refreshes itself while
// it is open (the backfill saves its progress after every page).
import { describeBackfill, describeHost } from "./describe.js";

const $ = (id) => document.getElementById(id);
let announced = false;

function para(text, cls) {
  const p = document.createElement("p");
  p.textContent = text;
  if (cls) p.className = cls;
  return p;
}

async function refresh() {
  let s;
  try {
    s = await messenger.runtime.sendMessage({ command: "status" });
  } catch (e) {
    $("host").replaceChildren(para(`The extension's background is not running: ${e}`, "error"));
    return;
  }
  const h = describeHost(s);
  $("host").replaceChildren(...h.lines.map((l, i) => para(l, i === 0 ? (h.ok ? "ok" : "error") : "muted")));
  if (!announced) {
    announced = true;
    console.info(`rapport: options page: ${h.lines[0]}`); // no addresses: version and state only
  }

  const ids = (s.host && s.host.identities) || [];
  const list = document.createElement("ul");
  for (const i of ids) {
    const li = document.createElement("li");
    li.textContent = `${i.email}${i.confirmed ? "" : " (candidate, seen in Sent mail)"}`;
    list.append(li);
  }
  $("identities").replaceChildren(ids.length ? list : para("None yet: mail you send decides nothing until Rapport knows your addresses.", "muted"));
  $("syncIdentities").checked = !!s.settings.syncIdentities;
  $("includeJunk").checked = !!s.settings.includeJunk;

  const policy = s.host ? s.host.policy : null;
  $("policy").replaceChildren(
    para(
      policy
        ? `Policy: ${policy} (change it with \`rapport policy sent-only|sent-and-received|none\`).`
        : "Policy: unknown while the host is not reachable.",
    ),
  );

  const b = describeBackfill(s.backfill);
  const parts = [para(b.text)];
  if (b.fraction !== null) {
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = b.fraction;
    parts.push(bar);
  }
  if (s.reconcile && s.reconcile.lastResult) {
    parts.push(para(`Last check for missed mail: ${new Date(s.reconcile.lastResult.at).toLocaleString()}, ${s.reconcile.lastResult.checked} checked, ${s.reconcile.lastResult.queued} added.`, "muted"));
  }
  $("backfill").replaceChildren(...parts);

  const q = [para(`${s.queue.size} message(s) waiting to be stored; ${s.capture.captured} stored in this session.`)];
  for (const f of s.queue.failures.slice(-5)) {
    q.push(para(`Not stored (${new Date(f.at).toLocaleString()}, ${f.folder || "no folder"}): ${f.reason}`, "muted"));
  }
  $("queue").replaceChildren(...q);
}

$("reconcile").addEventListener("click", () => messenger.runtime.sendMessage({ command: "reconcile-now" }).then(refresh));
$("rescan").addEventListener("click", () => messenger.runtime.sendMessage({ command: "rescan" }).then(refresh));
for (const id of ["syncIdentities", "includeJunk"]) {
  $(id).addEventListener("change", (e) =>
    messenger.runtime.sendMessage({ command: "set-settings", settings: { [id]: e.target.checked } }).then(refresh),
  );
}

refresh();
setInterval(refresh, 2000);
