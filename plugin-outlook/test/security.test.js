// Security tests against a running `rapport serve` (real binary, real TLS on 127.0.0.1).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");
const { execFileSync } = require("node:child_process");
const { startBridge, rpcBody, rapport } = require("./helpers");

let bridge;
const JSON_CT = { "Content-Type": "application/json" };

test.before(async () => {
  bridge = await startBridge();
});
test.after(async () => {
  if (bridge) await bridge.stop();
});

const auth = () => ({ ...JSON_CT, Authorization: "Bearer " + bridge.token });

function noWildcard(res) {
  assert.notEqual(res.headers["access-control-allow-origin"], "*", "never a wildcard CORS answer");
}

test("an API call with the token works", async () => {
  const res = await bridge.request({ method: "POST", path: "/api/rpc", headers: auth(), body: rpcBody("stats") });
  assert.equal(res.status, 200, res.body);
  assert.equal(typeof JSON.parse(res.body).result.messages, "number");
  noWildcard(res);
});

test("no token: 401", async () => {
  const res = await bridge.request({ method: "POST", path: "/api/rpc", headers: JSON_CT, body: rpcBody("stats") });
  assert.equal(res.status, 401);
  assert.match(res.headers["www-authenticate"] || "", /Bearer/);
  assert.doesNotMatch(res.body, /"result"/);
});

test("wrong token: 401 (same length, and other lengths)", async () => {
  const wrong = bridge.token.replace(/^./, (c) => (c === "a" ? "b" : "a"));
  for (const t of [wrong, "x", bridge.token + "0", ""]) {
    const res = await bridge.request({ method: "POST", path: "/api/rpc", headers: { ...JSON_CT, Authorization: "Bearer " + t }, body: rpcBody("stats") });
    assert.equal(res.status, 401, "token " + t.length);
  }
  const basic = await bridge.request({ method: "POST", path: "/api/rpc", headers: { ...JSON_CT, Authorization: "Basic " + bridge.token }, body: rpcBody("stats") });
  assert.equal(basic.status, 401);
});

test("a foreign Origin: 403, even with the token", async () => {
  for (const origin of ["https://evil.example", "null", "http://localhost:" + bridge.port, "https://localhost:1", "https://outlook.office.com"]) {
    const res = await bridge.request({ method: "POST", path: "/api/rpc", headers: { ...auth(), Origin: origin }, body: rpcBody("stats") });
    assert.equal(res.status, 403, origin);
    noWildcard(res);
  }
  const pre = await bridge.request({ method: "OPTIONS", path: "/api/rpc", headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" } });
  assert.equal(pre.status, 403);
  assert.equal(pre.headers["access-control-allow-origin"], undefined);
  const page = await bridge.request({ path: "/taskpane.html", headers: { Origin: "https://evil.example" } });
  assert.equal(page.status, 403);
});

test("its own Origin is allowed and echoed (CORS without wildcard)", async () => {
  for (const origin of [bridge.origin, "https://127.0.0.1:" + bridge.port]) {
    const res = await bridge.request({ method: "POST", path: "/api/rpc", headers: { ...auth(), Origin: origin }, body: rpcBody("stats") });
    assert.equal(res.status, 200);
    assert.equal(res.headers["access-control-allow-origin"], origin);
    assert.match(res.headers.vary || "", /Origin/);
  }
  const pre = await bridge.request({ method: "OPTIONS", path: "/api/rpc", headers: { Origin: bridge.origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type" } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers["access-control-allow-origin"], bridge.origin);
  assert.match(pre.headers["access-control-allow-headers"], /Authorization/);
});

test("a Host other than localhost/127.0.0.1 with its port is rejected", async () => {
  for (const host of ["evil.example", "evil.example:" + bridge.port, "localhost", "localhost:1", "127.0.0.2:" + bridge.port, "0.0.0.0:" + bridge.port, "[::1]:" + bridge.port]) {
    const res = await bridge.request({ method: "POST", path: "/api/rpc", headers: auth(), body: rpcBody("stats"), host });
    assert.equal(res.status, 421, host);
    const page = await bridge.request({ path: "/taskpane.html", host });
    assert.equal(page.status, 421, host);
    assert.doesNotMatch(page.body, new RegExp(bridge.token), "no token for a foreign host");
  }
  for (const host of ["localhost:" + bridge.port, "127.0.0.1:" + bridge.port, "LOCALHOST:" + bridge.port]) {
    const res = await bridge.request({ path: "/taskpane.html", host });
    assert.equal(res.status, 200, host);
  }
});

test("10 MB of garbage: 413, and the server keeps serving", async () => {
  const garbage = crypto.randomBytes(10 * 1024 * 1024);
  const res = await bridge.request({ method: "POST", path: "/api/rpc", headers: auth(), body: garbage });
  assert.equal(res.status, 413);
  const chunked = await bridge.request({ method: "POST", path: "/api/rpc", headers: auth(), body: garbage, chunked: true });
  assert.equal(chunked.status, 413, "without Content-Length too");
  const after = await bridge.request({ method: "POST", path: "/api/rpc", headers: auth(), body: rpcBody("stats") });
  assert.equal(after.status, 200);
  const unauth = await bridge.request({ method: "POST", path: "/api/rpc", headers: JSON_CT, body: garbage });
  assert.equal(unauth.status, 401, "garbage without a token is refused before it is read");
});

test("garbage JSON gets an error reply, not a crash", async () => {
  const res = await bridge.request({ method: "POST", path: "/api/rpc", headers: auth(), body: "{not json" });
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.body).error.code, "InvalidRequest");
  const text = await bridge.request({ method: "POST", path: "/api/rpc", headers: { ...auth(), "Content-Type": "text/plain" }, body: rpcBody("stats") });
  assert.equal(text.status, 415, "a simple (non-preflighted) content type is refused");
  const get = await bridge.request({ path: "/api/rpc", headers: auth() });
  assert.equal(get.status, 405);
});

test("it listens on 127.0.0.1 only", () => {
  const hex = bridge.port.toString(16).toUpperCase().padStart(4, "0");
  const listening = (file) =>
    fs.existsSync(file)
      ? fs
          .readFileSync(file, "utf8")
          .split("\n")
          .slice(1)
          .map((l) => l.trim().split(/\s+/))
          .filter((f) => f.length > 3 && f[3] === "0A" && f[1].endsWith(":" + hex))
          .map((f) => f[1])
      : [];
  const v4 = listening("/proc/net/tcp");
  assert.deepEqual(v4, ["0100007F:" + hex], "one IPv4 socket, on 127.0.0.1");
  assert.deepEqual(listening("/proc/net/tcp6"), [], "no IPv6 socket (so not ::)");
  let ss = "";
  try {
    ss = execFileSync("ss", ["-ltnH", "sport = :" + bridge.port], { encoding: "utf8" });
  } catch (e) {
    ss = "";
  }
  if (ss.trim()) {
    for (const line of ss.trim().split("\n")) assert.match(line, new RegExp("127\\.0\\.0\\.1:" + bridge.port));
  }
});

const PATHS = ["/taskpane.html", "/commands.html", "/taskpane.js", "/office-adapter.js", "/bridge-client.js", "/capture.js", "/commands.js", "/taskpane.css", "/.well-known/microsoft-officeaddins-allowed.json", "/assets/icon-80.png"];

test("no page, script or file carries the token; only Outlook may frame the pages", async () => {
  for (const p of PATHS) {
    const res = await bridge.request({ path: p });
    assert.equal(res.status, 200, p);
    assert.ok(!res.body.includes(bridge.token), p + " must not carry the token");
    assert.match(res.headers["content-security-policy"] || "", /frame-ancestors/, p + " says who may frame it");
  }
  const page = await bridge.request({ path: "/taskpane.html" });
  assert.equal(page.headers["cache-control"], "no-store");
  assert.match(page.headers["content-security-policy"] || "", /default-src 'self'/);
  assert.match(page.headers["content-security-policy"] || "", /frame-ancestors 'self' https:\/\/outlook\.office\.com/);
  assert.equal(page.headers["x-content-type-options"], "nosniff");
  const script = await bridge.request({ path: "/taskpane.js" });
  assert.equal(script.headers["content-security-policy"], "frame-ancestors 'none'");
  const answer = await bridge.request({ method: "POST", path: "/api/rpc", headers: auth(), body: rpcBody("stats") });
  assert.equal(answer.headers["content-security-policy"], "frame-ancestors 'none'");
  const bundle = await bridge.request({ path: "/commands.js" });
  assert.match(bundle.body, /onMessageSendHandler/);
  assert.match(bundle.body, /RapportOffice/);
  assert.ok(bundle.body.includes(bridge.origin), "the origin is filled in");
  const wk = await bridge.request({ path: "/.well-known/microsoft-officeaddins-allowed.json" });
  assert.deepEqual(JSON.parse(wk.body).allowed, [bridge.origin + "/commands.js", "https://127.0.0.1:" + bridge.port + "/commands.js"]);
  const api = await bridge.request({ method: "POST", path: "/api/rpc", headers: auth(), body: rpcBody("stats") });
  assert.equal(api.headers["cross-origin-resource-policy"], "same-origin");
  assert.equal(api.headers["cache-control"], "no-store");
  assert.equal(bundle.headers["cross-origin-resource-policy"], "same-origin", "other sites cannot embed our scripts");
  const icon = await bridge.request({ path: "/assets/icon-80.png" });
  assert.equal(icon.status, 200);
  assert.equal(icon.headers["content-type"], "image/png");
  assert.equal(icon.headers["cross-origin-resource-policy"], "cross-origin", "Outlook's page shows the icons");
  assert.equal((await bridge.request({ path: "/nope" })).status, 404);
  assert.equal((await bridge.request({ path: "/../ca.key" })).status, 404);
  assert.equal((await bridge.request({ method: "POST", path: "/taskpane.html", body: "x" })).status, 405);
});

test("key files, the token and the pairing code are readable by the user only", () => {
  const mode = (f) => fs.statSync(path.join(bridge.bridgeDir, f)).mode & 0o777;
  for (const f of ["ca.key", "bridge.key", "token", "pairing.json"]) assert.equal(mode(f), 0o600, f);
  assert.equal(fs.statSync(bridge.bridgeDir).mode & 0o777, 0o700);
});

test("the certificate is a leaf for localhost and 127.0.0.1 signed by a name-constrained CA", () => {
  const ca = new crypto.X509Certificate(fs.readFileSync(path.join(bridge.bridgeDir, "ca.crt")));
  const chain = fs.readFileSync(path.join(bridge.bridgeDir, "bridge.crt"), "utf8");
  const leaf = new crypto.X509Certificate(chain.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n");
  assert.ok(ca.ca, "the CA is a CA");
  assert.ok(!leaf.ca, "the server certificate is not a CA");
  assert.ok(leaf.verify(ca.publicKey), "signed by the CA");
  assert.match(leaf.subjectAltName, /DNS:localhost/);
  assert.match(leaf.subjectAltName, /IP Address:127\.0\.0\.1/);
  const days = (Date.parse(leaf.validTo) - Date.now()) / 86400000;
  assert.ok(days > 700 && days <= 825, "valid under 825 days (Apple's limit): " + days);
  const text = execFileSync("openssl", ["x509", "-noout", "-text"], { input: fs.readFileSync(path.join(bridge.bridgeDir, "ca.crt")), encoding: "utf8" });
  assert.match(text, /Name Constraints/);
  assert.match(text, /Permitted:\s+DNS:localhost\s+IP:127\.0\.0\.1\/255\.255\.255\.255/);
});

test("install again keeps the CA and token; --uninstall removes everything", () => {
  const before = fs.readFileSync(path.join(bridge.bridgeDir, "ca.crt"), "utf8");
  const out = JSON.parse(rapport(["--json", "install", "outlook", "--dir", bridge.bridgeDir]));
  assert.deepEqual(out.created, []);
  assert.equal(out.port, bridge.port);
  assert.equal(fs.readFileSync(path.join(bridge.bridgeDir, "ca.crt"), "utf8"), before);
  assert.equal(fs.readFileSync(path.join(bridge.bridgeDir, "token"), "utf8").trim(), bridge.token);
  const copy = path.join(bridge.dir, "copy");
  rapport(["--json", "install", "outlook", "--dir", copy, "--port", "48001"]);
  assert.ok(fs.existsSync(path.join(copy, "manifest.xml")));
  const removed = JSON.parse(rapport(["--json", "install", "outlook", "--dir", copy, "--uninstall"])).removed;
  assert.equal(removed.length, 8, "certificates, keys, token, pairing code, configuration, manifest");
  assert.ok(!fs.existsSync(copy), "the directory is gone");
  // A folder the user names that exists already keeps its permissions (the secrets are 0600).
  const shared = path.join(bridge.dir, "shared");
  fs.mkdirSync(shared, { mode: 0o755 });
  fs.chmodSync(shared, 0o755);
  rapport(["--json", "install", "outlook", "--dir", shared, "--port", "48003"]);
  assert.equal(fs.statSync(shared).mode & 0o777, 0o755, "an existing --dir is not chmodded");
  assert.equal(fs.statSync(path.join(shared, "token")).mode & 0o777, 0o600);
  const human = rapport(["install", "outlook", "--dir", path.join(bridge.dir, "human"), "--port", "48002"]);
  assert.match(human, /Pairing code for the task pane: [A-Z2-9]{4}-[A-Z2-9]{4}/);
  assert.match(human, /aka\.ms\/olksideload/);
  assert.match(human, /Add from File/);
  assert.match(human, /certutil -d sql:\$HOME\/\.pki\/nssdb/);
  assert.match(human, /security add-trusted-cert/);
  assert.match(human, /Import-Certificate/);
  assert.match(human, /POP3/);
});

const pair = (code) => bridge.request({ method: "POST", path: "/api/pair", headers: JSON_CT, body: JSON.stringify({ code }) });

test("pairing: the code works once, wrong codes five times burn it, and a new token needs pairing again", async () => {
  // A fresh code (serve's may be used up by another test).
  const made = JSON.parse(rapport(["--json", "install", "outlook", "--dir", bridge.bridgeDir, "--pair"]));
  const code = bridge.pairingCode();
  assert.equal(made.pairing_code.replace("-", ""), code);
  const wrong = await pair("AAAA-AAAA");
  assert.equal(wrong.status, 401);
  assert.equal(JSON.parse(wrong.body).error.code, "WrongCode");
  const right = await pair(code.slice(0, 4).toLowerCase() + " - " + code.slice(4));
  assert.equal(right.status, 200, right.body);
  assert.equal(JSON.parse(right.body).token, bridge.token);
  assert.equal(right.headers["cache-control"], "no-store");
  const again = await pair(code);
  assert.equal(again.status, 410, "a code works once");

  rapport(["--json", "install", "outlook", "--dir", bridge.bridgeDir, "--pair"]);
  const burned = bridge.pairingCode();
  for (let i = 0; i < 5; i++) assert.equal((await pair("BBBB-BBB" + i)).status, 401);
  assert.equal((await pair(burned)).status, 410, "five wrong codes use the code up");

  const garbage = await bridge.request({ method: "POST", path: "/api/pair", headers: JSON_CT, body: "x".repeat(5000) });
  assert.equal(garbage.status, 413);
  assert.equal((await bridge.request({ method: "POST", path: "/api/pair", headers: JSON_CT, body: "{}" })).status, 400);

  // Rotation: the old token stops working at once (no restart), pairing gives the new one.
  const old = bridge.token;
  const rotated = JSON.parse(rapport(["--json", "install", "outlook", "--dir", bridge.bridgeDir, "--new-token"]));
  assert.ok(rotated.created.includes("token"));
  const fresh = fs.readFileSync(path.join(bridge.bridgeDir, "token"), "utf8").trim();
  assert.notEqual(fresh, old);
  const refused = await bridge.request({ method: "POST", path: "/api/rpc", headers: auth(), body: rpcBody("stats") });
  assert.equal(refused.status, 401, "the old token is refused");
  const repaired = await pair(bridge.pairingCode());
  assert.equal(JSON.parse(repaired.body).token, fresh);
  bridge.token = fresh;
  assert.equal((await bridge.request({ method: "POST", path: "/api/rpc", headers: auth(), body: rpcBody("stats") })).status, 200);
});

test("another local account gets no working token by any unauthenticated request", { skip: process.getuid && process.getuid() === 0 ? false : "needs root to run a request as another user (nobody)" }, async () => {
  rapport(["--json", "install", "outlook", "--dir", bridge.bridgeDir, "--pair"]);
  const code = bridge.pairingCode();
  const script = path.join(require("node:os").tmpdir(), "rapport-other-user-" + process.pid + ".js");
  fs.writeFileSync(
    script,
    `"use strict";
const https = require("node:https");
const fs = require("node:fs");
const [port, dir] = process.argv.slice(2);
const request = (method, p, body) => new Promise((resolve) => {
  const req = https.request({ host: "127.0.0.1", servername: "localhost", port: +port, path: p, method, rejectUnauthorized: false,
    headers: body ? { "Content-Type": "application/json" } : {} }, (res) => {
    let data = ""; res.on("data", (c) => (data += c)); res.on("end", () => resolve({ status: res.statusCode, body: data }));
  });
  req.on("error", (e) => resolve({ status: 0, body: String(e) }));
  if (body) req.write(body);
  req.end();
});
(async () => {
  const out = { files: {}, bodies: [], pair: [], rpc: 0 };
  for (const f of ["token", "pairing.json", "ca.key", "bridge.key"]) {
    try { fs.readFileSync(dir + "/" + f); out.files[f] = "read"; } catch (e) { out.files[f] = e.code; }
  }
  for (const p of ${JSON.stringify(PATHS)}) out.bodies.push((await request("GET", p)).body);
  for (let i = 0; i < 8; i++) out.pair.push((await request("POST", "/api/pair", JSON.stringify({ code: "GUESS" + i + "XYZ" }))).status);
  out.rpc = (await request("POST", "/api/rpc", JSON.stringify({ id: 1, method: "stats" }))).status;
  console.log(JSON.stringify(out));
})();
`,
    { mode: 0o644 }
  );
  try {
    const out = JSON.parse(execFileSync("runuser", ["-u", "nobody", "--", process.execPath, script, String(bridge.port), bridge.bridgeDir], { encoding: "utf8" }));
    for (const [f, result] of Object.entries(out.files)) assert.notEqual(result, "read", "nobody read " + f);
    for (const body of out.bodies) assert.ok(!body.includes(bridge.token), "a served file carries the token");
    assert.deepEqual(out.pair.slice(0, 4), [401, 401, 401, 401], "guessed codes are refused");
    assert.ok(out.pair.slice(4).every((s) => s === 401 || s === 410), "then the code is burned: " + out.pair);
    assert.equal(out.rpc, 401);
    assert.equal((await pair(code)).status, 410, "the guesses used the owner's code up; no token was handed out");
  } finally {
    fs.rmSync(script, { force: true });
  }
});

test("--port 0 serves on the port the system chose (Host and Origin checks use it)", async () => {
  const { spawn } = require("node:child_process");
  const { BIN } = require("./helpers");
  const child = spawn(BIN, ["--db", bridge.db, "serve", "--dir", bridge.bridgeDir, "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  try {
    const deadline = Date.now() + 20000;
    let port = 0;
    while (!port && Date.now() < deadline) {
      const m = log.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m) port = +m[1];
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(port > 0, "serve said its port: " + log);
    assert.match(log, /Pairing code for the task pane: [A-Z2-9]{4}-[A-Z2-9]{4}/);
    const { request } = require("./helpers");
    const res = await request({ port, ca: bridge.ca, path: "/taskpane.html" });
    assert.equal(res.status, 200, "not 421");
  } finally {
    child.kill("SIGTERM");
  }
});

test("64 slow uploads cannot hold the bridge: their bodies time out (408) and it serves again", { timeout: 90000 }, async () => {
  const https = require("node:https");
  const slow = [];
  for (let i = 0; i < 64; i++) {
    slow.push(
      new Promise((resolve) => {
        const req = https.request(
          { host: "127.0.0.1", servername: "localhost", port: bridge.port, ca: bridge.ca, method: "POST", path: "/api/rpc", agent: false, headers: { ...auth(), "Content-Length": "100000" } },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode));
          }
        );
        req.on("error", () => resolve(0));
        req.write("{"); // and then nothing more
      })
    );
  }
  const started = Date.now();
  const res = await bridge.request({ method: "POST", path: "/api/rpc", headers: auth(), body: rpcBody("stats") });
  assert.equal(res.status, 200);
  const seconds = (Date.now() - started) / 1000;
  assert.ok(seconds < 60, "served after " + seconds + " s");
  const statuses = await Promise.all(slow);
  assert.ok(statuses.every((s) => s === 408 || s === 0), "slow bodies are cut off: " + statuses);
  assert.ok(statuses.some((s) => s === 408), "answered 408");
});
