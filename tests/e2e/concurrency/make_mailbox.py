#!/usr/bin/env python3
"""Writes a synthetic mbox for the concurrency tier: N messages in threads of 1 to 8, between
the user (me@rapport.test) and a few thousand correspondents, some of them mailing lists.
Deterministic for a given seed, so two runs store the same mail.

    make_mailbox.py OUT.mbox N [SEED] [PREFIX]
"""
import random
import sys
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    prefix = sys.argv[4] if len(sys.argv) > 4 else "m"
    rng = random.Random(seed)
    people = [f"Person {i} <p{i}@corp{i % 97}.example>" for i in range(max(50, count // 40))]
    lists = [f"list{i}@lists.example" for i in range(20)]
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    written = 0
    thread = 0
    with open(out, "w", encoding="ascii", newline="\n") as f:
        while written < count:
            thread += 1
            other = rng.choice(people)
            listed = rng.random() < 0.1
            length = min(rng.randint(1, 8), count - written)
            when = start + timedelta(minutes=rng.randint(0, 60 * 24 * 700))
            parent = None
            refs = []
            for k in range(length):
                mid = f"<{prefix}{thread}.{k}@gen.example>"
                mine = (k % 2 == 1) and not listed
                sender = "Me <me@rapport.test>" if mine else other
                to = rng.choice(lists) if listed else (other if mine else "me@rapport.test")
                when += timedelta(minutes=rng.randint(5, 3000))
                f.write(f"From gen@example {when.strftime('%a %b %d %H:%M:%S %Y')}\n")
                f.write(f"From: {sender}\nTo: {to}\nSubject: topic {thread}\n")
                f.write(f"Date: {format_datetime(when)}\nMessage-ID: {mid}\n")
                if listed:
                    f.write(f"List-Id: <{to.replace('@', '.')}>\n")
                if parent:
                    f.write(f"In-Reply-To: {parent}\nReferences: {' '.join(refs)}\n")
                f.write("\nhello\n\n")
                refs.append(mid)
                parent = mid
                written += 1


main()
