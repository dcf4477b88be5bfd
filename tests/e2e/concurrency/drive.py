#!/usr/bin/env python3
"""Drives every kind of Rapport writer at one database, for tests/e2e/concurrency.sh.

    drive.py concurrent BIN DB BRIDGE_DIR PORT LOG BIG SECOND
        Phase 1: `rapport import BIG` and, 2 s later, `rapport import SECOND`; phase 2: the same
        BIG again (all of it already stored). During both: a CLI edit every second, a
        native-host capture every 0.3 s, a bridge capture every 0.5 s and `rapport contacts`
        in a loop. Writes what it did to LOG (JSON) and prints one line per kind of work:
        how many, how many failed, p50 and p99 latency.
    drive.py sequential BIN DB BRIDGE_DIR PORT LOG BIG SECOND
        The same work from LOG, one thing after another.

With TRACE_DIR set, each import's debug log goes there and the four slowest of each kind of
work are printed with the time they started, to line them up with the imports' phases.

Exits 1 if anything failed. Uses only the standard library.
"""
import base64
import json
import os
import ssl
import struct
import subprocess
import sys
import threading
import time
import http.client

ME = "me@rapport.test"


def percentile(values, p):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Tally:
    """Latencies and failures of one kind of work."""

    def __init__(self, name):
        self.name = name
        self.times = []
        self.when = []
        self.failures = []
        self.lock = threading.Lock()

    def record(self, seconds, error=None):
        with self.lock:
            self.times.append(seconds)
            self.when.append(time.time() - seconds)
            if error:
                self.failures.append(error)

    def line(self):
        return (f"{self.name}: {len(self.times)} done, {len(self.failures)} failed, "
                f"p50 {percentile(self.times, 50) * 1000:.0f} ms, "
                f"p99 {percentile(self.times, 99) * 1000:.0f} ms, "
                f"max {max(self.times, default=0) * 1000:.0f} ms")


def edit_command(i):
    """The i-th CLI edit: identities, rules and group cadences in turn."""
    kind = i % 3
    if kind == 0:
        return ["identity", "add", f"alias{i}@rapport.test"]
    if kind == 1:
        return ["rule", "block", f"corp{(i // 3) % 97}.example"]
    return ["group", "cadence", f"g{i}", "30"]


def captured_message(kind, i):
    """A message only a capture brings: a reply into a generated thread, or a new one."""
    if kind == "nh":
        head = (f"From: New Person {i} <np{i}@fresh.example>\r\nTo: {ME}\r\n"
                f"In-Reply-To: <m{i + 1}.0@gen.example>\r\n")
    else:
        head = f"From: Me <{ME}>\r\nTo: Person {i} <p{i}@corp{i % 97}.example>\r\n"
    return (head + f"Subject: captured {kind} {i}\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{kind}{i}@capture.example>\r\n\r\nhi\r\n").encode()


def capture_request(rid, kind, i):
    raw = base64.b64encode(captured_message(kind, i)).decode()
    source = {"account": "test", "folder": "INBOX", "id": f"{kind}{i}"}
    return {"id": rid, "method": "capture", "params": {"raw": raw, "source": source}}


class NativeHost:
    """A `rapport native-host` process, spoken to as Thunderbird does."""

    def __init__(self, binary, db):
        self.proc = subprocess.Popen(
            [binary, "--db", db, "native-host", "/dev/null", "rapport@rapport.invalid"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def call(self, request):
        body = json.dumps(request).encode()
        self.proc.stdin.write(struct.pack("=I", len(body)) + body)
        self.proc.stdin.flush()
        size = self.proc.stdout.read(4)
        if len(size) < 4:
            raise RuntimeError("native host closed its output")
        reply = json.loads(self.proc.stdout.read(struct.unpack("=I", size)[0]))
        if "error" in reply:
            raise RuntimeError(reply["error"].get("message", "error"))
        return reply["result"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Bridge:
    """`POST /api/rpc` on a running `rapport serve`, with the install's token."""

    def __init__(self, bridge_dir, port):
        self.port = port
        with open(os.path.join(bridge_dir, "token")) as f:
            self.token = f.read().strip()
        self.context = ssl.create_default_context(cafile=os.path.join(bridge_dir, "ca.crt"))

    def call(self, request):
        conn = http.client.HTTPSConnection("localhost", self.port, context=self.context, timeout=900)
        try:
            conn.request("POST", "/api/rpc", body=json.dumps(request),
                         headers={"Authorization": f"Bearer {self.token}",
                                  "Content-Type": "application/json"})
            resp = conn.getresponse()
            reply = json.loads(resp.read() or b"{}")
        finally:
            conn.close()
        if resp.status != 200 or "error" in reply:
            raise RuntimeError(f"HTTP {resp.status}: {reply.get('error', reply)}")
        return reply["result"]


def run_cli(binary, db, args, tally):
    started = time.monotonic()
    env = dict(os.environ)
    if args[0] == "import" and os.environ.get("TRACE_DIR"):
        env["RAPPORT_LOG"] = "debug"
    proc = subprocess.run([binary, "--db", db, "-q", *args], capture_output=True, text=True, env=env)
    if args[0] == "import" and os.environ.get("TRACE_DIR"):
        with open(os.path.join(os.environ["TRACE_DIR"], f"import-{time.time():.0f}.log"), "w") as f:
            f.write(proc.stderr)
    error = None
    if proc.returncode != 0:
        error = f"{' '.join(args)}: exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
    tally.record(time.monotonic() - started, error)


def every(seconds, stop, work):
    """Calls work(i) every `seconds` until stop is set."""
    i = 0
    while not stop.is_set():
        started = time.monotonic()
        work(i)
        i += 1
        stop.wait(max(0.0, seconds - (time.monotonic() - started)))


def concurrent(binary, db, bridge_dir, port, log_path, big, second):
    tallies = {k: Tally(k) for k in ["import", "edit", "native-host", "bridge", "contacts"]}
    done = {"edits": [], "nh": [], "br": []}
    host = NativeHost(binary, db)
    bridge = Bridge(bridge_dir, port)
    counters = {"edit": 0, "nh": 0, "br": 0}
    rid = [0]

    def edit(_):
        i = counters["edit"]
        counters["edit"] += 1
        run_cli(binary, db, edit_command(i), tallies["edit"])
        done["edits"].append(i)

    def capture(kind, tally, caller):
        def work(_):
            i = counters[kind]
            counters[kind] += 1
            rid[0] += 1
            started = time.monotonic()
            try:
                caller.call(capture_request(rid[0], kind, i))
                tally.record(time.monotonic() - started)
                done[kind].append(i)
            except Exception as e:  # noqa: BLE001 - every failure is counted and reported
                tally.record(time.monotonic() - started, f"{kind} capture {i}: {e}")
        return work

    def reader(_):
        run_cli(binary, db, ["contacts", "--json", "--limit", "20"], tallies["contacts"])

    for phase, imports in [(1, [big, second]), (2, [big])]:
        stop = threading.Event()
        loops = [threading.Thread(target=every, args=a) for a in [
            (1.0, stop, edit),
            (0.3, stop, capture("nh", tallies["native-host"], host)),
            (0.5, stop, capture("br", tallies["bridge"], bridge)),
            (0.0, stop, reader),
        ]]
        for t in loops:
            t.start()
        importers = []
        for n, path in enumerate(imports):
            def job(path=path, delay=2.0 * n):
                time.sleep(delay)
                run_cli(binary, db, ["import", path], tallies["import"])
            importers.append(threading.Thread(target=job))
            importers[-1].start()
        started = time.monotonic()
        for t in importers:
            t.join()
        print(f"phase {phase}: imports took {time.monotonic() - started:.1f} s", flush=True)
        stop.set()
        for t in loops:
            t.join()
    host.close()
    with open(log_path, "w") as f:
        json.dump(done, f)
    return tallies


def sequential(binary, db, bridge_dir, port, log_path, big, second):
    tallies = {k: Tally(k) for k in ["import", "edit", "native-host", "bridge"]}
    with open(log_path) as f:
        done = json.load(f)
    run_cli(binary, db, ["import", big], tallies["import"])
    run_cli(binary, db, ["import", second], tallies["import"])
    for i in done["edits"]:
        run_cli(binary, db, edit_command(i), tallies["edit"])
    host = NativeHost(binary, db)
    bridge = Bridge(bridge_dir, port)
    for n, (kind, caller) in enumerate([("nh", host), ("br", bridge)]):
        name = "native-host" if kind == "nh" else "bridge"
        for i in done[kind]:
            started = time.monotonic()
            try:
                caller.call(capture_request(n * 1_000_000 + i, kind, i))
                tallies[name].record(time.monotonic() - started)
            except Exception as e:  # noqa: BLE001
                tallies[name].record(time.monotonic() - started, f"{kind} capture {i}: {e}")
    host.close()
    run_cli(binary, db, ["import", big], tallies["import"])
    return tallies


def main():
    mode, binary, db, bridge_dir, port, log_path, big, second = sys.argv[1:9]
    work = concurrent if mode == "concurrent" else sequential
    tallies = work(binary, db, bridge_dir, int(port), log_path, big, second)
    failed = 0
    for t in tallies.values():
        print(t.line(), flush=True)
        for f in t.failures[:5]:
            print(f"  failure: {f}", flush=True)
        if os.environ.get("TRACE_DIR"):
            slowest = sorted(zip(t.times, t.when), reverse=True)[:4]
            for secs, when in slowest:
                stamp = time.strftime("%H:%M:%S", time.gmtime(when)) + f"{when % 1:.3f}"[1:]
                print(f"  slow: {secs * 1000:.0f} ms from {stamp}", flush=True)
        failed += len(t.failures)
    sys.exit(1 if failed else 0)


main()
