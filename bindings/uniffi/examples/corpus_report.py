#!/usr/bin/env python3
"""Imports a maildir through the public API only, then prints the ten most frequent
correspondents and the awaiting-reply list. The twin of bindings/node/examples/corpus-report.js;
bindings/compare-cli.sh checks both against `rapport --json` on the same databases.

    python3 corpus_report.py MAILDIR DB [--me ADDRESS]... [--now ISO] [--json OUT]

Needs the generated module on the path (bindings/uniffi/generate.sh, then
PYTHONPATH=target/bindings/python).
"""

import argparse
import json

from _example import run
from rapport_ffi import AwaitingQuery, ContactQuery, Rapport


def plain(record):
    """A generated record as a dict (records are dataclass-like: their __dict__ is the fields)."""
    return {k: v for k, v in vars(record).items() if not k.startswith("_")}


async def main(args):
    db = Rapport.open(args.db)
    try:
        # Whose mail this is, and that people who wrote count as contacts.
        for me in args.me:
            await db.add_identity(me)
        await db.set_policy("sent-and-received")
        summary = await db.import_paths([args.maildir])
        top = await db.contacts(ContactQuery(sort="messages", limit=10, now=args.now))
        awaiting = await db.awaiting(AwaitingQuery(limit=50, now=args.now))
    finally:
        await db.close()
    print(f"{summary.messages_read} messages read, {summary.stored} new, in {summary.elapsed_ms} ms")
    print("\nTen most frequent correspondents:")
    for c in top:
        print(f"  {c.inbound_count + c.outbound_count:5}  {c.name} <{c.email}>")
    print(f"\nAwaiting reply ({len(awaiting)}):")
    for a in awaiting:
        side = "on me  " if a.waiting_on == "me" else "on them"
        print(f"  {side}  {a.contact_email}: {a.subject}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": plain(summary) | {"errors": [], "skipped_by_reason": summary.skipped_by_reason},
                       "top": [plain(c) for c in top], "awaiting": [plain(a) for a in awaiting]}, f, indent=1)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("maildir")
    p.add_argument("db")
    p.add_argument("--me", action="append", default=[])
    p.add_argument("--now")
    p.add_argument("--json")
    run(main, p)
