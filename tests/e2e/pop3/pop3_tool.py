#!/usr/bin/env python3
"""POP3 helpers for the end-to-end test: another client's actions, the mailbox's fingerprint,
a bare header fetch for the benchmark, and a relay that hides TOP.

usage: pop3_tool.py COMMAND ARGS...
  touch PORT USER [CA]              a client's first visit: STAT, UIDL, TOP of every message,
                                    QUIT (over STLS with the CA): GNU pop3d writes the UIDs it
                                    assigns into the messages then, once for any client
  delete PORT USER N                as another client would: DELE message N, QUIT
  fingerprint DIR                   print every message file under DIR (cur/ and new/) with the
                                    digest of its bytes, to show nothing was deleted or marked
  top-all PORT USER CA              a bare `TOP n 0` loop over every message, over TLS (poplib);
                                    prints the count and seconds
  no-top-relay LISTEN_PORT PORT     relay to a real POP3 server on PORT that hides TOP: removes it
                                    from CAPA and answers `TOP` with -ERR (a server without TOP)
The password is alice-pw; plain POP3 on 127.0.0.1 unless a CA is given.
"""
import hashlib
import os
import poplib
import socket
import ssl
import sys
import threading
import time

PASSWORD = "alice-pw"
# Real mail has header lines longer than poplib's default limit of 2,048 bytes.
poplib._MAXLINE = 1 << 20


def login(port, user):
    p = poplib.POP3("127.0.0.1", int(port), timeout=30)
    p.user(user)
    p.pass_(PASSWORD)
    return p


def touch(port, user, ca=None):
    p = poplib.POP3("127.0.0.1", int(port), timeout=30)
    if ca:
        p.stls(ssl.create_default_context(cafile=ca))
    p.user(user)
    p.pass_(PASSWORD)
    count, _ = p.stat()
    p.uidl()
    for n in range(1, count + 1):
        p.top(n, 0)
    p.quit()


def delete(port, user, number):
    p = login(port, user)
    p.dele(int(number))
    p.quit()


def fingerprint(root):
    """One line per message file: its place and the digest of its bytes."""
    for sub in ("cur", "new"):
        folder = os.path.join(root, sub)
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            with open(os.path.join(folder, name), "rb") as fh:
                print(f"{hashlib.sha256(fh.read()).hexdigest()} {sub}/{name}")


def top_all(port, user, ca):
    started = time.monotonic()
    context = ssl.create_default_context(cafile=ca)
    p = poplib.POP3_SSL("127.0.0.1", int(port), context=context, timeout=60)
    p.user(user)
    p.pass_(PASSWORD)
    count, _ = p.stat()
    for n in range(1, count + 1):
        p.top(n, 0)
    p.quit()
    print(f"{count} {time.monotonic() - started:.3f}")


def relay(client, port):
    server = socket.create_connection(("127.0.0.1", int(port)))
    from_server = server.makefile("rb")
    from_client = client.makefile("rb")
    in_capa = threading.Event()

    def downstream():
        for line in from_server:
            if in_capa.is_set():
                if line.strip() == b".":
                    in_capa.clear()
                elif line.strip().upper() == b"TOP":
                    continue
            client.sendall(line)
        client.close()

    threading.Thread(target=downstream, daemon=True).start()
    for line in from_client:
        word = line.split(b" ", 1)[0].strip().upper()
        if word == b"TOP":
            client.sendall(b"-ERR TOP is not offered here\r\n")
            continue
        if word == b"CAPA":
            in_capa.set()
        server.sendall(line)
    server.close()


def no_top_relay(listen_port, port):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(listen_port)))
    listener.listen(8)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=relay, args=(client, port), daemon=True).start()


def main():
    command, args = sys.argv[1], sys.argv[2:]
    {
        "touch": touch,
        "delete": delete,
        "fingerprint": fingerprint,
        "top-all": top_all,
        "no-top-relay": no_top_relay,
    }[command](*args)


if __name__ == "__main__":
    main()
