#!/usr/bin/env python3
"""Top contacts of a maildir (or mbox, or directory of .eml files); the twin of
bindings/node/examples/top-contacts.js.

    python3 top_contacts.py ~/Maildir [--me you@example.com]... [--db rapport.db] [--limit 10]

Without --db the database is a temporary in-memory one. Needs PYTHONPATH=target/bindings/python.
"""

import argparse
import sys

from _example import run
from rapport_ffi import ContactQuery, ImportProgressListener, Rapport


class Progress(ImportProgressListener):
    def on_progress(self, progress):
        if sys.stderr.isatty():
            print(f"\r{progress.messages} messages read", end="", file=sys.stderr)


async def main(args):
    db = Rapport.open(args.db) if args.db else Rapport.open_in_memory()
    try:
        for me in args.me:
            await db.add_identity(me)
        await db.set_policy("sent-and-received")
        summary = await db.import_paths(args.paths, None, Progress())
        if sys.stderr.isatty():
            print(file=sys.stderr)
        print(f"Imported {summary.messages_read} messages ({summary.stored} new) in {summary.elapsed_ms} ms.")
        top = await db.contacts(ContactQuery(sort="messages", limit=args.limit))
        if not top:
            print("No contacts. Mailing-list mail makes contacts only in threads you took part in: pass your addresses with --me.")
        for i, c in enumerate(top, 1):
            who = f"{c.name} <{c.email}>" if c.name else c.email
            print(f"{i:2}. {who}: {c.inbound_count} in, {c.outbound_count} out, {c.thread_count} threads, "
                  f"last {c.last_contact or 'never'}")
    finally:
        await db.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="Top contacts of a maildir")
    p.add_argument("paths", nargs="+")
    p.add_argument("--me", action="append", default=[])
    p.add_argument("--db")
    p.add_argument("--limit", type=int, default=10)
    run(main, p)
