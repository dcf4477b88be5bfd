#!/usr/bin/env python3
"""Test servers for tests/e2e/account_setup.sh, on 127.0.0.1 only.

    servers.py CONFIG_DIR LOG FORWARD...

An HTTP server on port 80 answering autoconfig requests from CONFIG_DIR: a request for
http://HOST/PATH?QUERY is answered with CONFIG_DIR/HOST/PATH when that file exists (404
otherwise); each request is logged to LOG as "HOST PATH?QUERY STATUS". Each FORWARD is
LISTEN:TARGET: connections to 127.0.0.1:LISTEN are relayed byte for byte to 127.0.0.1:TARGET
(the standard mail ports to the test's Dovecot; TLS stays end to end). Prints "ready" once
everything listens; runs until killed.
"""
import asyncio
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

config_dir, log_path, forwards = sys.argv[1], sys.argv[2], sys.argv[3:]
log_lock = threading.Lock()


class Autoconfig(BaseHTTPRequestHandler):
    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        path = self.path.split("?", 1)[0]
        file = os.path.normpath(os.path.join(config_dir, host, path.lstrip("/")))
        ok = file.startswith(os.path.abspath(config_dir) + os.sep) and os.path.isfile(file)
        body = open(file, "rb").read() if ok else b"not found"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "text/xml" if ok else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with log_lock, open(log_path, "a") as log:
            log.write(f"{host} {self.path} {200 if ok else 404}\n")

    def log_message(self, *args):
        pass


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def relay(target):
    async def handle(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return handle


async def main():
    config_dir_abs = os.path.abspath(config_dir)
    globals()["config_dir"] = config_dir_abs
    http = ThreadingHTTPServer(("127.0.0.1", 80), Autoconfig)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    servers = []
    for spec in forwards:
        listen, target = (int(p) for p in spec.split(":"))
        servers.append(await asyncio.start_server(relay(target), "127.0.0.1", listen))
    print("ready", flush=True)
    await asyncio.Event().wait()


asyncio.run(main())
