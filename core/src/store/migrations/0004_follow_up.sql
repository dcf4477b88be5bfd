-- What the user decided in the dashboard or the CLI. A contact snoozed until a date is left out
-- of "neglected" until then.
ALTER TABLE contact ADD COLUMN snoozed_until INTEGER;

-- A thread marked done, or snoozed until a date, is left out of "awaiting". The mark names the
-- thread's last message when it was set (its key, which survives re-threading), so a newer
-- message in the thread brings the thread back.
CREATE TABLE thread_mark (
    message_key TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('done', 'snoozed')),
    until INTEGER,
    marked_at INTEGER NOT NULL
) STRICT;

-- One row per `rapport import` (or binding import), its progress written with every batch it
-- commits, so other programs (the dashboard) can show it while it runs.
CREATE TABLE import_run (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    label TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    finished INTEGER,
    outcome TEXT NOT NULL DEFAULT '',
    files_total INTEGER NOT NULL DEFAULT 0,
    files_done INTEGER NOT NULL DEFAULT 0,
    bytes_total INTEGER NOT NULL DEFAULT 0,
    bytes_done INTEGER NOT NULL DEFAULT 0,
    messages INTEGER NOT NULL DEFAULT 0,
    stored INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0
) STRICT;
