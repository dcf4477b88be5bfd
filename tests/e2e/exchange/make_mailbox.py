#!/usr/bin/env python3
"""Builds the Exchange test mailbox from real list mail: SRC (a directory of message files) →
OUT/{Inbox,Sent Items,Projects}/NNNNN.eml, at most COUNT messages in file-name order.

The most frequent sender becomes the mailbox's owner: their address is replaced by OWNER in
every header, and their messages go to Sent Items as they left their client — without the
headers the list and the transport added on the way (List-*, Received, …). One message in
seven of the rest goes to a user folder, Projects; the others to the Inbox. Both the import
and the Exchange double read these same files."""

import collections
import email.utils
import os
import re
import sys

ADDED_ON_THE_WAY = re.compile(
    rb"^(list-[a-z-]+|received|return-path|x-mailing-list|precedence|delivered-to|"
    rb"dkim-signature|arc-[a-z-]+|x-spam-[a-z-]+|authentication-results|mailing-list)$",
    re.I,
)


def header_end(raw):
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = raw.find(sep)
        if i >= 0:
            return i + len(sep)
    return len(raw)


def from_address(raw):
    head = raw[: header_end(raw)].decode("utf-8", "replace")
    m = re.search(r"^From:(.*(?:\n[ \t].*)*)", head, re.M | re.I)
    if not m:
        return None
    addrs = email.utils.getaddresses([m.group(1).replace("\n", " ")])
    return addrs[0][1].lower() if addrs and addrs[0][1] else None


def strip_added(raw):
    end = header_end(raw)
    head, body = raw[:end], raw[end:]
    out, keep = [], True
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if keep:
                out.append(line)
            continue
        name = line.split(b":", 1)[0].strip()
        keep = not ADDED_ON_THE_WAY.match(name)
        if keep:
            out.append(line)
    return b"".join(out) + body


def main():
    src, out, owner, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    names = sorted(n for n in os.listdir(src) if os.path.isfile(os.path.join(src, n)))[:count]
    raws = []
    for n in names:
        with open(os.path.join(src, n), "rb") as fh:
            raws.append(fh.read())
    senders = collections.Counter(a for a in map(from_address, raws) if a)
    me = senders.most_common(1)[0][0]
    pattern = re.compile(re.escape(me.encode()), re.I)
    for folder in ("Inbox", "Sent Items", "Projects"):
        os.makedirs(os.path.join(out, folder), exist_ok=True)
    placed = collections.Counter()
    for i, raw in enumerate(raws):
        end = header_end(raw)
        sent = from_address(raw) == me
        raw = pattern.sub(owner.encode(), raw[:end]) + raw[end:]
        if sent:
            folder, raw = "Sent Items", strip_added(raw)
        elif i % 7 == 3:
            folder = "Projects"
        else:
            folder = "Inbox"
        placed[folder] += 1
        with open(os.path.join(out, folder, f"{i:05d}.eml"), "wb") as fh:
            fh.write(raw)
    print(" ".join(f"{k}={v}" for k, v in sorted(placed.items())), f"owner-was={me}")


if __name__ == "__main__":
    main()
