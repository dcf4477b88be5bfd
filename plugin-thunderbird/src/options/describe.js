// Words for the options page, from the background's status object (kept pure for tests).

export function describeHost(s) {
  if (s && s.host) {
    const st = s.host.stats || {};
    return {
      ok: true,
      lines: [
        `Connected to Rapport ${s.host.version} (protocol ${s.host.protocol}).`,
        `Database: ${s.host.database}`,
        `${st.messages ?? 0} messages, ${st.threads ?? 0} threads, ${st.contacts ?? 0} contacts.`,
      ],
    };
  }
  const why = (s && (s.hostError || (s.connection && s.connection.lastError))) || "unknown error";
  return {
    ok: false,
    lines: [
      `Rapport is not reachable: ${why}`,
      "Run `rapport install thunderbird` in a terminal, then restart Thunderbird.",
    ],
  };
}

export function describeBackfill(b) {
  if (!b || b.status === "pending" || !b.folders) return { text: "Existing mail: not scanned yet.", fraction: null };
  const folders = b.folders.length;
  const done = b.folders.filter((f) => f.done).length;
  const fraction = b.total > 0 ? Math.min(1, b.checked / b.total) : folders ? done / folders : 1;
  if (b.status === "done") {
    return { text: `Existing mail: all ${folders} folder(s) scanned, ${b.checked} message(s) checked, ${b.queued} added.`, fraction: 1 };
  }
  const head = b.status === "paused" ? `Existing mail: paused (${b.error}).` : "Existing mail: scanning…";
  return { text: `${head} ${done} of ${folders} folder(s), ${b.checked} of ${b.total || "?"} message(s) checked, ${b.queued} added.`, fraction };
}
