// Security of `rapport ui`: every way in without the owner's session or from another origin is
// refused, with the right status, and the server goes on serving the owner afterwards.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const net = require("node:net");
const { demoDatabase, startUi, request } = require("./helpers");

let ui;
test.before(async () => {
  ui = await startUi(demoDatabase());
});
test.after(() => ui && ui.stop());

/** The owner's request still works: the server survived what came before. */
async function stillServes() {
  const r = await request(ui.port, { path: "/api/stats", headers: { Cookie: ui.cookie } });
  assert.equal(r.status, 200, r.body);
  assert.ok(r.json.messages > 0);
}

test("the login link gives an HttpOnly, SameSite=Strict cookie and works once", async () => {
  assert.equal(ui.login.status, 303);
  assert.equal(ui.login.headers.location, "/");
  const set = ui.login.headers["set-cookie"][0];
  assert.match(set, /HttpOnly/);
  assert.match(set, /SameSite=Strict/);
  assert.match(set, /Path=\//);
  const again = await request(ui.port, { path: `/?token=${ui.token}` });
  assert.equal(again.status, 401, "a used token gives no second session");
  assert.equal(again.headers["set-cookie"], undefined);
  await stillServes();
});

test("no token, a wrong token, a wrong cookie: 401", async () => {
  for (const [what, req] of [
    ["page without cookie", { path: "/" }],
    ["API without cookie", { path: "/api/contacts" }],
    ["wrong token", { path: "/?token=" + "0".repeat(64) }],
    ["empty token", { path: "/?token=" }],
    ["wrong cookie", { path: "/api/stats", headers: { Cookie: `rapport_ui_${ui.port}=${"f".repeat(64)}` } }],
    ["another port's cookie name", { path: "/api/stats", headers: { Cookie: ui.cookie.replace(`_${ui.port}=`, `_1${ui.port}=`) } }],
    ["asset without cookie", { path: "/app.js" }],
  ]) {
    const r = await request(ui.port, req);
    assert.equal(r.status, 401, `${what}: ${r.status}`);
    assert.ok(!/"csrf"/.test(r.body), `${what} leaks nothing`);
  }
  await stillServes();
});

test("a foreign Host (DNS rebinding) is refused with 421, even with the cookie", async () => {
  for (const host of ["evil.example", `evil.example:${ui.port}`, `127.0.0.1:${ui.port + 1}`, "127.0.0.1", `localhost.evil.example:${ui.port}`]) {
    const r = await request(ui.port, { path: "/api/stats", headers: { Host: host, Cookie: ui.cookie } });
    assert.equal(r.status, 421, `Host ${host}: ${r.status}`);
  }
  const ok = await request(ui.port, { path: "/api/stats", headers: { Host: `localhost:${ui.port}`, Cookie: ui.cookie } });
  assert.equal(ok.status, 200, "localhost:PORT is this server too");
  await stillServes();
});

test("a foreign Origin is refused with 403, and no answer carries CORS headers", async () => {
  for (const origin of ["https://evil.example", `http://127.0.0.1:${ui.port + 1}`, `https://127.0.0.1:${ui.port}`, "null"]) {
    const r = await request(ui.port, { path: "/api/stats", headers: { Origin: origin, Cookie: ui.cookie } });
    assert.equal(r.status, 403, `Origin ${origin}`);
    assert.equal(r.headers["access-control-allow-origin"], undefined);
  }
  const own = await request(ui.port, { path: "/api/stats", headers: { Origin: ui.origin, Cookie: ui.cookie } });
  assert.equal(own.status, 200);
  assert.equal(own.headers["access-control-allow-origin"], undefined);
  const preflight = await request(ui.port, { method: "OPTIONS", path: "/api/contact/cadence", headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" } });
  assert.equal(preflight.status, 403);
  await stillServes();
});

test("a cross-site form post and posts without the CSRF token change nothing", async () => {
  const before = (await ui.api("contact", "address=tom.baker%40initech.example")).cadence_days;
  const attempts = [
    ["cross-site form", { "Content-Type": "application/x-www-form-urlencoded", Origin: "https://evil.example", Cookie: ui.cookie }, "address=tom.baker%40initech.example&days=1", 403],
    ["same-site fetch metadata", { "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site", Origin: ui.origin, Cookie: ui.cookie, "X-Rapport-CSRF": ui.csrf }, '{"address":"tom.baker@initech.example","days":1}', 403],
    ["no CSRF header", { "Content-Type": "application/json", Origin: ui.origin, Cookie: ui.cookie }, '{"address":"tom.baker@initech.example","days":1}', 403],
    ["wrong CSRF header", { "Content-Type": "application/json", Origin: ui.origin, Cookie: ui.cookie, "X-Rapport-CSRF": "0".repeat(64) }, '{"address":"tom.baker@initech.example","days":1}', 403],
    ["no Origin", { "Content-Type": "application/json", Cookie: ui.cookie, "X-Rapport-CSRF": ui.csrf }, '{"address":"tom.baker@initech.example","days":1}', 403],
    ["form content type with the token", { "Content-Type": "application/x-www-form-urlencoded", Origin: ui.origin, Cookie: ui.cookie, "X-Rapport-CSRF": ui.csrf }, "address=x", 415],
    ["no cookie", { "Content-Type": "application/json", Origin: ui.origin, "X-Rapport-CSRF": ui.csrf }, '{"address":"tom.baker@initech.example","days":1}', 401],
  ];
  for (const [what, headers, body, status] of attempts) {
    const r = await request(ui.port, { method: "POST", path: "/api/contact/cadence", headers, body });
    assert.equal(r.status, status, `${what}: ${r.status} ${r.body}`);
  }
  assert.equal((await ui.api("contact", "address=tom.baker%40initech.example")).cadence_days, before, "nothing changed");
  await stillServes();
});

test("files outside the assets are not served", async () => {
  for (const p of ["/../Cargo.toml", "/%2e%2e/Cargo.toml", "/%2e%2e%2fCargo.toml", "/etc/passwd", "//etc/passwd", "/vendor/../../Cargo.toml", "/vendor/%2e%2e/%2e%2e/Cargo.toml", "/src/app.js", "/.git/config", "/index.html/..", "/api/../../Cargo.toml"]) {
    const r = await request(ui.port, { path: p, headers: { Cookie: ui.cookie } });
    assert.ok([400, 404].includes(r.status), `${p}: ${r.status}`);
    assert.ok(!/\[package\]|root:/.test(r.body), `${p} leaks a file`);
  }
  // An absolute-form request target naming another host.
  const raw = await new Promise((resolve) => {
    const s = net.connect(ui.port, "127.0.0.1", () => s.write(`GET http://evil.example/etc/passwd HTTP/1.1\r\nHost: evil.example\r\nCookie: ${ui.cookie}\r\nConnection: close\r\n\r\n`));
    let out = "";
    s.on("data", (d) => (out += d));
    s.on("end", () => resolve(out));
    s.on("error", () => resolve(out));
  });
  assert.match(raw, /^HTTP\/1\.1 421/);
  await stillServes();
});

test("bad requests get clear errors, never a crash", async () => {
  const big = "x".repeat(2 * 1024 * 1024);
  const cases = [
    ["malformed JSON", "contact/cadence", "{not json", 400],
    ["wrong types", "contact/cadence", '{"address": 5, "days": "often"}', 400],
    ["unknown contact", "contact/cadence", '{"address":"nobody@nowhere.example","days":3}', 404],
    ["not an address", "contacts/group", '{"addresses":["<script>"],"group":"x"}', 400],
    ["oversized body", "contacts/group", JSON.stringify({ addresses: [big], group: "x" }), 413],
    ["unknown route", "drop/tables", "{}", 404],
  ];
  for (const [what, route, body, status] of cases) {
    const r = await request(ui.port, { method: "POST", path: `/api/${route}`, headers: { Cookie: ui.cookie, Origin: ui.origin, "Content-Type": "application/json", "X-Rapport-CSRF": ui.csrf }, body });
    assert.equal(r.status, status, `${what}: ${r.status} ${r.body.slice(0, 200)}`);
    if (status !== 413) assert.ok(r.json && r.json.error && r.json.error.message, `${what} says why`);
  }
  for (const [what, p, status] of [
    ["unknown parameter", "/api/contacts?drop=1", 400],
    ["bad sort", "/api/contacts?sort=bogus", 400],
    ["bad date", "/api/contacts?since=someday", 400],
    ["missing address", "/api/contact", 400],
    ["unknown route", "/api/nothing", 404],
    ["non-UTF-8 escape", "/api/search?q=%ff%fe", 200],
    ["thread that is not there", "/api/thread?id=999999", 404],
  ]) {
    const r = await request(ui.port, { path: p, headers: { Cookie: ui.cookie } });
    assert.equal(r.status, status, `${what}: ${r.status} ${r.body.slice(0, 200)}`);
  }
  // Garbage on the socket.
  await new Promise((resolve) => {
    const s = net.connect(ui.port, "127.0.0.1", () => s.end(Buffer.from([0, 1, 2, 255, 13, 10, 13, 10])));
    s.on("data", () => {});
    s.on("close", resolve);
    s.on("error", resolve);
  });
  await stillServes();
});

test("pages carry a strict CSP, no framing, no sniffing", async () => {
  const r = await request(ui.port, { path: "/", headers: { Cookie: ui.cookie } });
  assert.equal(r.status, 200);
  assert.match(r.headers["content-security-policy"], /script-src 'self'/);
  assert.match(r.headers["content-security-policy"], /frame-ancestors 'none'/);
  assert.equal(r.headers["x-frame-options"], "DENY");
  assert.equal(r.headers["x-content-type-options"], "nosniff");
  const api = await request(ui.port, { path: "/api/stats", headers: { Cookie: ui.cookie } });
  assert.equal(api.headers["cache-control"], "no-store");
  assert.equal(api.headers["access-control-allow-origin"], undefined);
});

test("the server listens on 127.0.0.1 only", async () => {
  const os = require("node:os");
  const others = Object.values(os.networkInterfaces()).flat().filter((a) => a && a.family === "IPv4" && !a.internal);
  for (const a of others) {
    const reached = await new Promise((resolve) => {
      const s = net.connect({ host: a.address, port: ui.port, timeout: 1000 }, () => { s.destroy(); resolve(true); });
      s.on("error", () => resolve(false));
      s.on("timeout", () => { s.destroy(); resolve(false); });
    });
    assert.equal(reached, false, `reachable on ${a.address}`);
  }
});
