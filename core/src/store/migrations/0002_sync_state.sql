-- Where every pull source stands in every folder, one row per (kind, account, folder). The
-- cursor is opaque here: only the source that wrote it reads it (IMAP keeps its UIDVALIDITY and
-- watermarks as JSON; POP3, EWS and Graph keep their own). IMAP's per-folder state moves over.
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    cursor TEXT NOT NULL DEFAULT '',
    -- 'sync', 'idle' or 'polling': how the folder is kept current
    mode TEXT NOT NULL DEFAULT '',
    message_count INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    last_success INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, account, folder)
) STRICT;

INSERT INTO sync_state (kind, account, folder, cursor, mode, message_count, last_error, last_success)
SELECT 'imap', f.account, f.folder,
       json_object('uidvalidity', f.uidvalidity, 'next_uid', f.next_uid,
                   'backfill_below', f.backfill_below, 'highest_modseq', f.highest_modseq),
       f.mode, f.message_count, f.last_error, f.last_sync
FROM sync_folder f
WHERE f.id = (SELECT max(g.id) FROM sync_folder g
              WHERE g.account = f.account AND g.folder = f.folder);

DROP TABLE sync_folder;
