#!/usr/bin/env python3
"""Delivers the Thunderbird end-to-end test's mail into a Maildir, as a mail server would:
CRLF line ends, written to tmp/ and renamed into new/, owned by the Dovecot mail user.

usage: mail.py MAILDIR SET [--owner UID:GID] [--copy DIR]
--owner chowns what it writes (Dovecot's mail user); --copy also keeps the server bytes in DIR.
SET is one of:
  archive  two messages from 2019, read by Thunderbird before the extension is installed
  startup  mail waiting when Thunderbird first starts (a thread, UTF-8, the user's own copy, a list)
  live     mail arriving later: plain, two that filters move (Projects, Trash), a duplicate
           Message-ID pair, and the driver's "reply to" trigger
  bulk     40 messages of ~150 KB from other senders (host-kill test) and the "show" trigger
Prints a JSON list of {"message_id", "from", "subject", "file"} for what was delivered.
Message-IDs are fixed, so a set must be delivered once per run."""
import base64
import json
import os
import random
import sys
import time

DOMAIN = "e2e.test"


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def date(offset_minutes=0):
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(time.time() + offset_minutes * 60))


def message(mid, frm, to, subject, body, extra=None, minutes=0, when=None):
    head = [
        f"From: {frm}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {when or date(minutes)}",
        f"Message-ID: <{mid}>",
        "MIME-Version: 1.0",
    ]
    head += extra or []
    if not any(h.lower().startswith("content-type:") for h in head):
        head.append("Content-Type: text/plain; charset=utf-8")
        head.append("Content-Transfer-Encoding: 8bit")
    return mid, frm, subject, crlf("\n".join(head) + "\n\n" + body)


BOB = "Bob Example <bob@e2e.test>"
ALICE = "Alice <alice@example.test>"
DRIVER = "E2E driver <driver@e2e.test>"
# Trigger mail for the test driver extension: automated, so it makes no contact.
AUTO = ["Auto-Submitted: auto-generated"]


def startup():
    att = base64.encodebytes(bytes(range(256)) * 8).decode()
    return [
        message(f"a1@{DOMAIN}", BOB, ALICE, "Budget for next year", "Hi Alice, can we talk about the budget?\n", minutes=-30),
        message(f"a2@{DOMAIN}", BOB, f"{ALICE}", "Re: Budget for next year",
                "Following up on my own mail.\n",
                [f"Cc: Carol <carol@{DOMAIN}>", f"In-Reply-To: <a1@{DOMAIN}>", f"References: <a1@{DOMAIN}>"], minutes=-20),
        message(f"a3@{DOMAIN}", "=?UTF-8?Q?Jos=C3=A9_N=C3=BA=C3=B1ez?= <jose@e2e.test>", ALICE,
                "=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=",
                "--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                "Grüße aus Köln – naïve café ☕\n--b1\nContent-Type: application/octet-stream; name=\"b.bin\"\n"
                f"Content-Transfer-Encoding: base64\n\n{att}--b1--\n",
                ["Content-Type: multipart/mixed; boundary=\"b1\""], minutes=-15),
        # The user's own message, copied to herself (sent from another client): outbound.
        message(f"a4@{DOMAIN}", ALICE, f"Dave <dave@{DOMAIN}>", "Lunch on Friday?", "Dave, lunch on Friday?\n",
                [f"Cc: {ALICE}"], minutes=-10),
        message(f"a5@{DOMAIN}", f"News <news@lists.{DOMAIN}>", ALICE, "Weekly digest", "All the news.\n",
                [f"List-Id: <news.lists.{DOMAIN}>", "Precedence: list",
                 f"List-Unsubscribe: <mailto:unsubscribe@lists.{DOMAIN}>"], minutes=-5),
    ]


def archive():
    # Mail from 2019: outside the extension's reconciliation window (30 days).
    old = "Mon, 06 May 2019 09:00:00 +0000"
    return [
        message(f"old1@{DOMAIN}", f"Ivan <ivan@{DOMAIN}>", ALICE, "Old times", "Archived.\n", when=old),
        message(f"old2@{DOMAIN}", ALICE, f"Ivan <ivan@{DOMAIN}>", "Re: Old times", "Archived reply.\n",
                [f"Cc: {ALICE}", f"In-Reply-To: <old1@{DOMAIN}>", f"References: <old1@{DOMAIN}>"],
                when="Mon, 06 May 2019 10:00:00 +0000"),
    ]


def live():
    return [
        message(f"b1@{DOMAIN}", f"Erin <erin@{DOMAIN}>", ALICE, "Quick question", "Erin here.\n"),
        # Moved by the incoming filters (see thunderbird.sh).
        message(f"b2@{DOMAIN}", f"Frank <frank@{DOMAIN}>", ALICE, "[filter-projects] Plans", "Into Projects.\n"),
        message(f"b3@{DOMAIN}", f"Grace <grace@{DOMAIN}>", ALICE, "[filter-trash] Old stuff", "Into Trash.\n"),
        # Two copies with one Message-ID (direct and list copy): one message in Rapport.
        message(f"b4@{DOMAIN}", f"Heidi <heidi@{DOMAIN}>", ALICE, "Team offsite", "Direct copy.\n"),
        message(f"b4@{DOMAIN}", f"Heidi <heidi@{DOMAIN}>", f"team@lists.{DOMAIN}", "Team offsite", "List copy.\n",
                [f"List-Id: <team.lists.{DOMAIN}>"]),
        message(f"t-reply@{DOMAIN}", DRIVER, ALICE, f"[e2e] reply to <a2@{DOMAIN}>", "Driver: reply to a2.\n", AUTO),
    ]


def bulk():
    rnd = random.Random(5)
    out = []
    for i in range(40):
        blob = base64.encodebytes(rnd.randbytes(110_000)).decode()
        out.append(message(f"c{i}@{DOMAIN}", f"Sender {i} <s{i}@{DOMAIN}>", ALICE, f"Report {i}",
                           f"--b\nContent-Type: text/plain\n\nReport {i}\n--b\nContent-Type: application/octet-stream\n"
                           f"Content-Transfer-Encoding: base64\n\n{blob}--b--\n",
                           ["Content-Type: multipart/mixed; boundary=\"b\""]))
    out.append(message(f"t-show@{DOMAIN}", DRIVER, ALICE, f"[e2e] show <a2@{DOMAIN}>", "Driver: display a2.\n", AUTO))
    return out


def deliver(maildir, name, data, owner):
    for d in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(maildir, d), exist_ok=True)
    tmp = os.path.join(maildir, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
    dst = os.path.join(maildir, "new", name)
    os.rename(tmp, dst)
    if owner:
        for p in (maildir, *(os.path.join(maildir, d) for d in ("tmp", "new", "cur")), dst):
            os.chown(p, *owner)
    return dst


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    maildir, which = args[0], args[1]
    owner = copy = None
    if "--owner" in args:
        uid, gid = args[args.index("--owner") + 1].split(":")
        owner = (int(uid), int(gid))
    if "--copy" in args:
        copy = args[args.index("--copy") + 1]
        os.makedirs(copy, exist_ok=True)
    sets = {"archive": archive, "startup": startup, "live": live, "bulk": bulk}
    if which not in sets:
        sys.exit(f"mail.py: unknown set {which!r} (one of {', '.join(sets)})")
    out = []
    stamp = int(time.time())
    for n, (mid, frm, subject, data) in enumerate(sets[which]()):
        path = deliver(maildir, f"{stamp}.{which}{n:03d}.e2e", data, owner)
        if copy:
            with open(os.path.join(copy, f"{which}{n:03d}.eml"), "wb") as f:
                f.write(data)
        out.append({"message_id": mid, "from": frm, "subject": subject, "file": path, "size": len(data)})
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
