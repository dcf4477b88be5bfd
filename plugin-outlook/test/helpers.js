// Shared test helpers: the rapport binary, a seeded database, a running `rapport serve`.
"use strict";
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const https = require("node:https");

const ROOT = path.resolve(__dirname, "..", "..");
// As rapport_bin in tests/lib.sh: $RAPPORT_BIN, else release, else debug in cargo's target dir.
const TARGET = path.resolve(ROOT, process.env.CARGO_TARGET_DIR || "target");
const BIN =
  process.env.RAPPORT_BIN ||
  [path.join(TARGET, "release/rapport"), path.join(TARGET, "debug/rapport")].find((p) => fs.existsSync(p));

function rapport(args, opts) {
  if (!BIN) throw new Error("no rapport binary: build it (cargo build -p rapport-cli) or set RAPPORT_BIN");
  return execFileSync(BIN, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...(opts || {}) });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

const ME = "me@example.com";
const ADA = "ada@analytical.example";

function eml({ from, to, cc, subject, date, id, inReplyTo }) {
  return [
    `From: ${from}`,
    `To: ${to}`,
    ...(cc ? [`Cc: ${cc}`] : []),
    `Subject: ${subject}`,
    `Date: ${date}`,
    `Message-ID: <${id}>`,
    ...(inReplyTo ? [`In-Reply-To: <${inReplyTo}>`, `References: <${inReplyTo}>`] : []),
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Hello.",
    "",
  ].join("\r\n");
}

/** Five messages between me and Ada: 3 from her, 2 from me, two threads. */
const SEED = [
  { from: `Ada Lovelace <${ADA}>`, to: `Me <${ME}>`, subject: "Engine plans", date: "Fri, 10 Jan 2025 09:00:00 +0000", id: "a1@analytical.example" },
  { from: `Me <${ME}>`, to: `Ada Lovelace <${ADA}>`, subject: "Re: Engine plans", date: "Sun, 12 Jan 2025 10:30:00 +0000", id: "m1@example.com", inReplyTo: "a1@analytical.example" },
  { from: `Ada Lovelace <${ADA}>`, to: `Me <${ME}>`, subject: "Notes on the engine", date: "Mon, 03 Feb 2025 08:15:00 +0000", id: "a2@analytical.example" },
  { from: `Me <${ME}>`, to: `Ada Lovelace <${ADA}>`, subject: "Re: Notes on the engine", date: "Wed, 05 Feb 2025 17:45:00 +0000", id: "m2@example.com", inReplyTo: "a2@analytical.example" },
  { from: `Ada Lovelace <${ADA}>`, to: `Me <${ME}>`, subject: "Bernoulli numbers", date: "Sat, 15 Mar 2025 12:00:00 +0000", id: "a3@analytical.example" },
];

/** The message the task pane shows in the browser test (not in the seeded database). */
const NEW_MESSAGE = {
  from: `Ada Lovelace <${ADA}>`,
  to: `Me <${ME}>`,
  cc: "Charles Babbage <charles@engine.example>",
  subject: "Re: Bernoulli numbers",
  date: "Thu, 20 Mar 2025 16:00:00 +0000",
  id: "a4@analytical.example",
  inReplyTo: "a3@analytical.example",
};

function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix || "rapport-outlook-"));
}

/** Makes a database with the seed mail and the user's identity. */
function seedDatabase(dir) {
  const mail = path.join(dir, "mail");
  fs.mkdirSync(mail, { recursive: true });
  SEED.forEach((m, i) => fs.writeFileSync(path.join(mail, `${i + 1}.eml`), eml(m)));
  const db = path.join(dir, "rapport.db");
  rapport(["--db", db, "--quiet", "import", mail, "--me", ME]);
  rapport(["--db", db, "identity", "add", ME]);
  return db;
}

/** `rapport install outlook` in a temporary directory, then `rapport serve`. */
async function startBridge(options) {
  const opts = options || {};
  const dir = opts.dir || tempDir();
  const bridgeDir = path.join(dir, "outlook");
  const db = opts.db || path.join(dir, "rapport.db");
  const port = opts.port || (await freePort());
  const env = { ...process.env, RAPPORT_LOG: "off" };
  delete env.RAPPORT_OUTLOOK_DIR;
  if (!opts.skipInstall) {
    rapport(["--json", "install", "outlook", "--dir", bridgeDir, "--port", String(port)], { env });
  }
  const bridge = {
    dir,
    bridgeDir,
    db,
    port,
    origin: `https://localhost:${port}`,
    token: fs.readFileSync(path.join(bridgeDir, "token"), "utf8").trim(),
    ca: fs.readFileSync(path.join(bridgeDir, "ca.crt")),
    child: null,
    log: "",
    async start() {
      const child = spawn(BIN, ["--db", db, "serve", "--dir", bridgeDir], { env, stdio: ["ignore", "ignore", "pipe"] });
      this.child = child;
      child.stderr.on("data", (d) => (this.log += d));
      const deadline = Date.now() + 20000;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error("rapport serve exited: " + this.log);
        if (await canConnect(port)) return this;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error("rapport serve did not start: " + this.log);
    },
    async stop() {
      const child = this.child;
      if (!child || child.exitCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
    /** The pairing code `rapport serve` made when it started (only the owner can read it). */
    pairingCode() {
      return JSON.parse(fs.readFileSync(path.join(bridgeDir, "pairing.json"), "utf8")).code;
    },
    /** One HTTPS request to the bridge: → {status, headers, body}. */
    request(opts2) {
      return request({ port, ca: this.ca, ...opts2 });
    },
  };
  return bridge.start();
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** An HTTPS request that verifies the bridge's certificate against its CA. */
function request({ port, ca, method, path: p, headers, body, host, chunked }) {
  return new Promise((resolve, reject) => {
    const h = { ...(headers || {}) };
    if (host) h.Host = host;
    const req = https.request(
      { host: "127.0.0.1", servername: "localhost", port, ca, method: method || "GET", path: p || "/", headers: h, agent: false },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      }
    );
    req.on("error", reject);
    if (body !== undefined) {
      if (chunked) {
        const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
        const step = 64 * 1024;
        let i = 0;
        const pump = () => {
          while (i < buf.length) {
            const ok = req.write(buf.subarray(i, i + step));
            i += step;
            if (!ok) return req.once("drain", pump);
          }
          req.end();
        };
        pump();
        return;
      }
      req.end(body);
    } else req.end();
  });
}

function rpcBody(method, params) {
  return JSON.stringify({ id: 1, method, params: params || {} });
}

module.exports = { ROOT, BIN, rapport, freePort, tempDir, seedDatabase, startBridge, request, rpcBody, eml, SEED, NEW_MESSAGE, ME, ADA };
