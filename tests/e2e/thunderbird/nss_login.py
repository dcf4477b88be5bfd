#!/usr/bin/env python3
"""Stores a mail-server password in a Thunderbird profile (key4.db + logins.json), so that a
headless Thunderbird logs in without a prompt. Uses Thunderbird's own NSS (PK11SDR_Encrypt with
an empty primary password), as Thunderbird's login manager does.

usage: LD_LIBRARY_PATH=$TB_DIR nss_login.py PROFILE ORIGIN USER PASSWORD
ORIGIN is "<local store type>://<host>": a POP3 account's password is stored under
mailbox://HOST (not pop3://HOST)."""
import base64
import ctypes
import json
import os
import sys
import time
import uuid


class Item(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint), ("data", ctypes.c_void_p), ("len", ctypes.c_uint)]


def load_nss():
    lib = ctypes.CDLL(os.path.join(os.environ.get("TB_DIR", "/usr/lib/thunderbird"), "libnss3.so"))
    lib.NSS_InitReadWrite.argtypes = [ctypes.c_char_p]
    lib.PK11_GetInternalKeySlot.restype = ctypes.c_void_p
    lib.PK11_NeedUserInit.argtypes = [ctypes.c_void_p]
    lib.PK11_InitPin.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    lib.PK11_FreeSlot.argtypes = [ctypes.c_void_p]
    lib.PK11SDR_Encrypt.argtypes = [ctypes.POINTER(Item), ctypes.POINTER(Item), ctypes.POINTER(Item), ctypes.c_void_p]
    lib.SECITEM_ZfreeItem.argtypes = [ctypes.POINTER(Item), ctypes.c_int]
    return lib


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    profile, origin, user, password = sys.argv[1:]
    nss = load_nss()
    if nss.NSS_InitReadWrite(f"sql:{profile}".encode()) != 0:
        sys.exit(f"nss_login.py: cannot open the NSS database in {profile}")
    slot = nss.PK11_GetInternalKeySlot()
    if nss.PK11_NeedUserInit(slot) and nss.PK11_InitPin(slot, None, b"") != 0:
        sys.exit("nss_login.py: setting the empty primary password failed")
    nss.PK11_FreeSlot(slot)

    def encrypt(text):
        raw = text.encode()
        buf = ctypes.create_string_buffer(raw, len(raw))
        plain, key, out = Item(0, ctypes.cast(buf, ctypes.c_void_p), len(raw)), Item(0, None, 0), Item(0, None, 0)
        if nss.PK11SDR_Encrypt(ctypes.byref(key), ctypes.byref(plain), ctypes.byref(out), None) != 0:
            sys.exit("nss_login.py: PK11SDR_Encrypt failed")
        data = ctypes.string_at(out.data, out.len)
        nss.SECITEM_ZfreeItem(ctypes.byref(out), 0)
        return base64.b64encode(data).decode()

    now = int(time.time() * 1000)
    store = {"nextId": 1, "logins": [], "potentiallyVulnerablePasswords": [],
             "dismissedBreachAlertsByLoginGUID": {}, "version": 3}
    path = os.path.join(profile, "logins.json")
    if os.path.exists(path):
        with open(path) as f:
            store = json.load(f)
    store["logins"].append({
        "id": store["nextId"], "hostname": origin, "httpRealm": origin, "formSubmitURL": None,
        "usernameField": "", "passwordField": "", "encryptedUsername": encrypt(user),
        "encryptedPassword": encrypt(password), "guid": "{%s}" % uuid.uuid4(), "encType": 1,
        "timeCreated": now, "timeLastUsed": now, "timePasswordChanged": now, "timesUsed": 1,
        "syncCounter": 0, "everSynced": False, "encryptedUnknownFields": None})
    store["nextId"] += 1
    with open(path, "w") as f:
        json.dump(store, f)
    nss.NSS_Shutdown()


if __name__ == "__main__":
    main()
