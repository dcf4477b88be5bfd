#!/usr/bin/env python3
"""Who is waiting on me: threads whose last person message is someone else's, unanswered; the twin
of bindings/node/examples/waiting-on-me.js.

    python3 waiting_on_me.py --db rapport.db
    python3 waiting_on_me.py ~/Maildir --me you@example.com      (imports first, in memory)

Needs PYTHONPATH=target/bindings/python.
"""

import argparse
import sys

from _example import run
from rapport_ffi import AwaitingQuery, Rapport


async def main(args):
    if not args.db and not args.paths:
        sys.exit("usage: waiting_on_me.py (--db FILE | MAILDIR... --me ADDRESS...)")
    db = Rapport.open(args.db) if args.db else Rapport.open_in_memory()
    try:
        for me in args.me:
            await db.add_identity(me)
        if args.paths:
            await db.import_paths(args.paths)
        waiting = await db.awaiting(AwaitingQuery(on="me", limit=20))
        if not waiting:
            print("Nobody is waiting on you.")
            if (await db.stats()).identities == 0:
                print("(No identities: add yours with --me.)")
        for w in waiting:
            who = f"{w.contact_name} <{w.contact_email}>" if w.contact_name else w.contact_email
            print(f"{w.age_days:4}d  {who}: {w.subject}")
    finally:
        await db.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="Who is waiting on me")
    p.add_argument("paths", nargs="*")
    p.add_argument("--me", action="append", default=[])
    p.add_argument("--db")
    run(main, p)
