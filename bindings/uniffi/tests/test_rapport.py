"""The Python binding layer: conversions, coroutines, listeners and error codes.

Run after bindings/uniffi/generate.sh:
    PYTHONPATH=target/bindings/python python3 -m unittest discover -s bindings/uniffi/tests -v
The engine's own behaviour is tested in rapport-core.
"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

from rapport_ffi import (
    AwaitingQuery,
    CancelToken,
    ContactQuery,
    ImportOptions,
    ImportProgressListener,
    Rapport,
    RapportError,
    SourceRef,
    ThreadQuery,
)

NOW = "2024-03-01T00:00:00Z"


def message(mid, sender, to, subject="Hello", date="Mon, 01 Jan 2024 10:00:00 +0000", in_reply_to=None):
    lines = [f"Message-ID: <{mid}>", f"Date: {date}", f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
    if in_reply_to:
        lines += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
    return ("\r\n".join(lines) + "\r\n\r\nBody text.\r\n").encode()


def write_mbox(directory, count):
    path = os.path.join(directory, "big.mbox")
    with open(path, "w") as f:
        for i in range(count):
            m = message(f"m{i}@example.org", f"Person {i % 97} <p{i % 97}@example.org>", "me@example.com",
                        subject=f"Topic {i % 500}").decode().replace("\r\n", "\n")
            f.write(f"From p@example.org Mon Jan  1 00:00:00 2024\n{m}\n")
    return path


class Collect(ImportProgressListener):
    def __init__(self):
        self.seen = []

    def on_progress(self, progress):
        self.seen.append(progress)


class CancelWhenRunning(ImportProgressListener):
    def __init__(self, token):
        self.token = token
        self.running = False

    def on_progress(self, progress):
        if progress.messages > 0 and not self.running:
            self.running = True
            self.token.cancel()


async def sample():
    db = Rapport.open_in_memory()
    await db.add_identity("me@example.com")
    await db.ingest(message("a1@example.org", "Ann <ann@example.org>", "me@example.com", "Lunch?"),
                    SourceRef(kind="api", external_id="1"))
    await db.ingest(message("a2@example.com", "Me <me@example.com>", "Ann <ann@example.org>", "Re: Lunch?",
                            "Mon, 01 Jan 2024 12:00:00 +0000", in_reply_to="a1@example.org"),
                    SourceRef(kind="api", external_id="2"), sent=True)
    await db.ingest(message("b1@example.net", "Bob <bob@example.net>", "me@example.com", "Question",
                            "Tue, 02 Jan 2024 09:00:00 +0000"),
                    SourceRef(kind="api", external_id="3"))
    await db.set_policy("sent-and-received")
    return db


class ApiTest(unittest.IsolatedAsyncioTestCase):
    async def test_open_creates_a_database(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "new.db")
            db = Rapport.open(path)
            self.assertEqual(db.path(), path)
            self.assertTrue(os.path.exists(path))
            stats = await db.stats()
            self.assertEqual(stats.messages, 0)
            self.assertIsNone(stats.first_date)
            await db.close()
            self.assertTrue(db.is_closed())

    async def test_ingest_and_queries(self):
        db = await sample()
        dup = await db.ingest(message("a1@example.org", "Ann <ann@example.org>", "me@example.com", "Lunch?"),
                              SourceRef(kind="api", external_id="1b"))
        self.assertEqual(dup.outcome, "duplicate")
        self.assertEqual(await db.have(["a1@example.org", "<b1@example.net>", "z@example.org"]), [True, True, False])
        stats = await db.stats()
        self.assertEqual(stats.messages, 3)
        self.assertEqual(stats.by_direction["outbound"], 1)
        self.assertEqual([i.email for i in await db.identities()], ["me@example.com"])
        self.assertEqual(await db.policy(), "sent-and-received")

        contacts = await db.contacts(ContactQuery(sort="messages", now=NOW))
        self.assertEqual([c.email for c in contacts], ["ann@example.org", "bob@example.net"])
        self.assertEqual(contacts[0].last_contact, "2024-01-01T12:00:00Z")
        self.assertIsNone(contacts[0].cadence_days)
        self.assertEqual([c.email for c in await db.contacts(ContactQuery(flow="two-way"))], ["ann@example.org"])
        self.assertEqual(len(await db.contacts()), 2)

        detail = await db.contact("ANN@example.org", now=NOW)
        self.assertEqual(detail.contact.email, "ann@example.org")
        self.assertEqual(detail.recent[0].from_address, "me@example.com")
        self.assertEqual(len(await db.timeline("ann@example.org", limit=1)), 1)

        threads = await db.threads(ThreadQuery(now=NOW))
        lunch = next(t for t in threads if "Lunch" in t.subject)
        self.assertEqual(lunch.message_count, 2)
        thread = await db.thread(str(lunch.id))
        self.assertEqual([m.depth for m in thread.messages], [0, 1])

        on_me = await db.awaiting(AwaitingQuery(on="me", now=NOW))
        self.assertEqual([(a.contact_email, a.waiting_on, a.age_days) for a in on_me], [("bob@example.net", "me", 58)])
        on_them = await db.awaiting(AwaitingQuery(on="them", now=NOW))
        self.assertEqual([a.contact_email for a in on_them], ["ann@example.org"])
        await db.close()

    async def test_rules_cadence_search_export(self):
        db = await sample()
        self.assertEqual(await db.add_rule("block", "Bob@Example.net"), "bob@example.net")
        self.assertEqual([(r.action, r.pattern) for r in await db.rules()], [("block", "bob@example.net")])
        self.assertFalse((await db.explain("bob@example.net")).is_contact)
        self.assertEqual(await db.remove_rule("bob@example.net"), ["bob@example.net"])
        await db.set_cadence("ann@example.org", 14)
        neglected = await db.neglected(limit=10, now=NOW)
        self.assertEqual([n.contact.email for n in neglected], ["ann@example.org"])
        await db.set_group("ann@example.org", "friends")
        await db.set_group_cadence("friends", 7)
        self.assertTrue(any(h.kind == "message" for h in await db.search("lunch")))
        self.assertIn("ann@example.org", await db.export_to_string("csv"))
        self.assertIn("BEGIN:VCARD", await db.export_to_string("vcard"))
        self.assertEqual(len(json.loads(await db.export_to_string("json"))), 2)
        self.assertIn("VTODO", await db.export_to_string("ical", now=NOW))
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "c.vcf")
            self.assertEqual(await db.export_to_file("vcard", out), 2)
            with open(out) as f:
                self.assertIn("BEGIN:VCARD", f.read())
        await db.close()

    async def test_import_with_progress(self):
        with tempfile.TemporaryDirectory() as d:
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(d, "Maildir", sub))
            for i in range(5):
                with open(os.path.join(d, "Maildir", "cur", f"{i}:2,S"), "wb") as f:
                    f.write(message(f"x{i}@example.org", f"p{i}@example.org", "me@example.com"))
            db = Rapport.open(os.path.join(d, "r.db"))
            listener = Collect()
            summary = await db.import_paths([os.path.join(d, "Maildir")],
                                            ImportOptions(policy="sent-and-received"), listener, CancelToken())
            self.assertEqual((summary.messages_read, summary.stored), (5, 5))
            self.assertGreaterEqual(len(listener.seen), 1)
            self.assertEqual(listener.seen[0].files_total, 5)
            self.assertEqual((await db.import_paths([os.path.join(d, "Maildir")])).duplicates, 5)
            await db.close()

    async def test_bad_arguments_raise_invalid_input(self):
        db = Rapport.open_in_memory()
        calls = [
            db.contacts(ContactQuery(sort="loudest")),
            db.awaiting(AwaitingQuery(on="everyone")),
            db.set_policy("everyone"),
            db.add_rule("maybe", "example.org"),
            db.export_to_string("pdf"),
            db.add_identity("not an address"),
            db.ingest(b"no headers at all", SourceRef(kind="api", external_id="1")),
        ]
        for call in calls:
            with self.assertRaises(RapportError.InvalidInput):
                await call
        await db.close()


class ErrorTest(unittest.IsolatedAsyncioTestCase):
    async def test_missing_path_is_not_found(self):
        db = Rapport.open_in_memory()
        with self.assertRaises(RapportError.NotFound) as cm:
            await db.import_paths(["/no/such/maildir"])
        self.assertIn("/no/such/maildir", str(cm.exception))
        with self.assertRaises(RapportError.NotFound):
            await db.contact("nobody@example.org")
        await db.close()

    def test_corrupt_database_is_storage(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "corrupt.db")
            with open(path, "wb") as f:
                f.write(b"\x5a" * 8192)
            with self.assertRaises(RapportError.Storage):
                Rapport.open(path)
            # Every code is a subclass of RapportError.
            with self.assertRaises(RapportError):
                Rapport.open(path)

    async def test_closed_handle_is_closed(self):
        db = Rapport.open_in_memory()
        await db.close()
        with self.assertRaises(RapportError.Closed):
            await db.stats()
        with self.assertRaises(RapportError.Closed):
            await db.import_paths(["/tmp"])
        await db.close()

    async def test_cancelling_a_running_import(self):
        with tempfile.TemporaryDirectory() as d:
            mbox = write_mbox(d, 20000)
            db = Rapport.open(os.path.join(d, "r.db"))
            token = CancelToken()
            listener = CancelWhenRunning(token)
            ticks = 0

            async def tick():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.005)
                    ticks += 1

            ticker = asyncio.create_task(tick())
            started = time.monotonic()
            with self.assertRaises(RapportError.Cancelled):
                await db.import_paths([mbox], ImportOptions(policy="sent-and-received"), listener, token)
            ticker.cancel()
            self.assertTrue(listener.running, "the import was running when cancelled")
            self.assertGreater(ticks, 0, "the event loop kept running during the import")
            self.assertLess(time.monotonic() - started, 60)
            kept = (await db.stats()).messages
            self.assertTrue(0 < kept < 20000, kept)
            summary = await db.import_paths([mbox])
            self.assertEqual(summary.stored + summary.duplicates, 20000)
            await db.close()


class ExitTest(unittest.TestCase):
    def test_interpreter_exit_right_after_awaits_does_not_abort(self):
        # A worker waking a coroutine must be out of Python before the interpreter finalizes
        # (see src/handoff.rs); without that about one run in seven aborted at exit.
        script = (
            "import asyncio\n"
            "from rapport_ffi import Rapport, RapportError\n"
            "async def main():\n"
            "    db = Rapport.open_in_memory()\n"
            "    for _ in range(5):\n"
            "        await db.stats()\n"
            "    await db.close()\n"
            "    try:\n"
            "        await db.stats()\n"
            "    except RapportError.Closed:\n"
            "        pass\n"
            "asyncio.run(main())\n"
        )
        for _ in range(25):
            done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)


if __name__ == "__main__":
    unittest.main()
