#!/usr/bin/env python3
"""Small IMAP client for the end-to-end test: append, recreate a folder, and a bare header fetch.

usage: imap_tool.py PORT CA_FILE COMMAND ARGS...
  append FOLDER FILE...        APPEND each file to FOLDER
  recreate FOLDER FILE...      DELETE and CREATE FOLDER (new UIDVALIDITY), then APPEND the files
  create FOLDER FILE...        CREATE FOLDER and APPEND the files
  uidvalidity FOLDER           print the folder's UIDVALIDITY
"""
import imaplib
import ssl
import sys
import time


def connect(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
    m.login("alice", "alice-pw")
    return m


def append(m, folder, files):
    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        typ, resp = m.append(folder, None, None, data)
        if typ != "OK":
            raise SystemExit(f"APPEND {f}: {resp}")


def main():
    port, ca, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    args = sys.argv[4:]
    m = connect(port, ca)
    if cmd == "append":
        append(m, args[0], args[1:])
    elif cmd == "create":
        m.create(args[0])
        append(m, args[0], args[1:])
    elif cmd == "recreate":
        m.delete(args[0])
        time.sleep(1.2)  # Dovecot derives UIDVALIDITY from the clock: make it differ
        m.create(args[0])
        append(m, args[0], args[1:])
    elif cmd == "uidvalidity":
        typ, data = m.status(args[0], "(UIDVALIDITY)")
        print(data[0].decode().split("UIDVALIDITY")[1].strip(" )"))
    else:
        raise SystemExit(f"unknown command {cmd}")
    m.logout()


if __name__ == "__main__":
    main()
