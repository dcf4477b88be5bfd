#!/usr/bin/env python3
"""A loopback SMTP server that accepts every message and keeps it: DIR/N.eml (as received, dots
unstuffed) and a line per message in DIR/envelopes.log. No AUTH, no TLS, no relaying.

usage: smtp_sink.py PORT DIR"""
import os
import socketserver
import sys
import threading

PORT, OUT = int(sys.argv[1]), sys.argv[2]
os.makedirs(OUT, exist_ok=True)
LOCK = threading.Lock()
COUNT = [0]


def path_arg(arg):
    return arg.partition(":")[2].strip().split(" ")[0].strip("<>")


class Session(socketserver.StreamRequestHandler):
    def say(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        sender, rcpts = None, []
        self.say("220 127.0.0.1 rapport e2e sink")
        while True:
            raw = self.rfile.readline(65536)
            if not raw:
                return
            verb, _, arg = raw.decode("utf-8", "replace").strip().partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.say("250-127.0.0.1")
                self.say("250-8BITMIME")
                self.say("250 SIZE 104857600")
            elif verb == "HELO":
                self.say("250 127.0.0.1")
            elif verb == "MAIL":
                sender, rcpts = path_arg(arg), []
                self.say("250 OK")
            elif verb == "RCPT":
                rcpts.append(path_arg(arg))
                self.say("250 OK")
            elif verb == "DATA":
                if not rcpts:
                    self.say("503 RCPT first")
                    continue
                self.say("354 go ahead")
                body = []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    if line in (b".\r\n", b".\n"):
                        break
                    body.append(line[1:] if line.startswith(b".") else line)
                with LOCK:
                    COUNT[0] += 1
                    n = COUNT[0]
                    with open(os.path.join(OUT, f"{n}.eml"), "wb") as f:
                        f.write(b"".join(body))
                    with open(os.path.join(OUT, "envelopes.log"), "a") as f:
                        f.write(f"{n} from={sender} to={','.join(rcpts)}\n")
                sender, rcpts = None, []
                self.say("250 OK")
            elif verb in ("RSET", "NOOP"):
                if verb == "RSET":
                    sender, rcpts = None, []
                self.say("250 OK")
            elif verb == "QUIT":
                self.say("221 bye")
                return
            else:
                self.say("502 not implemented")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


with Server(("127.0.0.1", PORT), Session) as server:
    server.serve_forever()
