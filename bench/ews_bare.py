#!/usr/bin/env python3
"""The bare EWS client bench/exchange.sh compares Rapport with: the same requests Rapport's first
sync makes (SyncFolderHierarchy, then per mail folder SyncFolderItems pages of 500 and GetItem
batches of 10 with the same header fields), over one kept-alive TLS connection with Basic
authentication — and nothing else: no parsing beyond finding the ids, no storing.

    ews_bare.py URL CA_FILE USER PASSWORD   → prints "items N requests M seconds S"
"""
import base64
import http.client
import re
import socket
import ssl
import sys
import time
import urllib.parse

FIELDS = ["message:InternetMessageId", "message:From", "message:Sender", "message:ToRecipients",
          "message:CcRecipients", "message:BccRecipients", "message:References", "item:InReplyTo",
          "item:Subject", "item:DateTimeSent", "item:DateTimeReceived", "item:ConversationId",
          "item:InternetMessageHeaders", "message:IsRead"]
ENVELOPE = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
            'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><soap:Header>'
            '<t:RequestServerVersion Version="Exchange2013_SP1"/></soap:Header><soap:Body>{}</soap:Body></soap:Envelope>')


def main():
    url, ca, user, password = sys.argv[1:5]
    u = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection(u.hostname, u.port or 443, context=ctx)
    # Names under .localhost are this machine (as Rapport resolves them); TLS still checks the name.
    conn._create_connection = lambda addr, *a, **k: socket.create_connection(("127.0.0.1", addr[1]), *a, **k)
    auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    requests = 0

    def call(body):
        nonlocal requests
        requests += 1
        conn.request("POST", u.path, ENVELOPE.format(body).encode(),
                     {"Content-Type": "text/xml; charset=utf-8", "Authorization": auth})
        r = conn.getresponse()
        data = r.read().decode()
        if r.status != 200:
            raise SystemExit(f"HTTP {r.status}: {data[:200]}")
        return data

    start = time.perf_counter()
    h = call('<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>'
             '<t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURI FieldURI="folder:FolderClass"/>'
             '</t:AdditionalProperties></m:FolderShape><m:SyncFolderId><t:DistinguishedFolderId Id="msgfolderroot"/>'
             '</m:SyncFolderId></m:SyncFolderHierarchy>')
    folders = re.findall(r'<t:Folder><t:FolderId Id="([^"]+)"[^>]*/>(?:<t:ParentFolderId[^>]*/>)?<t:FolderClass>IPF\.Note</t:FolderClass>', h)
    fields = "".join(f'<t:FieldURI FieldURI="{f}"/>' for f in FIELDS)
    items = 0
    for folder in folders:
        state, last = "", False
        while not last:
            s = f"<m:SyncState>{state}</m:SyncState>" if state else ""
            page = call(f'<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>'
                        f'<m:SyncFolderId><t:FolderId Id="{folder}"/></m:SyncFolderId>{s}'
                        f'<m:MaxChangesReturned>500</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>')
            state = re.search(r"<m:SyncState>([^<]*)</m:SyncState>", page).group(1)
            last = "<m:IncludesLastItemInRange>true" in page
            ids = re.findall(r'<t:Create><t:Message><t:ItemId Id="([^"]+)"', page)
            for i in range(0, len(ids), 10):
                batch = "".join(f'<t:ItemId Id="{x}"/>' for x in ids[i:i + 10])
                call(f'<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>{fields}'
                     f'</t:AdditionalProperties></m:ItemShape><m:ItemIds>{batch}</m:ItemIds></m:GetItem>')
            items += len(ids)
    print(f"items {items} requests {requests} seconds {time.perf_counter() - start:.3f}")


if __name__ == "__main__":
    main()
