#!/usr/bin/env python3
"""Makes a big maildir from a small one: COPIES copies of every file in SRC, each copy's
Message-ID, In-Reply-To and References ids prefixed with its number, so that every copy is new
mail with the same threads (for tests that need a mailbox too big to sync in a blink).

usage: renamed_copies.py SRC DST COPIES
"""
import os
import re
import sys


def main():
    src, dst, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.makedirs(dst)
    ids = re.compile(rb"<([^<>\s]+)>")
    linked = (b"message-id:", b"in-reply-to:", b"references:")
    for k in range(copies):
        for name in sorted(os.listdir(src)):
            with open(os.path.join(src, name), "rb") as fh:
                head, sep, body = fh.read().partition(b"\n\n")
            out, field = [], b""
            for line in head.split(b"\n"):
                if line[:1] not in (b" ", b"\t"):
                    field = line.lower()
                if field.startswith(linked):
                    line = ids.sub(lambda m: b"<c%d.%s>" % (k, m.group(1)), line)
                out.append(line)
            with open(os.path.join(dst, f"{k:03d}.{name}"), "wb") as f:
                f.write(b"\n".join(out) + sep + body)


if __name__ == "__main__":
    main()
