#!/usr/bin/env python3
"""A protocol-faithful Exchange double for Rapport's tests (test-only; no Exchange can run here).

One model mailbox — folders, items built from real .eml files, an append-only change log, opaque
sync states — behind the faces Rapport talks to:

* EWS (`POST /EWS/Exchange.asmx`): GetFolder (distinguished ids), SyncFolderHierarchy,
  SyncFolderItems (MaxChangesReturned honoured, at most 512), GetItem (only the FieldURIs asked
  for), ResolveNames. Answers are shaped after Microsoft's documented examples ([MS-OXWSSYNC],
  the EWS reference on learn.microsoft.com), with the SOAP namespace servers actually send.
* Autodiscover POX (`POST /autodiscover/autodiscover.xml`), with RedirectAddr for chosen
  addresses.
* Graph (`GET /v1.0/me/…`): `mailFolders/delta`, well-known folders, and `messages/delta` per
  folder with `$select`, `$expand` of the extended properties, `Prefer: odata.maxpagesize`,
  next and delta links, `@removed`; a request beyond 4 in flight is refused as Graph does
  (429, MailboxConcurrency). Answers follow the Graph reference's examples.
* A sign-in service (the Microsoft identity platform v2.0 endpoints under `/<tenant>/oauth2/v2.0/`):
  device code (polls answered `authorization_pending` until `POST /_control/approve`, or
  `authorization_declined` after `/_control/decline`), refresh tokens, expiry
  (`/_control/expire`), authorization code with PKCE S256 (the authorize page signs the test's
  user in at once and redirects to the loopback URI), and token introspection for Dovecot's
  oauth2 passdb (`GET /_oauth2/introspect`).
* Authentication as IIS does it: an anonymous request gets 401 with `WWW-Authenticate` for each
  scheme the vdir enables. NTLM is checked by pyspnego, an independent implementation, with
  Extended Protection: the channel binding is the RFC 5929 tls-server-end-point hash of this
  server's certificate; `--cbt require` also refuses clients that send no binding (pyspnego
  alone lets an all-zero binding through, as Windows does only with `Allow`). Basic takes the
  same logins over TLS. With `--auth bearer`, EWS takes an access token the sign-in service
  issued, as an Exchange set up for hybrid modern auth takes Entra's (which are JWTs it checks
  against its auth server; here the token is looked up in the one model).

Where the double departs from Exchange (say so when a test relies on it):
* Every EWS request is validated (lxml, i.e. libxml2) against `schema/envelope.xsd`,
  `schema/messages.xsd` and `schema/types.xsd` before it is acted on: a subset of Microsoft's
  EWS schema written for this double, under Microsoft's names, orders and values, covering the
  requests of the five operations (schema/README.md says what it leaves out and why it is not
  Microsoft's own files). An invalid request gets Exchange's ErrorSchemaValidation fault, naming
  the problem; `/_control/stats` counts `schema_valid` and `schema_invalid`.
* Sync states and item ids are base64 JSON, not Exchange's binary blobs; both are opaque to
  clients. An epoch in the state makes `POST /_control/epoch` invalidate every state, as a
  mailbox move does.
* Items in Sent Items have no InternetMessageHeaders and their sender is given as an
  Exchange-internal (EX) address — what clients see for mail the owner sent.
* The NTLM challenge names the NetBIOS domain given by `--domain` (pyspnego's own says
  WORKSTATION); nothing else of pyspnego's acceptor is changed.
* A test-only control API under `/_control/` (faults, adding, deleting and moving items,
  the model's contents) that no Exchange has.

Faults (`POST /_control/faults` with `{"name": count}`), each acting on the next request(s)
of the operation it names: busy200 / busy500 (ErrorServerBusy in HTTP 200 and as a fault in
HTTP 500, BackOffMilliseconds 200), http503, connection_limit (ErrorExceededConnectionCount),
invalid_sync_state (the next SyncFolderItems with a state), item_gone (the first item of the
next SyncFolderItems page is deleted before GetItem can read it), get_item_error (one item of
the next GetItem answers ErrorCorruptData), silent_close (the connection is closed after the
next answer without saying so, as an idle timeout does); for Graph's message delta: graph_429 (with
Retry-After), graph_429_bare (without), graph_503, graph_410 (SyncStateNotFound on the next
delta link), graph_empty_page (an empty page whose next link continues where it was);
schema_without_archive (a GetFolder naming the `archive` folder is refused by schema validation,
as by a server whose schema predates that name).

Also departing from Microsoft: Graph's tokens are opaque random strings, not JWTs; the sign-in
service knows one client id (`--client-id`) and one user; delta tokens carry the query they
continue as base64 JSON.
"""

import argparse
import base64
import email
import email.policy
import email.utils
import hashlib
import http.server
import json
import os
import re
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

try:
    from lxml import etree as lxml_etree
except ImportError:  # the tiers install it; say so rather than serve unvalidated requests
    sys.exit("server.py: lxml is needed to validate EWS requests (python3 -m pip install lxml)")
from datetime import timezone

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
AUTOD_REQ = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
MAX_SYNC = 512

# The EWS request schema (a subset of Microsoft's; schema/README.md), loaded once.
REQUEST_SCHEMA = lxml_etree.XMLSchema(lxml_etree.parse(str(Path(__file__).parent / "schema" / "envelope.xsd")))
# No DTDs, entities or network: requests are untrusted input even here.
SAFE_PARSER = lxml_etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def schema_problem(body):
    """None when the request is valid against the EWS schema, else the first problem found."""
    try:
        doc = lxml_etree.fromstring(body, SAFE_PARSER)
    except lxml_etree.XMLSyntaxError as e:
        return str(e)
    schema = REQUEST_SCHEMA  # one instance, used under the model's lock (libxml2 state is not shared-safe)
    if schema.validate(doc):
        return None
    error = schema.error_log.last_error
    return f"line {error.line}: {error.message}"

DISTINGUISHED = {
    "msgfolderroot": ("Top of Information Store", "IPF.Note"),
    "inbox": ("Inbox", "IPF.Note"),
    "sentitems": ("Sent Items", "IPF.Note"),
    "drafts": ("Drafts", "IPF.Note"),
    "deleteditems": ("Deleted Items", "IPF.Note"),
    "junkemail": ("Junk Email", "IPF.Note"),
    "calendar": ("Calendar", "IPF.Appointment"),
}


def esc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def token(obj):
    """An opaque state: URL-safe (it travels in Graph's links) and unpadded."""
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


def untoken(s):
    try:
        return json.loads(base64.urlsafe_b64decode((s + "=" * (-len(s) % 4)).encode()))
    except Exception:
        return None


class Item:
    def __init__(self, item_id, folder, raw):
        self.id = item_id
        self.folder = folder
        self.raw = raw
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        self.msg = msg
        # Unfolded header fields as the message arrived, undecoded (as Exchange keeps them).
        self.headers = []
        for name, value in msg.raw_items():
            if isinstance(value, email.header.Header):
                value = str(value)
            self.headers.append((name, " ".join(str(value).replace("\r", "").split("\n"))))

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v.strip()
        return None

    def decoded(self, name):
        v = self.header(name)
        if v is None:
            return None
        try:
            return str(email.header.make_header(email.header.decode_header(v)))
        except Exception:
            return v


class Model:
    """The one mailbox every face serves."""

    def __init__(self, owner, domain):
        self.lock = threading.RLock()
        self.owner = owner
        self.domain = domain
        self.epoch = 1
        self.seq = 0
        self.folders = {}  # id -> dict(id, parent, name, cls, distinguished)
        self.items = {}  # id -> Item
        self.log = []  # (seq, folder_id, kind, item_id)
        self.faults = {}
        self.counts = {}
        self.in_flight = 0
        self.peak = 0
        root = self.add_folder("msgfolderroot", None)
        for d in DISTINGUISHED:
            if d != "msgfolderroot":
                self.add_folder(d, root)

    def new_id(self, prefix):
        # URL-safe, as Exchange's ids are in Graph's REST URLs.
        return prefix + base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")

    def add_folder(self, distinguished_or_name, parent, user_folder=False):
        fid = self.new_id("AQMkAD")
        if user_folder:
            name, cls, dist = distinguished_or_name, "IPF.Note", None
        else:
            name, cls = DISTINGUISHED[distinguished_or_name]
            dist = distinguished_or_name
        self.folders[fid] = {"id": fid, "parent": parent, "name": name, "cls": cls, "dist": dist}
        return fid

    def folder_by(self, key):
        for f in self.folders.values():
            if f["dist"] == key or f["name"] == key or f["id"] == key:
                return f
        return None

    def ensure_folder(self, key):
        f = self.folder_by(key)
        if f:
            return f
        root = self.folder_by("msgfolderroot")
        inbox = self.folder_by("inbox")
        # User folders live under the Inbox, as people make them.
        fid = self.add_folder(key, inbox["id"] if inbox else root["id"], user_folder=True)
        return self.folders[fid]

    def add_item(self, folder_key, raw):
        with self.lock:
            folder = self.ensure_folder(folder_key)
            item = Item(self.new_id("AAMkAD"), folder["id"], raw)
            self.items[item.id] = item
            self.seq += 1
            self.log.append((self.seq, folder["id"], "Create", item.id))
            return item

    def delete_item(self, item_id):
        with self.lock:
            item = self.items.pop(item_id, None)
            if item:
                self.seq += 1
                self.log.append((self.seq, item.folder, "Delete", item_id))
            return item

    def move_item(self, item_id, to_key):
        with self.lock:
            item = self.delete_item(item_id)
            if not item:
                return None
            # A moved item gets a new id in its new folder, as in Exchange.
            return self.add_item(to_key, item.raw)

    def take_fault(self, name):
        with self.lock:
            n = self.faults.get(name, 0)
            if n > 0:
                self.faults[name] = n - 1
                return True
            return False

    def legacy_dn(self, address):
        local = address.split("@")[0].upper()
        return f"/O=CORP/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN={local}"

    def resolve(self, entry):
        entry = entry.strip()
        for it in list(self.items.values()):
            for field in ("From", "Sender", "To", "Cc"):
                for name, addr in email.utils.getaddresses([it.decoded(field) or ""]):
                    if addr and (self.legacy_dn(addr).upper() == entry.upper()
                                 or addr.lower() == entry.lower()):
                        return name, addr
        return None


def addresses(value):
    return [(n, a) for n, a in email.utils.getaddresses([value or ""]) if a]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("exchange-double: " + (fmt % args) + "\n")

    # ---- plumbing ------------------------------------------------------------------------
    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 50 * 1024 * 1024:
            raise ValueError("request too large")
        return self.rfile.read(n) if n else b""

    def send(self, status, body=b"", ctype="text/xml; charset=utf-8", headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def count(self, name):
        with self.server.model.lock:
            self.server.model.counts[name] = self.server.model.counts.get(name, 0) + 1

    # ---- authentication -----------------------------------------------------------------
    def challenge_headers(self):
        out = []
        for scheme in self.server.schemes:
            if scheme == "ntlm":
                out += [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")]
            elif scheme == "basic":
                out.append(("WWW-Authenticate", f'Basic realm="{self.server.model.domain}"'))
            elif scheme == "bearer":
                # What an Exchange set up for hybrid modern auth (OAuth through Entra) offers.
                out.append(("WWW-Authenticate", 'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", '
                            'trusted_issuers="00000001-0000-0000-c000-000000000000@*", token_types="app_asserting_user"'))
        return out

    def refuse(self):
        self.count("auth_refused")
        self.send(401, "", "text/html", self.challenge_headers())

    def authenticated(self, body_len):
        """True when the request may go on; otherwise an answer was sent."""
        if getattr(self, "ntlm_user", None):
            return True
        auth = self.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        scheme = scheme.lower()
        if not auth:
            self.refuse()
            return False
        if scheme == "basic" and "basic" in self.server.schemes:
            try:
                user, _, pw = base64.b64decode(value.strip()).decode().partition(":")
            except Exception:
                self.refuse()
                return False
            if self.server.logins.get(user.lower()) == pw:
                self.count("basic_ok")
                self.login = user
                return True
            self.refuse()
            return False
        if scheme in ("ntlm", "negotiate") and "ntlm" in self.server.schemes:
            return self.ntlm_step(scheme, value.strip())
        if scheme == "bearer" and "bearer" in self.server.schemes:
            # An access token the sign-in service issued (and not expired): the owner's.
            with self.server.model.lock:
                valid = self.server.signin.valid(value.strip())
            if valid:
                self.count("bearer_ok")
                self.login = self.server.model.owner
                return True
        self.refuse()
        return False

    def ntlm_step(self, scheme, value):
        import spnego
        from spnego._ntlm_raw.messages import Authenticate, AvId, Challenge, NTClientChallengeV2
        try:
            data = base64.b64decode(value)
        except Exception:
            self.refuse()
            return False
        kind = data[8:12] if len(data) >= 12 else b""
        if kind == b"\x01\x00\x00\x00":
            cb = None
            if self.server.cbt != "none":
                cb = spnego.channel_bindings.GssChannelBindings(
                    application_data=self.server.binding)
            ctx = spnego.server(protocol="ntlm", channel_bindings=cb)
            try:
                out = ctx.step(data)
                old = Challenge.unpack(out)
                info = old.target_info
                info[AvId.nb_domain_name] = self.server.netbios_domain
                kwargs = {"version": old.version} if old.version else {}
                out = Challenge(old.flags, old.server_challenge, target_name=old.target_name,
                                target_info=info, **kwargs).pack()
                ctx._temp_challenge = Challenge.unpack(out)
            except Exception as e:
                self.log_message("NTLM negotiate refused: %s", e)
                self.refuse()
                return False
            self.ntlm_ctx = ctx
            self.send(401, "", "text/html",
                      [("WWW-Authenticate", f"{scheme.upper() if scheme == 'ntlm' else 'Negotiate'} "
                        + base64.b64encode(out).decode())])
            return False
        if kind == b"\x03\x00\x00\x00" and getattr(self, "ntlm_ctx", None):
            ctx, self.ntlm_ctx = self.ntlm_ctx, None
            try:
                if self.server.cbt == "require":
                    auth = Authenticate.unpack(data)
                    pairs = NTClientChallengeV2.unpack(auth.nt_challenge_response[16:]).av_pairs
                    got = pairs.get(AvId.channel_bindings)
                    if not got or got == b"\x00" * 16:
                        raise ValueError("no channel binding (Extended Protection requires one)")
                ctx.step(data)
                self.ntlm_user = getattr(ctx, "client_principal", None) or "ntlm"
                self.count("ntlm_ok")
                return True
            except Exception as e:
                self.log_message("NTLM refused: %s", e)
                self.count("ntlm_refused")
                self.refuse()
                return False
        self.refuse()
        return False

    # ---- routes ---------------------------------------------------------------------------
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_control/items":
            with self.server.model.lock:
                items = [{"id": i.id, "folder": self.server.model.folders[i.folder]["name"],
                          "message_id": i.header("Message-ID")}
                         for i in self.server.model.items.values()]
            return self.send(200, json.dumps(items), "application/json")
        if url.path == "/_control/stats":
            with self.server.model.lock:
                return self.send(200, json.dumps(self.server.model.counts), "application/json")
        if url.path.startswith("/v1.0/"):
            return self.graph(url)
        if url.path.endswith("/oauth2/v2.0/authorize"):
            return self.authorize(url)
        if url.path == "/_oauth2/introspect":
            return self.introspect()
        self.send(404, "not found", "text/plain")

    def do_POST(self):
        try:
            url = urllib.parse.urlsplit(self.path)
            body = self.body()
            if url.path.startswith("/_control/"):
                return self.control(url, body)
            if url.path.endswith("/oauth2/v2.0/devicecode"):
                return self.devicecode(body)
            if url.path.endswith("/oauth2/v2.0/token"):
                return self.token(body)
            if url.path.lower() in ("/ews/exchange.asmx", "/autodiscover/autodiscover.xml"):
                host = self.headers.get("Host", "").split(":")[0].lower()
                if (url.path.lower().startswith("/autodiscover") and self.server.autodiscover_hosts
                        and host not in self.server.autodiscover_hosts):
                    return self.send(404, "no Autodiscover here", "text/plain")
                if not self.authenticated(len(body)):
                    return
                if not body:
                    # The anonymous probe or a handshake leg that already authenticated.
                    return self.send(400, "empty request", "text/plain")
                if url.path.lower().startswith("/autodiscover"):
                    return self.autodiscover(body)
                if self.server.delay:
                    time.sleep(self.server.delay)
                return self.ews(body)
            self.send(404, "not found", "text/plain")
        except (ConnectionError, BrokenPipeError):
            pass

    def control(self, url, body):
        model = self.server.model
        q = dict(urllib.parse.parse_qsl(url.query))
        name = url.path[len("/_control/"):]
        with model.lock:
            if name == "faults":
                model.faults.update(json.loads(body or b"{}"))
                return self.send(200, json.dumps(model.faults), "application/json")
            if name == "add":
                item = model.add_item(q.get("folder", "inbox"), body)
                return self.send(200, json.dumps({"id": item.id}), "application/json")
            if name == "delete":
                mid = q.get("message_id")
                gone = [i for i in list(model.items.values()) if i.header("Message-ID") == mid]
                for i in gone:
                    model.delete_item(i.id)
                return self.send(200, json.dumps({"deleted": len(gone)}), "application/json")
            if name == "move":
                mid = q.get("message_id")
                moved = [i for i in list(model.items.values()) if i.header("Message-ID") == mid]
                for i in moved:
                    model.move_item(i.id, q.get("to", "inbox"))
                return self.send(200, json.dumps({"moved": len(moved)}), "application/json")
            if name == "approve" or name == "decline":
                for grant in self.server.signin.device.values():
                    if grant["user_code"] == q.get("user_code"):
                        grant["state"] = "approved" if name == "approve" else "declined"
                        return self.send(200, "{}", "application/json")
                return self.send(404, "no such code", "text/plain")
            if name == "expire":
                for t in self.server.signin.access.values():
                    t["expires"] = 0
                return self.send(200, "{}", "application/json")
            if name == "epoch":
                model.epoch += 1
                return self.send(200, json.dumps({"epoch": model.epoch}), "application/json")
        self.send(404, "no such control", "text/plain")

    # ---- Autodiscover ---------------------------------------------------------------------
    def autodiscover(self, body):
        self.count("autodiscover")
        try:
            root = ET.fromstring(body)
            address = root.find(f"{{{AUTOD_REQ}}}Request/{{{AUTOD_REQ}}}EMailAddress").text.strip()
        except Exception:
            return self.send(400, "not an Autodiscover request", "text/plain")
        redirect = self.server.redirects.get(address.lower())
        if redirect:
            account = (f"<Account><AccountType>email</AccountType><Action>redirectAddr</Action>"
                       f"<RedirectAddr>{esc(redirect)}</RedirectAddr></Account>")
        else:
            host = self.headers.get("Host", "localhost")
            account = (
                "<Account><AccountType>email</AccountType><Action>settings</Action>"
                "<Protocol><Type>EXCH</Type>"
                f"<Server>{esc(host)}</Server><AuthPackage>Ntlm</AuthPackage>"
                f"<EwsUrl>https://{esc(host)}/EWS/Exchange.asmx</EwsUrl>"
                "</Protocol></Account>")
        doc = ('<?xml version="1.0" encoding="utf-8"?>'
               '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">'
               '<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">'
               f"<User><DisplayName>{esc(address)}</DisplayName><EMailAddress>{esc(address)}</EMailAddress></User>"
               f"{account}</Response></Autodiscover>")
        self.send(200, doc)

    # ---- EWS ------------------------------------------------------------------------------
    def envelope(self, inner):
        return ('<?xml version="1.0" encoding="utf-8"?>'
                f'<s:Envelope xmlns:s="{SOAP}"><s:Header>'
                f'<h:ServerVersionInfo MajorVersion="15" MinorVersion="2" MajorBuildNumber="1544" '
                f'MinorBuildNumber="4" Version="V2017_07_11" xmlns:h="{T}" xmlns="{T}"/>'
                f'</s:Header><s:Body>{inner}</s:Body></s:Envelope>')

    def fault(self, code, text, backoff=None):
        detail = f"<e:ResponseCode xmlns:e=\"{T}\">{code}</e:ResponseCode><e:Message xmlns:e=\"{T}\">{esc(text)}</e:Message>"
        if backoff is not None:
            detail += (f'<t:MessageXml xmlns:t="{T}"><t:Value Name="BackOffMilliseconds">{backoff}</t:Value></t:MessageXml>')
        inner = (f'<s:Fault><faultcode xmlns:a="{T}">a:{code}</faultcode>'
                 f'<faultstring xml:lang="en-US">{esc(text)}</faultstring><detail>{detail}</detail></s:Fault>')
        return self.send(500, self.envelope(inner))

    def error_message(self, op, code, text, backoff=None):
        xml = ""
        if backoff is not None:
            xml = f'<m:MessageXml><t:Value Name="BackOffMilliseconds">{backoff}</t:Value></m:MessageXml>'
        return (f'<m:{op}ResponseMessage ResponseClass="Error"><m:MessageText>{esc(text)}</m:MessageText>'
                f'<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>{xml}'
                f'</m:{op}ResponseMessage>')

    def respond(self, op, messages):
        inner = (f'<m:{op}Response xmlns:m="{M}" xmlns:t="{T}"><m:ResponseMessages>'
                 f'{"".join(messages)}</m:ResponseMessages></m:{op}Response>')
        self.send(200, self.envelope(inner))

    def ews(self, body):
        # The schema settles the envelope, the namespaces and which of the five operations this
        # is; past it the request is well-formed and its parts are where the schema puts them.
        with self.server.model.lock:
            problem = schema_problem(body)
        if problem is None:
            root = ET.fromstring(body)
            op_el = root.find(f"{{{SOAP}}}Body")[0]
            op = op_el.tag.split("}")[1]
            header = root.find(f"{{{SOAP}}}Header")
            if header is None or header.find(f"{{{T}}}RequestServerVersion") is None:
                # Exchange would assume Exchange2007; the double insists, as Rapport always sends it.
                problem = "RequestServerVersion is missing."
            # A server whose schema predates the `archive` well-known name (Exchange 2013).
            elif op == "GetFolder" and b'Id="archive"' in body and self.server.model.take_fault("schema_without_archive"):
                self.count("fault_schema_without_archive")
                problem = "The 'Id' attribute is invalid - The value 'archive' is invalid according to its datatype"
        if problem is not None:
            self.count("schema_invalid")
            return self.fault("ErrorSchemaValidation", f"The request failed schema validation: {problem}")
        self.count("schema_valid")
        self.count(op)
        model = self.server.model
        if op in ("SyncFolderItems", "GetItem"):
            if model.take_fault("busy500"):
                self.count("fault_busy500")
                return self.fault("ErrorServerBusy", "The server cannot service this request right now. Try again later.", 200)
            if model.take_fault("http503"):
                self.count("fault_http503")
                return self.send(503, "Service Unavailable", "text/html", [("Retry-After", "1")])
            if model.take_fault("busy200"):
                self.count("fault_busy200")
                return self.respond(op, [self.error_message(op, "ErrorServerBusy", "The server cannot service this request right now. Try again later.", 200)])
            if model.take_fault("silent_close"):
                # An idle-timeout close without "Connection: close": the next request on this
                # connection finds it gone.
                self.count("fault_silent_close")
                self.close_connection = True
            if model.take_fault("connection_limit"):
                self.count("fault_connection_limit")
                return self.respond(op, [self.error_message(op, "ErrorExceededConnectionCount", "You have exceeded the available concurrent connections for your account.", 150)])
        with model.lock:
            return getattr(self, "op_" + op)(op_el)

    def folder_xml(self, f, with_props=True):
        model = self.server.model
        inner = f'<t:FolderId Id="{f["id"]}" ChangeKey="AQAAABYA"/>'
        if with_props:
            if f["parent"]:
                inner += f'<t:ParentFolderId Id="{f["parent"]}" ChangeKey="AQAAAA=="/>'
            inner += f'<t:FolderClass>{f["cls"]}</t:FolderClass><t:DisplayName>{esc(f["name"])}</t:DisplayName>'
            total = sum(1 for i in model.items.values() if i.folder == f["id"])
            inner += f"<t:TotalCount>{total}</t:TotalCount>"
        tag = "CalendarFolder" if f["cls"] == "IPF.Appointment" else "Folder"
        return f"<t:{tag}>{inner}</t:{tag}>"

    def op_GetFolder(self, el):
        model = self.server.model
        msgs = []
        for fid in el.find(f"{{{M}}}FolderIds"):
            key = fid.get("Id")
            f = model.folder_by(key)
            if f is None:
                msgs.append(self.error_message("GetFolder", "ErrorFolderNotFound", "The specified folder could not be found in the store."))
            else:
                msgs.append(f'<m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
                            f'<m:Folders>{self.folder_xml(f, False)}</m:Folders></m:GetFolderResponseMessage>')
        self.respond("GetFolder", msgs)

    def op_SyncFolderHierarchy(self, el):
        model = self.server.model
        changes = "".join(f"<t:Create>{self.folder_xml(f)}</t:Create>"
                          for f in model.folders.values() if f["dist"] != "msgfolderroot")
        state = token({"h": model.epoch})
        self.respond("SyncFolderHierarchy", [
            '<m:SyncFolderHierarchyResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
            f"<m:SyncState>{state}</m:SyncState><m:IncludesLastFolderInRange>true</m:IncludesLastFolderInRange>"
            f"<m:Changes>{changes}</m:Changes></m:SyncFolderHierarchyResponseMessage>"])

    def op_SyncFolderItems(self, el):
        model = self.server.model
        fid_el = el.find(f"{{{M}}}SyncFolderId")[0]
        f = model.folder_by(fid_el.get("Id"))
        op = "SyncFolderItems"
        if f is None:
            return self.respond(op, [self.error_message(op, "ErrorSyncFolderNotFound", "The specified folder could not be found in the store.")])
        state_el = el.find(f"{{{M}}}SyncState")
        since = 0
        if state_el is not None and (state_el.text or "").strip():
            st = untoken(state_el.text.strip())
            if model.take_fault("invalid_sync_state") or not st or st.get("f") != f["id"] or st.get("e") != model.epoch:
                self.count("fault_invalid_sync_state")
                return self.respond(op, [self.error_message(op, "ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid.")])
            since = st.get("s", 0)
        max_el = el.find(f"{{{M}}}MaxChangesReturned")
        limit = int(max_el.text) if max_el is not None else MAX_SYNC
        if not 1 <= limit <= MAX_SYNC:
            return self.fault("ErrorSchemaValidation", f"MaxChangesReturned {limit} is out of range.")
        pending = [e for e in model.log if e[1] == f["id"] and e[0] > since]
        page = pending[:limit]
        last_seq = page[-1][0] if page else (since if pending else model.seq)
        changes = []
        gone = []
        for seq, _, kind, iid in page:
            if kind == "Create":
                changes.append(f'<t:Create><t:Message><t:ItemId Id="{iid}" ChangeKey="CQAAABYA"/></t:Message></t:Create>')
                gone.append(iid)
            else:
                changes.append(f'<t:Delete><t:ItemId Id="{iid}" ChangeKey="CQAAABYA"/></t:Delete>')
        last = len(pending) <= limit
        state = token({"f": f["id"], "s": last_seq, "e": model.epoch})
        self.respond(op, [
            f'<m:{op}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
            f"<m:SyncState>{state}</m:SyncState><m:IncludesLastItemInRange>{'true' if last else 'false'}</m:IncludesLastItemInRange>"
            f"<m:Changes>{''.join(changes)}</m:Changes></m:{op}ResponseMessage>"])
        if gone and model.take_fault("item_gone"):
            self.count("fault_item_gone")
            model.delete_item(gone[0])

    def mailbox(self, name, addr, internal=False):
        model = self.server.model
        if internal:
            return (f"<t:Mailbox><t:Name>{esc(name or addr)}</t:Name><t:EmailAddress>{esc(model.legacy_dn(addr))}</t:EmailAddress>"
                    f"<t:RoutingType>EX</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox>")
        return (f"<t:Mailbox><t:Name>{esc(name or addr)}</t:Name><t:EmailAddress>{esc(addr)}</t:EmailAddress>"
                f"<t:RoutingType>SMTP</t:RoutingType><t:MailboxType>OneOff</t:MailboxType></t:Mailbox>")

    def op_GetItem(self, el):
        model = self.server.model
        fields = {f.get("FieldURI") for f in el.iter(f"{{{T}}}FieldURI")}
        ids = [i.get("Id") for i in el.find(f"{{{M}}}ItemIds")]
        fail_one = model.take_fault("get_item_error")
        msgs = []
        for n, iid in enumerate(ids):
            item = model.items.get(iid)
            if fail_one and n == 0 and item is not None:
                self.count("fault_get_item_error")
                msgs.append(self.error_message("GetItem", "ErrorCorruptData", "The item is corrupt."))
                continue
            if item is None:
                msgs.append(self.error_message("GetItem", "ErrorItemNotFound", "The specified object was not found in the store."))
                continue
            sent = model.folders[item.folder]["dist"] == "sentitems"
            parts = [f'<t:ItemId Id="{item.id}" ChangeKey="CQAAABYA"/>']
            def want(uri):
                return uri in fields
            if want("item:Subject"):
                parts.append(f"<t:Subject>{esc(item.decoded('Subject') or '')}</t:Subject>")
            if want("item:DateTimeReceived") or want("item:DateTimeSent"):
                date = item.header("Date")
                try:
                    dt = email.utils.parsedate_to_datetime(date).astimezone(timezone.utc)
                    stamp = dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                except Exception:
                    stamp = None
                if stamp and want("item:DateTimeSent"):
                    parts.append(f"<t:DateTimeSent>{stamp}</t:DateTimeSent>")
                if stamp and want("item:DateTimeReceived"):
                    parts.append(f"<t:DateTimeReceived>{stamp}</t:DateTimeReceived>")
            if want("item:InReplyTo") and item.header("In-Reply-To"):
                # The reference's own escaping ( &amp;lt; … ) on odd items, plain on even ones.
                v = item.header("In-Reply-To")
                v = esc(esc(v)) if len(item.id) % 2 else esc(v)
                parts.append(f"<t:InReplyTo>{v}</t:InReplyTo>")
            if want("item:InternetMessageHeaders") and not sent:
                hs = "".join(f'<t:InternetMessageHeader HeaderName="{esc(n)}">{esc(v)}</t:InternetMessageHeader>'
                             for n, v in item.headers)
                parts.append(f"<t:InternetMessageHeaders>{hs}</t:InternetMessageHeaders>")
            if want("item:ConversationId"):
                root_id = (item.header("References") or item.header("In-Reply-To") or item.header("Message-ID") or "").split()[:1]
                cid = base64.b64encode(hashlib.sha1("".join(root_id).encode()).digest()).decode()
                parts.append(f'<t:ConversationId Id="{cid}"/>')
            for uri, tag, header in (("message:Sender", "Sender", "Sender"), ("message:ToRecipients", "ToRecipients", "To"),
                                     ("message:CcRecipients", "CcRecipients", "Cc"), ("message:BccRecipients", "BccRecipients", "Bcc")):
                if want(uri) and item.decoded(header):
                    boxes = "".join(self.mailbox(n, a) for n, a in addresses(item.decoded(header)))
                    if tag == "Sender":
                        boxes = boxes and self.mailbox(*addresses(item.decoded(header))[0], internal=sent)
                    if boxes:
                        parts.append(f"<t:{tag}>{boxes}</t:{tag}>")
            if want("message:IsRead"):
                parts.append("<t:IsRead>false</t:IsRead>")
            if want("message:From") and item.decoded("From"):
                froms = addresses(item.decoded("From"))
                if froms:
                    parts.append(f"<t:From>{self.mailbox(*froms[0], internal=sent)}</t:From>")
            if want("message:InternetMessageId") and item.header("Message-ID"):
                parts.append(f"<t:InternetMessageId>{esc(item.header('Message-ID'))}</t:InternetMessageId>")
            if want("message:References") and item.header("References"):
                parts.append(f"<t:References>{esc(item.header('References'))}</t:References>")
            msgs.append('<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
                        f"<m:Items><t:Message>{''.join(parts)}</t:Message></m:Items></m:GetItemResponseMessage>")
        self.respond("GetItem", msgs)

    def op_ResolveNames(self, el):
        entry = el.find(f"{{{M}}}UnresolvedEntry").text or ""
        found = self.server.model.resolve(entry)
        if not found:
            return self.respond("ResolveNames", [self.error_message("ResolveNames", "ErrorNameResolutionNoResults", "No results were found.")])
        name, addr = found
        self.respond("ResolveNames", [
            '<m:ResolveNamesResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
            '<m:ResolutionSet TotalItemsInView="1" IncludesLastItemInRange="true"><t:Resolution>'
            f"{self.mailbox(name, addr)}</t:Resolution></m:ResolutionSet></m:ResolveNamesResponseMessage>"])

    # ---- the sign-in service (Microsoft identity platform v2.0 endpoints) -------------------
    def oauth_error(self, status, error, description):
        self.send(status, json.dumps({"error": error, "error_description": description}), "application/json")

    def form(self, body):
        return dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))

    def devicecode(self, body):
        f = self.form(body)
        signin = self.server.signin
        if f.get("client_id") != signin.client_id:
            return self.oauth_error(400, "unauthorized_client", "AADSTS700016: Application with identifier was not found in the directory.")
        device_code = "dc-" + uuid.uuid4().hex
        user_code = uuid.uuid4().hex[:8].upper()
        with self.server.model.lock:
            signin.device[device_code] = {"user_code": user_code, "state": "pending", "expires": time.time() + 900}
        host = self.headers.get("Host", "localhost")
        uri = f"https://{host}/common/oauth2/deviceauth"
        self.count("devicecode")
        self.send(200, json.dumps({
            "device_code": device_code, "user_code": user_code, "verification_uri": uri,
            "expires_in": 900, "interval": 1,
            "message": f"To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."}),
            "application/json")

    def token(self, body):
        f = self.form(body)
        signin = self.server.signin
        grant = f.get("grant_type")
        if f.get("client_id") != signin.client_id:
            return self.oauth_error(400, "unauthorized_client", "AADSTS700016: unknown client")
        with self.server.model.lock:
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                g = signin.device.get(f.get("device_code"))
                if g is None:
                    return self.oauth_error(400, "bad_verification_code", "AADSTS70019: unknown device code")
                if g["expires"] < time.time():
                    return self.oauth_error(400, "expired_token", "AADSTS70020: The provided value for the input parameter 'device_code' is not valid.")
                if g["state"] == "pending":
                    self.count("device_pending")
                    return self.oauth_error(400, "authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.")
                if g["state"] == "declined":
                    return self.oauth_error(400, "authorization_declined", "AADSTS70000: The user declined.")
                del signin.device[f.get("device_code")]
                self.count("token_device")
                return self.send(200, json.dumps(signin.issue()), "application/json")
            if grant == "refresh_token":
                r = f.get("refresh_token")
                if r not in signin.refresh:
                    return self.oauth_error(400, "invalid_grant", "AADSTS70008: The refresh token has expired or is invalid.")
                signin.refresh.discard(r)
                self.count("token_refresh")
                return self.send(200, json.dumps(signin.issue()), "application/json")
            if grant == "authorization_code":
                c = signin.codes.pop(f.get("code"), None)
                verifier = f.get("code_verifier", "")
                if c is None:
                    return self.oauth_error(400, "invalid_grant", "AADSTS70000: unknown code")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
                if digest != c["challenge"] or f.get("redirect_uri") != c["redirect"]:
                    return self.oauth_error(400, "invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.")
                self.count("token_pkce")
                return self.send(200, json.dumps(signin.issue()), "application/json")
        return self.oauth_error(400, "unsupported_grant_type", f"grant {grant} is not supported")

    def authorize(self, url):
        """The sign-in page: the test's user signs in at once (the double's stand-in for a browser
        session), and is sent back to the loopback redirect with the code."""
        q = dict(urllib.parse.parse_qsl(url.query))
        redirect = q.get("redirect_uri", "")
        r = urllib.parse.urlsplit(redirect)
        if (q.get("client_id") != self.server.signin.client_id or r.scheme != "http"
                or r.hostname not in ("localhost", "127.0.0.1") or q.get("code_challenge_method") != "S256"
                or not q.get("code_challenge")):
            return self.send(400, "AADSTS50011: invalid authorization request", "text/plain")
        code = "ac-" + uuid.uuid4().hex
        with self.server.model.lock:
            self.server.signin.codes[code] = {"challenge": q["code_challenge"], "redirect": redirect}
        target = redirect + "?" + urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
        self.send(302, "", "text/plain", [("Location", target)])

    def introspect(self):
        """RFC 7662-style introspection for Dovecot's oauth2 passdb (introspection_mode = auth)."""
        token = self.headers.get("Authorization", "").partition(" ")[2].strip()
        with self.server.model.lock:
            active = self.server.signin.valid(token)
        self.count("introspect")
        body = {"active": active}
        if active:
            body["email"] = self.server.model.owner
            body["username"] = self.server.imap_user
        self.send(200 if active else 401, json.dumps(body), "application/json")

    # ---- Graph ------------------------------------------------------------------------------
    def graph_error(self, status, code, message, headers=()):
        self.send(status, json.dumps({"error": {"code": code, "message": message}}), "application/json", headers)

    def graph(self, url):
        model = self.server.model
        token = self.headers.get("Authorization", "").partition(" ")[2].strip()
        with model.lock:
            if not self.server.signin.valid(token):
                self.count("graph_401")
                return self.graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
            model.in_flight += 1
            over = model.in_flight > 4
            model.peak = max(model.peak, model.in_flight)
        try:
            if over:
                self.count("mailbox_concurrency")
                return self.graph_error(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", [("Retry-After", "1")])
            if self.server.delay:
                time.sleep(self.server.delay)
            self.count("graph")
            return self.graph_route(url)
        finally:
            with model.lock:
                model.in_flight -= 1

    def graph_route(self, url):
        model = self.server.model
        path = url.path[len("/v1.0/me/"):]
        q = dict(urllib.parse.parse_qsl(url.query))
        base = f"https://{self.headers.get('Host')}/v1.0/me"
        parts = [urllib.parse.unquote(p) for p in path.split("/")]
        if path == "mailFolders/delta":
            with model.lock:
                value = [{"id": f["id"], "displayName": f["name"], "parentFolderId": f["parent"],
                          "totalItemCount": sum(1 for i in model.items.values() if i.folder == f["id"])}
                         for f in model.folders.values() if f["dist"] != "msgfolderroot" and f["cls"] == "IPF.Note"]
            return self.send(200, json.dumps({"value": value, "@odata.deltaLink": f"{base}/mailFolders/delta?$deltatoken={token({'h': 1})}"}), "application/json")
        if len(parts) == 2 and parts[0] == "mailFolders":
            with model.lock:
                f = model.folder_by(parts[1])
            if f is None:
                return self.graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            return self.send(200, json.dumps({"id": f["id"], "displayName": f["name"]}), "application/json")
        if len(parts) == 4 and parts[0] == "mailFolders" and parts[2:] == ["messages", "delta"]:
            return self.message_delta(parts[1], q, base)
        return self.graph_error(400, "BadRequest", f"Resource not found for the segment '{path}'.")

    def message_delta(self, folder_id, q, base):
        model = self.server.model
        for fault, status, headers in (("graph_429", 429, [("Retry-After", "1")]), ("graph_429_bare", 429, []),
                                       ("graph_503", 503, [("Retry-After", "1")])):
            if model.take_fault(fault):
                self.count("fault_" + fault)
                return self.graph_error(status, "TooManyRequests" if status == 429 else "ServiceUnavailable",
                                        "Too many requests." if status == 429 else "Service unavailable.", headers)
        prefer = self.headers.get("Prefer", "")
        m = re.search(r"odata\.maxpagesize=(\d+)", prefer)
        size = min(int(m.group(1)), 1000) if m else 10
        select = set(filter(None, q.get("$select", "").split(",")))
        expand = q.get("$expand", "")
        with model.lock:
            f = model.folder_by(folder_id)
            if f is None:
                return self.graph_error(404, "ErrorItemNotFound", "The folder does not exist.")
            state = q.get("$skiptoken") or q.get("$deltatoken")
            since = 0
            if state:
                st = untoken(state)
                # Graph's links carry the query they continue ($select, $expand) in the token.
                if st and "sel" in st:
                    select, expand = set(st["sel"]), st.get("exp", "")
                if q.get("$deltatoken") and model.take_fault("graph_410"):
                    st = None
                if not st or st.get("f") != f["id"] or st.get("e") != model.epoch:
                    self.count("fault_graph_410")
                    return self.graph_error(410, "SyncStateNotFound", "The sync state generation is no longer valid.")
                since = st["s"]
            if state and model.take_fault("graph_empty_page"):
                self.count("fault_graph_empty_page")
                link = f"{base}/mailFolders/{f['id']}/messages/delta?$skiptoken={token({'f': f['id'], 's': since, 'e': model.epoch, 'sel': sorted(select), 'exp': expand})}"
                return self.send(200, json.dumps({"value": [], "@odata.nextLink": link}), "application/json")
            pending = [e for e in model.log if e[1] == f["id"] and e[0] > since]
            page = pending[:size]
            value = []
            for seq, _, kind, iid in page:
                if kind == "Delete":
                    value.append({"id": iid, "@removed": {"reason": "deleted"}})
                    continue
                item = model.items.get(iid)
                if item is None:
                    continue  # created and gone since: a delta never shows it
                value.append(self.graph_message(item, f, select, expand))
            last = page[-1][0] if page else (since if pending else model.seq)
            state = token({"f": f["id"], "s": last, "e": model.epoch, "sel": sorted(select), "exp": expand})
            more = len(pending) > size
        link = f"{base}/mailFolders/{f['id']}/messages/delta?" + ("$skiptoken=" if more else "$deltatoken=") + state
        body = {"@odata.context": f"{base}/$metadata#Collection(message)", "value": value,
                ("@odata.nextLink" if more else "@odata.deltaLink"): link}
        self.send(200, json.dumps(body), "application/json", [("Preference-Applied", f"odata.maxpagesize={size}")])

    def graph_message(self, item, folder, select, expand):
        def box(value):
            found = addresses(value)
            return [{"emailAddress": {"name": n or a, "address": a}} for n, a in found]
        def stamp():
            try:
                return email.utils.parsedate_to_datetime(item.header("Date")).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            except Exception:
                return None
        m = {"id": item.id}
        every = {
            "internetMessageId": item.header("Message-ID"),
            "subject": item.decoded("Subject") or "",
            "from": (box(item.decoded("From")) or [None])[0],
            "sender": (box(item.decoded("Sender") or item.decoded("From")) or [None])[0],
            "toRecipients": box(item.decoded("To")),
            "ccRecipients": box(item.decoded("Cc")),
            "bccRecipients": box(item.decoded("Bcc")),
            "sentDateTime": stamp(),
            "receivedDateTime": stamp(),
            "conversationId": hashlib.sha1((item.header("References") or item.header("Message-ID") or "").split(" ")[0].encode()).hexdigest(),
        }
        # Graph leaves transport headers out for Sent Items (msgraph-sdk-dotnet #3025).
        if folder["dist"] != "sentitems":
            every["internetMessageHeaders"] = [{"name": n, "value": v} for n, v in item.headers]
        for k, v in every.items():
            if k in select and v is not None:
                m[k] = v
        if "singleValueExtendedProperties" in expand:
            props = []
            if "0x1042" in expand and item.header("In-Reply-To"):
                props.append({"id": "String 0x1042", "value": item.header("In-Reply-To")})
            if "0x1039" in expand and item.header("References"):
                props.append({"id": "String 0x1039", "value": item.header("References")})
            if props:
                m["singleValueExtendedProperties"] = props
        return m


def end_point_binding(cert_path):
    """RFC 5929 tls-server-end-point: the certificate's hash with its signature's hash
    algorithm (SHA-256 in place of MD5 and SHA-1), read by the `cryptography` package."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    with open(cert_path, "rb") as fh:
        cert = x509.load_pem_x509_certificate(fh.read())
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        algorithm = hashes.SHA256()
    return b"tls-server-end-point:" + cert.fingerprint(algorithm)



class SignIn:
    """The sign-in service's state: device codes, authorization codes, issued tokens."""

    def __init__(self, client_id, lifetime):
        self.client_id = client_id
        self.lifetime = lifetime
        self.device = {}  # device_code -> {user_code, state, expires}
        self.codes = {}  # code -> {challenge, redirect}
        self.access = {}  # token -> {expires}
        self.refresh = set()

    def issue(self):
        access, refresh = "at-" + uuid.uuid4().hex, "rt-" + uuid.uuid4().hex
        self.access[access] = {"expires": time.time() + self.lifetime}
        self.refresh.add(refresh)
        return {"token_type": "Bearer", "scope": "Mail.Read User.Read", "expires_in": self.lifetime,
                "access_token": access, "refresh_token": refresh}

    def valid(self, token):
        t = self.access.get(token)
        return t is not None and t["expires"] > time.time()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--mailbox", required=True, help="a directory of folders (inbox/, sentitems/, any name) of .eml files")
    p.add_argument("--owner", default="dana@corp.example")
    p.add_argument("--password", default="Passw0rd!")
    p.add_argument("--logins", help="the login forms the server accepts, comma-separated "
                   "[default: DOMAIN\\user, the owner's address, user]")
    p.add_argument("--domain", default="CORP", help="the NetBIOS domain")
    p.add_argument("--auth", default="ntlm,basic", help="schemes offered: ntlm, basic, bearer "
                   "(an access token from the sign-in service, as in hybrid modern auth)")
    p.add_argument("--cbt", default="require", choices=["require", "allow", "none"])
    p.add_argument("--redirect", action="append", default=[], help="FROM=TO: Autodiscover RedirectAddr")
    p.add_argument("--ready-file", help="written with the port once listening")
    p.add_argument("--binding-cert", help="compute the channel binding from this certificate instead "
                   "(what a TLS-intercepting proxy looks like to the server)")
    p.add_argument("--autodiscover-hosts", default="", help="Host names Autodiscover answers for (all when empty)")
    p.add_argument("--delay-ms", type=int, default=0, help="wait this long before each EWS or Graph answer")
    p.add_argument("--imap-user", default="alice", help="the IMAP login introspection vouches for")
    p.add_argument("--client-id", default="rapport-test-client", help="the app registration the sign-in service knows")
    p.add_argument("--token-lifetime", type=int, default=3600, help="seconds an access token lasts")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args()

    if not a.logins:
        local = a.owner.split("@")[0]
        a.logins = f"{a.domain}\\{local},{a.owner},{local}"
    model = Model(a.owner, a.owner.split("@")[-1])
    for folder in sorted(os.listdir(a.mailbox)):
        d = os.path.join(a.mailbox, folder)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as fh:
                model.add_item(folder, fh.read())

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    server = Server(("127.0.0.1", a.port), Handler)
    server.request_queue_size = 64
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.model = model
    server.verbose = a.verbose
    server.schemes = [s.strip() for s in a.auth.split(",") if s.strip()]
    server.cbt = a.cbt
    server.netbios_domain = a.domain
    server.redirects = dict(r.lower().split("=", 1) for r in a.redirect)
    server.logins = {login.lower(): a.password for login in a.logins.split(",") if login}
    # NTLM's credential file for pyspnego: DOMAIN:user:password, or :UPN:password.
    users = os.path.join(os.path.dirname(os.path.abspath(a.cert)), "ntlm-users")
    with open(users, "w") as fh:
        for login in a.logins.split(","):
            if "\\" in login:
                dom, user = login.split("\\", 1)
                fh.write(f"{dom}:{user}:{a.password}\n")
            elif login:
                fh.write(f":{login}:{a.password}\n")
    os.environ["NTLM_USER_FILE"] = users
    server.binding = end_point_binding(a.binding_cert or a.cert)
    server.autodiscover_hosts = {h.strip().lower() for h in a.autodiscover_hosts.split(",") if h.strip()}
    server.delay = a.delay_ms / 1000
    server.signin = SignIn(a.client_id, a.token_lifetime)
    server.imap_user = a.imap_user
    if a.ready_file:
        with open(a.ready_file + ".tmp", "w") as fh:
            fh.write(str(server.server_address[1]))
        os.replace(a.ready_file + ".tmp", a.ready_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
