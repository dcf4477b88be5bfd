#!/usr/bin/env python3
"""The baseline for the IMAP benchmark: a minimal client that logs in, selects INBOX and fetches
every header with one `UID FETCH 1:* BODY.PEEK[HEADER.FIELDS (...)]`, as Rapport's sync asks.
usage: imap_bare_fetch.py PORT CA_FILE  → prints {"messages": n, "seconds": s}"""
import imaplib
import json
import ssl
import sys
import time

FIELDS = ("MESSAGE-ID IN-REPLY-TO REFERENCES DATE FROM SENDER REPLY-TO TO CC BCC SUBJECT LIST-ID LIST-POST "
          "LIST-UNSUBSCRIBE LIST-UNSUBSCRIBE-POST PRECEDENCE AUTO-SUBMITTED X-AUTO-RESPONSE-SUPPRESS RETURN-PATH "
          "FEEDBACK-ID THREAD-INDEX THREAD-TOPIC X-MICROSOFT-ORIGINAL-MESSAGE-ID X-RAPPORT-ID CONTENT-TYPE "
          "X-AUTOREPLY X-AUTORESPOND X-MAILING-LIST MAILING-LIST")
port, ca = int(sys.argv[1]), sys.argv[2]
start = time.monotonic()
m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ssl.create_default_context(cafile=ca))
m.login("alice", "alice-pw")
m.select("INBOX", readonly=True)
typ, data = m.uid("FETCH", "1:*", f"(UID BODY.PEEK[HEADER.FIELDS ({FIELDS})])")
n = sum(1 for d in data if isinstance(d, tuple))
m.logout()
print(json.dumps({"messages": n, "seconds": round(time.monotonic() - start, 3)}))
