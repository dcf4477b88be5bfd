// Shared helpers of the dashboard's tests: the rapport binary, a database, a running `rapport ui`
// logged in once (its cookie reused by every request and browser context), the CLI's --json.
"use strict";
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..", "..");
const TARGET = path.resolve(ROOT, process.env.CARGO_TARGET_DIR || "target");
const BIN =
  process.env.RAPPORT_BIN ||
  [path.join(TARGET, "release/rapport"), path.join(TARGET, "debug/rapport")].find((p) => fs.existsSync(p));
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(ROOT, "tests", "artifacts");
/** "Now" for the server and the CLI alike, so ages and due dates agree to the second. */
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().slice(0, 19);

function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix || "rapport-ui-"));
}

/** `rapport --db DB --now NOW ARGS… --json`, parsed. */
function cli(db, args) {
  if (!BIN) throw new Error("no rapport binary: cargo build -p rapport-cli, or set RAPPORT_BIN");
  const out = execFileSync(BIN, ["--db", db, "--now", NOW, "--json", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RAPPORT_CONFIG: path.join(path.dirname(db), "accounts.toml") } });
  return JSON.parse(out);
}

function run(db, args) {
  return execFileSync(BIN, ["--db", db, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RAPPORT_CONFIG: path.join(path.dirname(db), "accounts.toml") } });
}

/** The demo database (`rapport demo` into a fresh file). */
function demoDatabase() {
  const dir = tempDir();
  const db = path.join(dir, "demo.db");
  execFileSync(BIN, ["--db", db, "--quiet", "demo"], { stdio: "ignore", env: { ...process.env, RAPPORT_CONFIG: path.join(dir, "accounts.toml") } });
  return db;
}

/** One HTTP request to the server: {status, headers, body, json}. */
function request(port, { method = "GET", path: p = "/", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: p, headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode, headers: res.headers, body: text, json });
      });
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Starts `rapport ui` on a free port and logs in once: {port, url, origin, cookie, csrf, api, post, stop}. */
async function startUi(db) {
  const child = spawn(BIN, ["--db", db, "--now", NOW, "ui", "--no-open", "--port", "0", "--json"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RAPPORT_CONFIG: path.join(path.dirname(db), "accounts.toml") },
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const line = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(out.split("\n")[0]);
    });
    child.once("exit", (code) => reject(new Error(`rapport ui exited ${code}: ${stderr}`)));
  });
  const { url, port } = JSON.parse(line);
  const token = new URL(url).searchParams.get("token");
  const login = await request(port, { path: `/?token=${token}` });
  const cookie = (login.headers["set-cookie"] || [""])[0].split(";")[0];
  const origin = `http://127.0.0.1:${port}`;
  const session = await request(port, { path: "/api/session", headers: { Cookie: cookie } });
  const ui = {
    port,
    url,
    token,
    origin,
    cookie,
    login,
    csrf: session.json && session.json.csrf,
    child,
    /** GET /api/ROUTE?QUERY with the session, parsed. */
    async api(route, query = "") {
      const r = await request(port, { path: `/api/${route}${query ? `?${query}` : ""}`, headers: { Cookie: cookie } });
      if (r.status !== 200) throw new Error(`/api/${route}: ${r.status} ${r.body}`);
      return r.json;
    },
    async post(route, body) {
      return request(port, {
        method: "POST",
        path: `/api/${route}`,
        headers: { Cookie: cookie, Origin: origin, "Content-Type": "application/json", "X-Rapport-CSRF": ui.csrf },
        body: JSON.stringify(body),
      });
    },
    /** The session cookie for a Playwright context. */
    cookies() {
      const [name, value] = cookie.split("=");
      return [{ name, value, domain: "127.0.0.1", path: "/", httpOnly: true, sameSite: "Strict" }];
    },
    stop() {
      child.kill();
    },
  };
  return ui;
}

module.exports = { ROOT, BIN, CHROMIUM, ARTIFACTS, NOW, tempDir, cli, run, demoDatabase, request, startUi };
