-- Rapport schema, version 1. Append-only: later changes go in new numbered files.

-- Every Message-ID ever seen: real messages, their aliases (X-Microsoft-Original-Message-ID,
-- the Outlook add-in's tracking id) and ghosts (referenced but never seen). A thread is a
-- connected component of these nodes.
CREATE TABLE node (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mid TEXT NOT NULL UNIQUE,
    message_id INTEGER REFERENCES message(id) ON DELETE SET NULL,
    thread_id INTEGER NOT NULL REFERENCES thread(id)
) STRICT;
CREATE INDEX node_thread ON node(thread_id);
CREATE INDEX node_message ON node(message_id);

CREATE TABLE thread (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL DEFAULT '',
    root_message_id INTEGER,
    first_date INTEGER NOT NULL DEFAULT 0,
    last_date INTEGER NOT NULL DEFAULT 0,
    message_count INTEGER NOT NULL DEFAULT 0,
    outbound_count INTEGER NOT NULL DEFAULT 0,
    -- the last message that counts for relationships (person mail, or any mail in a thread
    -- the user wrote in)
    last_message_id INTEGER,
    last_direction TEXT NOT NULL DEFAULT '',
    last_counted_date INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX thread_last ON thread(last_direction, last_counted_date);
CREATE INDEX thread_last_date ON thread(last_date);

CREATE TABLE message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- the Message-ID it is stored under (lookups go through node, which indexes every id)
    key TEXT NOT NULL,
    thread_id INTEGER NOT NULL REFERENCES thread(id),
    date INTEGER NOT NULL,
    -- 'missing' or 'invalid' when the Date header could not be used and the capture time stood in
    date_problem TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    base_subject TEXT NOT NULL DEFAULT '',
    -- 1 when the message has no In-Reply-To/References but a reply prefix: it may join a
    -- thread by subject
    orphan_reply INTEGER NOT NULL DEFAULT 0,
    -- the id this message names as its parent (notmuch's choice), and every id it references
    reply_to_mid TEXT NOT NULL DEFAULT '',
    refs TEXT NOT NULL DEFAULT '',
    from_address_id INTEGER REFERENCES address(id),
    direction TEXT NOT NULL DEFAULT 'inbound',
    class TEXT NOT NULL DEFAULT 'person',
    class_reason TEXT NOT NULL DEFAULT '',
    list_id TEXT NOT NULL DEFAULT '',
    thread_index TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL DEFAULT '',
    -- 1 for a record made before the message itself was seen (Outlook's send event)
    provisional INTEGER NOT NULL DEFAULT 0,
    snippet TEXT NOT NULL DEFAULT '',
    stored_at INTEGER NOT NULL
) STRICT;
CREATE INDEX message_thread ON message(thread_id);
CREATE INDEX message_reply_to ON message(reply_to_mid);
-- Only person mail joins threads by subject.
CREATE INDEX message_base_subject ON message(base_subject, date) WHERE class = 'person';

CREATE TABLE address (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    domain TEXT NOT NULL DEFAULT '',
    contact_id INTEGER REFERENCES contact(id) ON DELETE SET NULL,
    -- 1 when the address is a mailing list's own address (List-Id, List-Post)
    is_list INTEGER NOT NULL DEFAULT 0,
    -- why this address is or is not a contact, kept current on every ingest
    status TEXT NOT NULL DEFAULT 'pending',
    reason TEXT NOT NULL DEFAULT '',
    first_seen INTEGER NOT NULL DEFAULT 0,
    last_seen INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX address_contact ON address(contact_id);
CREATE INDEX address_domain ON address(domain);

CREATE TABLE address_name (
    address_id INTEGER NOT NULL REFERENCES address(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    uses INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (address_id, name)
) STRICT;

CREATE TABLE participant (
    message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
    address_id INTEGER NOT NULL REFERENCES address(id),
    role TEXT NOT NULL,
    PRIMARY KEY (message_id, address_id, role)
) WITHOUT ROWID, STRICT;
CREATE INDEX participant_address ON participant(address_id, role);

CREATE TABLE contact (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL DEFAULT '',
    primary_address_id INTEGER REFERENCES address(id),
    group_name TEXT NOT NULL DEFAULT '',
    cadence_days INTEGER,
    created_at INTEGER NOT NULL,
    first_contact INTEGER,
    last_contact INTEGER,
    last_inbound INTEGER,
    last_outbound INTEGER,
    inbound_count INTEGER NOT NULL DEFAULT 0,
    outbound_count INTEGER NOT NULL DEFAULT 0,
    thread_count INTEGER NOT NULL DEFAULT 0,
    median_reply_mine INTEGER,
    median_reply_theirs INTEGER
) STRICT;
CREATE INDEX contact_last ON contact(last_contact);
CREATE INDEX contact_primary ON contact(primary_address_id);
CREATE INDEX contact_group_name ON contact(group_name);

CREATE TABLE contact_group (
    name TEXT PRIMARY KEY,
    cadence_days INTEGER
) STRICT;

CREATE TABLE source (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    account TEXT NOT NULL DEFAULT '',
    folder TEXT NOT NULL DEFAULT '',
    external_id TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    UNIQUE (kind, account, folder, external_id)
) STRICT;
CREATE INDEX source_message ON source(message_id);

CREATE TABLE identity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    -- 'configured' (the user said so) or 'candidate' (seen in From of Sent mail)
    origin TEXT NOT NULL,
    confirmed INTEGER NOT NULL DEFAULT 0,
    account TEXT NOT NULL DEFAULT '',
    seen INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE rule (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,
    pattern TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (action, pattern)
) STRICT;

-- Input that was not stored: unreadable files, messages the parser rejected, with the reason.
CREATE TABLE skip (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    location TEXT NOT NULL UNIQUE,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    at INTEGER NOT NULL
) STRICT;

-- Threads and addresses whose aggregates are not yet recomputed: written with every committed
-- batch, so that an import killed half-way is settled by the next write.
CREATE TABLE pending_thread (
    id INTEGER PRIMARY KEY
) STRICT;
CREATE TABLE pending_address (
    id INTEGER PRIMARY KEY
) STRICT;

CREATE TABLE setting (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE sync_folder (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    -- every UID below this has been fetched (new-mail watermark)
    next_uid INTEGER NOT NULL DEFAULT 1,
    -- history below this UID is still to be fetched, newest first; 1 when done
    backfill_below INTEGER NOT NULL DEFAULT 0,
    highest_modseq INTEGER NOT NULL DEFAULT 0,
    message_count INTEGER NOT NULL DEFAULT 0,
    last_sync INTEGER NOT NULL DEFAULT 0,
    mode TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '',
    UNIQUE (account, folder, uidvalidity)
) STRICT;

-- Full-text search over subjects, and over addresses with their display names.
CREATE VIRTUAL TABLE message_fts USING fts5(subject);
CREATE VIRTUAL TABLE address_fts USING fts5(email, name);
