// Driving the real dashboard in headless Chromium: open a page, wait for its data, read figures,
// check accessibility (axe-core) and reflow at 200 % zoom, save screenshots.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");
const { CHROMIUM, ARTIFACTS } = require("./helpers");

const AXE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

async function launch() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-background-networking"] });
}

/** A browser context logged in with the UI's session cookie; `theme` is "light" or "dark". */
async function context(browser, ui, { theme = "light", width = 1280, height = 900, bypassCSP = false } = {}) {
  const ctx = await browser.newContext({ viewport: { width, height }, colorScheme: theme, bypassCSP });
  await ctx.addCookies(ui.cookies().map((c) => ({ ...c, domain: "127.0.0.1" })));
  return ctx;
}

/** Opens `hash` and waits for `[data-testid=ready]`; collects page errors into `errors`. */
async function open(page, ui, hash, ready, errors) {
  page.removeAllListeners("pageerror");
  page.on("pageerror", (e) => errors && errors.push(`${hash}: ${e.message}`));
  await page.goto(`${ui.origin}/${hash}`);
  await page.waitForSelector(`[data-testid="${ready}"]`, { state: "attached", timeout: 15000 });
}

/** The text of every element with this test id, in order. */
function texts(page, testid, root = "") {
  return page.$$eval(`${root} [data-testid="${testid}"]`, (els) => els.map((e) => e.textContent.trim()));
}

async function text(page, testid) {
  return (await page.textContent(`[data-testid="${testid}"]`)).trim();
}

/** Serious and critical axe-core violations of the page as it is (needs a bypassCSP context). */
async function axe(page) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Whether the page needs horizontal scrolling (at 200 % zoom it must reflow instead). */
function overflows(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}

async function screenshot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `ui-${name}.png`), fullPage: true });
}

module.exports = { launch, context, open, texts, text, axe, overflows, screenshot };
