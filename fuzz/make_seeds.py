#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora from the project's own test mail.

usage: make_seeds.py OUT_DIR   (makes OUT_DIR/<target>/ for every target)

The mail comes from tests/corpus (notmuch's test maildir) and core/tests/cases (the threading
cases); mboxes, RPC requests, native-messaging frames and bridge HTTP requests are built from it.
Outlook files come from tests/fixtures (the .msg fixtures and the sample PSTs).
"""
import base64
import json
import pathlib
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOKEN = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
HOST = "localhost:48123"
ORIGIN = "https://localhost:48123"


def test_mail():
    files = sorted((ROOT / "tests/corpus").rglob("*")) + sorted((ROOT / "core/tests/cases").rglob("*.eml"))
    return [f.read_bytes() for f in files if f.is_file() and f.suffix not in (".md", ".json")]


def write(out, target, name, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def mbox_of(messages, style):
    parts = []
    for i, m in enumerate(messages):
        sep = b"From sender%d@example.test Mon Nov  2 10:00:00 2026\n" % i
        header, _, body = m.replace(b"\r\n", b"\n").partition(b"\n\n")
        if style == "mboxrd":
            body = b"\n".join((b">" + l) if l.lstrip(b">").startswith(b"From ") else l for l in body.split(b"\n"))
            body += b"\nFrom a line that needed quoting\n>From an old quote\n"
        if style == "mboxcl":
            body += b"\n\nFrom sender@example.test Mon Nov  2 10:00:00 2026\nnot a separator\n"
            header += b"\nContent-Length: %d" % len(body)
        if style == "phantom":
            body += b"\n\nFrom my notes, unescaped\nstill body\n"
        msg = header + b"\n\n" + body
        if style == "crlf":
            msg = msg.replace(b"\n", b"\r\n")
            sep = sep.replace(b"\n", b"\r\n")
        parts.append(sep + msg + (b"\r\n" if style == "crlf" else b"\n"))
    return b"".join(parts)


def rpc_requests(mail):
    requests = [
        {"id": 1, "method": "hello"},
        {"id": 2, "method": "status"},
        {"id": 3, "method": "stats"},
        {"id": 4, "method": "contacts", "params": {"limit": 5, "sort": "last"}},
        {"id": 5, "method": "search", "params": {"query": "notmuch", "limit": 3}},
        {"id": 6, "method": "awaiting", "params": {"who": "me", "days": 3}},
        {"id": 7, "method": "have", "params": {"message_ids": ["<a@b>", "c@d"]}},
        {"id": 8, "method": "add_identity", "params": {"address": "me@example.test"}},
        {"id": 9, "method": "record_sent", "params": {"tracking_id": "t1", "from": "me@example.test",
                                                      "to": ["bob@example.test"], "cc": [], "bcc": [],
                                                      "subject": "hi", "date": 1790000000}},
        {"id": "x", "method": "card", "params": {"address": "cworth@cworth.org"}},
        {"id": 10, "method": "thread", "params": {"thread_id": 1}},
        {"id": 11, "method": "neglected", "params": {"limit": 2}},
        {"id": 12, "method": "identities"},
    ]
    for i, m in enumerate(mail[:12]):
        requests.append({"id": 100 + i, "method": "capture", "params": {
            "raw": base64.b64encode(m).decode(),
            "source": {"account": "account1", "folder": "/Sent" if i % 4 == 0 else "/INBOX", "id": str(i)},
            "sent": i % 4 == 0}})
    return [json.dumps(r).encode() for r in requests]


def frame(payload):
    return struct.pack("=I", len(payload)) + payload


def http(method, path, body=b"", headers=()):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"] + list(headers)
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def main():
    out = pathlib.Path(sys.argv[1])
    mail = test_mail()
    # Outlook files: the committed .msg fixtures and sample PSTs (cut to the fuzzer's max_len).
    for f in sorted((ROOT / "tests/fixtures").rglob("*")):
        if f.suffix in (".msg", ".pst"):
            write(out, "outlook_files", f.name, f.read_bytes()[:262144])
    for i, m in enumerate(mail):
        write(out, "header_parser", f"mail-{i:03}", m)
    for style in ["mboxo", "mboxrd", "mboxcl", "phantom", "crlf"]:
        for i in range(0, len(mail), 5):
            write(out, "mbox_splitter", f"{style}-{i:03}", mbox_of(mail[i:i + 3], style))
    requests = rpc_requests(mail)
    for i, r in enumerate(requests):
        write(out, "rpc_dispatch", f"req-{i:03}", r)
        write(out, "native_host_frames", f"one-{i:03}", frame(r))
    for i in range(0, len(requests) - 2, 3):
        write(out, "native_host_frames", f"three-{i:03}", b"".join(frame(r) for r in requests[i:i + 3]))
    write(out, "native_host_frames", "too-large", struct.pack("=I", 0x7FFFFFFF) + b"{}")
    auth = [f"Authorization: Bearer {TOKEN}", "Content-Type: application/json", f"Origin: {ORIGIN}"]
    write(out, "bridge_request", "page", http("GET", "/taskpane.html"))
    write(out, "bridge_request", "manifest", http("GET", "/manifest.xml"))
    write(out, "bridge_request", "preflight", http("OPTIONS", "/api/rpc", headers=[
        f"Origin: {ORIGIN}", "Access-Control-Request-Method: POST"]))
    write(out, "bridge_request", "pair", http("POST", "/api/pair", b'{"code": "ABCD-EFGH"}',
                                              ["Content-Type: application/json", f"Origin: {ORIGIN}"]))
    write(out, "bridge_request", "pair-wrong", http("POST", "/api/pair", b'{"code": "ZZZZ-ZZZZ"}',
                                                    ["Content-Type: application/json"]))
    write(out, "bridge_request", "no-token", http("POST", "/api/rpc", requests[0], ["Content-Type: application/json"]))
    write(out, "bridge_request", "bad-host", http("GET", "/", headers=["Host: evil.example"]))
    for i, r in enumerate(requests[:16]):
        write(out, "bridge_request", f"rpc-{i:03}", http("POST", "/api/rpc", r, auth))
    write(out, "bridge_request", "two-requests",
          http("POST", "/api/rpc", requests[0], auth) + http("GET", "/taskpane.html"))

    # The dashboard (fuzz/fuzz_targets/ui_request.rs): its fuzz session's cookie and CSRF token.
    ui_host = "Host: 127.0.0.1:48124"
    ui_origin = "Origin: http://127.0.0.1:48124"
    cookie = "Cookie: rapport_ui_48124=" + "5e551011" * 8
    csrf = "X-Rapport-CSRF: " + "c5rf" * 16

    def ui(method, path, body=b"", headers=()):
        lines = [f"{method} {path} HTTP/1.1", ui_host] + list(headers)
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    write(out, "ui_request", "login", ui("GET", "/?token=" + "11112222333344445555666677778888aaaabbbbccccddddeeeeffff00001111"))
    write(out, "ui_request", "page", ui("GET", "/", headers=[cookie]))
    write(out, "ui_request", "script", ui("GET", "/app.js", headers=[cookie]))
    write(out, "ui_request", "no-cookie", ui("GET", "/api/stats"))
    write(out, "ui_request", "bad-host", ui("GET", "/api/stats", headers=[cookie, "Host: evil.example"]))
    for i, path in enumerate(["/api/session", "/api/today", "/api/contacts?sort=name&limit=5&offset=2",
                              "/api/contacts/count?ungrouped=1&search=a%25b", "/api/contact?address=a%40b.example&timeline=3",
                              "/api/explain?address=x%40y.example", "/api/threads?waiting=me", "/api/thread?id=1",
                              "/api/groups", "/api/search?q=acme", "/api/sources", "/api/imports", "/api/changes",
                              "/api/awaiting?on=them&days=2", "/api/neglected?limit=3", "/api/contacts?since=30d&class=bulk"]):
        write(out, "ui_request", f"get-{i:03}", ui("GET", path, headers=[cookie]))
    posts = [("/api/contact/cadence", b'{"address": "a@b.example", "days": 30}'),
             ("/api/contacts/group", b'{"addresses": ["a@b.example"], "group": "clients"}'),
             ("/api/group/cadence", b'{"group": "clients", "days": "off"}'),
             ("/api/contact/snooze", b'{"address": "a@b.example", "until": "1w"}'),
             ("/api/thread/mark", b'{"thread_id": 1, "action": "snooze", "until": "3d"}')]
    for i, (path, body) in enumerate(posts):
        write(out, "ui_request", f"post-{i:03}", ui("POST", path, body, [cookie, ui_origin, csrf, "Content-Type: application/json"]))
    write(out, "ui_request", "post-no-csrf", ui("POST", posts[0][0], posts[0][1], [cookie, ui_origin, "Content-Type: application/json"]))
    write(out, "ui_request", "two-requests", ui("GET", "/api/stats", headers=[cookie]) + ui("GET", "/api/groups", headers=[cookie]))
    # Exchange answers (fuzz/fuzz_targets/exchange_answers.rs): SOAP, Autodiscover, an NTLM
    # challenge and Graph messages.
    write(out, "exchange_answers", "soap", b'<?xml version="1.0"?><s:Envelope xmlns:s="x"><s:Body><m:GetItemResponse><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:ItemId Id="A"/><t:InReplyTo>&amp;lt;a@b&amp;gt;</t:InReplyTo></t:Message></m:Items></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>')
    write(out, "exchange_answers", "autodiscover", b'<Autodiscover><Response><Account><Action>redirectAddr</Action><RedirectAddr>a@b.example</RedirectAddr></Account></Response></Autodiscover>')
    challenge = (b"NTLMSSP\x00\x02\x00\x00\x00\x00\x00\x00\x00\x38\x00\x00\x00\x35\x82\x8a\xe2"
                 + b"\x01\x23\x45\x67\x89\xab\xcd\xef" + b"\x00" * 8 + b"\x0c\x00\x0c\x00\x38\x00\x00\x00"
                 + b"\x0a\x00\x61\x4a\x00\x00\x00\x0f" + b"\x02\x00\x04\x00C\x00P\x00" + b"\x00\x00\x00\x00")
    write(out, "exchange_answers", "ntlm-challenge", challenge)
    write(out, "exchange_answers", "graph-message", json.dumps({"id": "A", "internetMessageId": "<a@b>", "subject": "s\r\nBcc: x", "from": {"emailAddress": {"name": "N", "address": "n@x.example"}}, "toRecipients": [{"emailAddress": {"address": "m@y.example"}}], "sentDateTime": "2024-03-01T12:00:00Z", "internetMessageHeaders": [{"name": "List-Id", "value": "<l.example>"}], "singleValueExtendedProperties": [{"id": "String 0x1042", "value": "<p@b>"}]}).encode())
    # HTTP answers (fuzz/fuzz_targets/http_answers.rs): sized, chunked with trailers, to the end,
    # two kept-alive answers in a row, a 401 with challenges.
    write(out, "http_answers", "sized", b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 4\r\n\r\n<a/>")
    write(out, "http_answers", "chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n<cli\r\na;x=y\r\nentConfig>\r\n0\r\nX-T: 1\r\n\r\n")
    write(out, "http_answers", "to-the-end", b"HTTP/1.0 200 OK\r\n\r\n<a/>")
    write(out, "http_answers", "two", b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: NTLM TlRMTVNTUAACAAAA\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\nHTTP/1.1 503 Busy\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno")


if __name__ == "__main__":
    main()
