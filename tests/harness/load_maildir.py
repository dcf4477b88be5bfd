#!/usr/bin/env python3
"""Loads every message file under SRC into the maildir folder DST_CUR (a `cur/` directory),
in sorted order, one file each, named NNNNNNN.test:2,FLAGS. Files that are not mail (the
corpora's .json and .md notes, COPYING, README) are left out.

usage: load_maildir.py SRC DST_CUR [--lf] [--flags S]
  --lf       store lines ending in LF, as maildir files are (for servers that read no CRLF)
  --flags S  the maildir flags of every message (default: S, seen)
"""
import argparse
import os


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--lf", action="store_true")
    parser.add_argument("--flags", default="S")
    args = parser.parse_args()
    n = 0
    for root, dirs, files in os.walk(args.src):
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".json", ".md")) or name in ("COPYING", "README"):
                continue
            with open(os.path.join(root, name), "rb") as fh:
                raw = fh.read()
            if args.lf:
                raw = raw.replace(b"\r\n", b"\n")
            n += 1
            with open(os.path.join(args.dst, f"{n:07d}.test:2,{args.flags}"), "wb") as out:
                out.write(raw)
    print(n, "messages loaded")


if __name__ == "__main__":
    main()
