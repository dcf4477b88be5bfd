#!/usr/bin/env python3
"""Compares what `rapport import FILE.pst` stored with what Debian's `readpst -e` (libpst, an
independent reader of the same format) wrote for the same file: the number of mail items, their
Message-IDs and their senders. Prints one line per difference and a summary; exits 1 on any.

usage: compare_readpst.py RAPPORT_DB READPST_OUTPUT_DIR
"""
import email.policy
import email.utils
import pathlib
import re
import sqlite3
import sys
from email.parser import BytesHeaderParser


ADDRESS = re.compile(r"^[^@\s/]+@[^@\s]+\.[^@\s]+$")


def readpst_items(root):
    """(message-id or None, sender address or None) of every .eml readpst wrote."""
    parser = BytesHeaderParser(policy=email.policy.compat32)
    items = []
    for path in sorted(pathlib.Path(root).rglob("*.eml")):
        headers = parser.parsebytes(path.read_bytes())
        mid = (headers.get("Message-ID") or "").strip().strip("<>") or None
        _, sender = email.utils.parseaddr(str(headers.get("From") or ""))
        # Exchange and Notes senders ("lokay", "/o=enron/…") are no address to compare.
        sender = sender.lower() if ADDRESS.match(sender) else None
        items.append((mid, sender))
    return items


def rapport_items(db):
    """(stored key, sender address) of every source the import recorded."""
    con = sqlite3.connect(db)
    rows = con.execute(
        """SELECT m.key, lower(a.email) FROM source s JOIN message m ON m.id = s.message_id
           LEFT JOIN address a ON a.id = m.from_address_id"""
    ).fetchall()
    return [(key, sender) for key, sender in rows]


def main():
    db, out = sys.argv[1], sys.argv[2]
    ours, theirs = rapport_items(db), readpst_items(out)
    problems = []
    if len(ours) != len(theirs):
        problems.append(f"count: rapport stored {len(ours)} items, readpst wrote {len(theirs)}")
    our_senders = {}
    for key, sender in ours:
        our_senders.setdefault(key, set()).add(sender)
    with_id = [(mid, s) for mid, s in theirs if mid]
    for mid, sender in with_id:
        if mid not in our_senders:
            problems.append(f"Message-ID <{mid}>: readpst has it, rapport does not")
        elif sender and sender not in our_senders[mid]:
            problems.append(f"Message-ID <{mid}>: sender {sender} (readpst) vs {our_senders[mid]}")
    their_ids = {mid for mid, _ in with_id}
    for key in our_senders:
        # Items without a Message-ID are stored under a derived key; only real ids compare.
        if "@" in key and not key.startswith("rapport.") and key not in their_ids and with_id:
            problems.append(f"Message-ID <{key}>: rapport has it, readpst does not")
    # Items without a Message-ID: compare their senders as a multiset.
    their_bare = sorted(s or "" for mid, s in theirs if not mid)
    our_bare = sorted(
        (next(iter(s)) or "") for k, s in our_senders.items() if k not in their_ids
    )
    if their_bare != our_bare and len(ours) == len(theirs):
        problems.append(f"senders of items without Message-ID: readpst {their_bare}, rapport {our_bare}")
    for p in problems:
        print(p)
    print(
        f"{len(theirs)} items from readpst, {len(ours)} from rapport, "
        f"{len(with_id)} Message-IDs compared, {len(problems)} difference(s)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
