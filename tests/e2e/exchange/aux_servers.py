#!/usr/bin/env python3
"""The two Autodiscover routes that are not the Exchange server itself, for tests/e2e/exchange.sh:
a plain-HTTP server that answers GET /autodiscover/autodiscover.xml with a 302 to an https URL
(as Microsoft's "HTTP redirect method" describes; no credentials are ever asked for), and a DNS
server on UDP that answers SRV queries from a table (RFC 2782 records, names compressed as real
servers do). Test-only.

    aux_servers.py --http-port 80 --redirect HOST=URL ... --dns-port 0 --srv NAME=TARGET:PORT ... --ready-file F
"""
import argparse
import http.server
import os
import socket
import socketserver
import struct
import threading


def dns_answer(query, table):
    qid, flags, qd = struct.unpack("!HHH", query[:6])
    i, labels = 12, []
    while query[i]:
        n = query[i]
        labels.append(query[i + 1:i + 1 + n].decode())
        i += 1 + n
    qend = i + 5
    name = ".".join(labels).lower()
    qtype = struct.unpack("!H", query[i + 1:i + 3])[0]
    target = table.get(name) if qtype == 33 else None
    header = struct.pack("!HHHHHH", qid, 0x8180 if target else 0x8183, 1, 1 if target else 0, 0, 0)
    out = header + query[12:qend]
    if target:
        host, port = target
        rdata = struct.pack("!HHH", 0, 10, port)
        for label in host.split("."):
            rdata += bytes([len(label)]) + label.encode()
        rdata += b"\0"
        out += b"\xc0\x0c" + struct.pack("!HHIH", 33, 1, 60, len(rdata)) + rdata
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--http-port", type=int, default=0)
    p.add_argument("--redirect", action="append", default=[], help="HOST=https URL")
    p.add_argument("--dns-port", type=int, default=0)
    p.add_argument("--srv", action="append", default=[], help="NAME=TARGET:PORT")
    p.add_argument("--ready-file", required=True)
    a = p.parse_args()
    redirects = dict(r.lower().split("=", 1) for r in a.redirect)
    table = {}
    for s in a.srv:
        name, target = s.split("=", 1)
        host, port = target.rsplit(":", 1)
        table[name.lower()] = (host, int(port))

    class Redirect(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            host = self.headers.get("Host", "").split(":")[0].lower()
            target = redirects.get(host)
            if self.path.lower().startswith("/autodiscover/autodiscover.xml") and target:
                self.send_response(302)
                self.send_header("Location", target)
            else:
                self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            # Credentials never come here; anything posted is refused.
            self.send_response(405)
            self.send_header("Content-Length", "0")
            self.end_headers()

    class HTTP(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    web = HTTP(("127.0.0.1", a.http_port), Redirect)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", a.dns_port))
    with open(a.ready_file + ".tmp", "w") as fh:
        fh.write(f"{web.server_address[1]} {udp.getsockname()[1]}\n")
    os.replace(a.ready_file + ".tmp", a.ready_file)
    while True:
        data, peer = udp.recvfrom(4096)
        try:
            udp.sendto(dns_answer(data, table), peer)
        except Exception:
            pass


if __name__ == "__main__":
    main()
