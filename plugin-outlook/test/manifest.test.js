// The add-in manifest: well-formed, complete, in schema order, https only, least permission.
//
// Microsoft's XSDs for the add-in only manifest are published only as fragments inside the
// [MS-OWEMXML] specification; no package on the registries this project can reach ships them
// (office-addin-manifest's `validate` posts XML manifests to an online service). So the element
// orders below are transcribed from those fragments for every element this manifest uses, and
// xmllint checks well-formedness.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { DOMParser } = require("@xmldom/xmldom");
const { rapport, tempDir } = require("./helpers");

const MANIFEST = path.join(__dirname, "..", "manifest.xml");
const SRC = path.join(__dirname, "..", "src");
const XSI = "http://www.w3.org/2001/XMLSchema-instance";

/** Child element order per element (xs:sequence of [MS-OWEMXML]), by local name. */
const ORDER = {
  OfficeApp: ["Id", "AlternateId", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description", "IconUrl", "HighResolutionIconUrl", "SupportUrl", "AppDomains", "Hosts", "Requirements", "FormSettings", "Permissions", "Rule", "DisableEntityHighlighting", "Dictionary", "VersionOverrides"],
  VersionOverridesV1_0: ["Description", "Requirements", "Hosts", "Resources", "VersionOverrides"],
  VersionOverridesV1_1: ["Description", "Requirements", "Hosts", "Resources", "WebApplicationInfo", "EquivalentAddins"],
  MailHost: ["Runtimes", "DesktopFormFactor", "MobileFormFactor"],
  DesktopFormFactor: ["SupportsSharedFolders", "ExtensionPoint"],
  Group: ["Label", "Control"],
  Button: ["Label", "Supertip", "Icon", "Action"],
  Supertip: ["Title", "Description"],
  ShowTaskpane: ["SourceLocation", "SupportsPinning", "SupportsNoItemContext", "SupportsMultiSelect"],
  LaunchEvent: ["LaunchEvents", "SourceLocation"],
  Resources: ["Images", "Urls", "ShortStrings", "LongStrings"],
  DesktopSettings: ["SourceLocation", "RequestedHeight"],
  Form: ["DesktopSettings", "TabletSettings", "PhoneSettings"],
};
const REQUIRED = ["Id", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description", "Hosts", "Requirements", "FormSettings", "Permissions", "Rule"];
const PERMISSION_LEVELS = ["Restricted", "ReadItem", "ReadWriteItem", "ReadWriteMailbox"];

function parse(xml) {
  const errors = [];
  const doc = new DOMParser({ onError: (level, msg) => errors.push(level + ": " + msg) }).parseFromString(xml, "text/xml");
  assert.deepEqual(errors, [], "XML parse errors");
  return doc;
}

const children = (el) => Array.from(el.childNodes).filter((n) => n.nodeType === 1);
const type = (el) => (el.getAttributeNS(XSI, "type") || "").replace(/^.*:/, "");

/** Which ORDER entry applies to an element: its xsi:type, else its local name. */
function orderKey(el) {
  const t = type(el);
  if (t && ORDER[t]) return t;
  if (el.localName === "ExtensionPoint" && t === "LaunchEvent") return "LaunchEvent";
  return ORDER[el.localName] ? el.localName : null;
}

function checkOrder(el, where, problems) {
  const key = orderKey(el);
  if (key) {
    const seq = ORDER[key];
    let last = -1;
    for (const c of children(el)) {
      const i = seq.indexOf(c.localName);
      if (i < 0) problems.push(`${where}/${c.localName}: not a valid child of ${key}`);
      else if (i < last) problems.push(`${where}/${c.localName}: out of order in ${key} (expected ${seq.join(", ")})`);
      else last = i;
    }
  }
  children(el).forEach((c, n) => checkOrder(c, `${where}/${c.localName}[${n}]`, problems));
}

function all(doc, name) {
  return Array.from(doc.getElementsByTagNameNS("*", name));
}

function checkManifest(xml, origin) {
  const doc = parse(xml);
  const root = doc.documentElement;
  assert.equal(root.localName, "OfficeApp");
  assert.equal(type(root), "MailApp");

  const top = children(root).map((c) => c.localName);
  for (const r of REQUIRED) assert.ok(top.includes(r), "required element " + r);

  const problems = [];
  checkOrder(root, "OfficeApp", problems);
  assert.deepEqual(problems, [], "schema order");

  assert.match(all(doc, "Id")[0].textContent, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.match(all(doc, "Version")[0].textContent, /^\d+(\.\d+){0,3}$/);
  const set = children(children(root).find((c) => c.localName === "Requirements"))[0].getElementsByTagNameNS("*", "Set")[0];
  assert.equal(set.getAttribute("Name"), "Mailbox");
  assert.equal(set.getAttribute("MinVersion"), "1.1", "Mailbox 1.1 minimum; newer sets are detected at run time");

  // Every URL is https, on the bridge's origin.
  const urls = [];
  for (const el of all(doc, "*")) {
    for (const attr of Array.from(el.attributes)) {
      if (/:\/\//.test(attr.value) && !attr.name.startsWith("xmlns")) urls.push(attr.value);
    }
    if (children(el).length === 0 && /:\/\//.test(el.textContent)) urls.push(el.textContent.trim());
  }
  assert.ok(urls.length >= 10);
  for (const u of urls) {
    assert.match(u, /^https:\/\//, "https only: " + u);
    assert.ok(u.startsWith(origin + "/"), "on the bridge's origin: " + u);
  }

  // resid references resolve, ids are at most 32 characters.
  for (const vo of all(doc, "VersionOverrides")) {
    const resources = children(vo).find((c) => c.localName === "Resources");
    assert.ok(resources, "each VersionOverrides has its Resources");
    const ids = new Set(Array.from(resources.getElementsByTagNameNS("*", "*")).map((e) => e.getAttribute("id")).filter(Boolean));
    const scope = [];
    const walk = (el) => {
      for (const c of children(el)) {
        if (c.localName === "VersionOverrides") continue;
        scope.push(c);
        walk(c);
      }
    };
    walk(vo);
    for (const el of scope) {
      const resid = el.getAttribute("resid");
      if (resid) {
        assert.ok(ids.has(resid), "resid " + resid + " is defined");
        assert.ok(resid.length <= 32);
      }
    }
  }

  // Pinnable task pane, multi-select, and a send handler that never blocks.
  const taskpanes = all(doc, "Action").filter((a) => type(a) === "ShowTaskpane");
  assert.ok(taskpanes.some((a) => children(a).some((c) => c.localName === "SupportsPinning" && c.textContent === "true")), "SupportsPinning");
  const events = all(doc, "LaunchEvent");
  assert.equal(events.length, 1);
  assert.equal(events[0].getAttribute("Type"), "OnMessageSend");
  assert.equal(events[0].getAttribute("FunctionName"), "onMessageSendHandler");
  assert.equal(events[0].getAttribute("SendMode"), "PromptUser", "never Block or SoftBlock: a send must never be stopped");
  assert.doesNotMatch(xml, /SendMode="(Block|SoftBlock)"/);
  const commands = fs.readFileSync(path.join(SRC, "commands.js"), "utf8");
  assert.ok(commands.includes('associate("onMessageSendHandler"'), "the FunctionName is associated in commands.js");
  return doc;
}

/** The least permission the adapter's Office.js calls need. */
function permissionUsed() {
  const code = fs.readFileSync(path.join(SRC, "office-adapter.js"), "utf8");
  let level = 0;
  const need = (l) => (level = Math.max(level, PERMISSION_LEVELS.indexOf(l)));
  if (/getAsFileAsync|getAllInternetHeadersAsync|userProfile|internetMessageId/.test(code)) need("ReadItem");
  if (/internetHeaders[\s\S]{0,80}setAsync|"setAsync"/.test(code)) need("ReadWriteItem");
  if (/getSelectedItemsAsync|loadItemByIdAsync|makeEwsRequestAsync|getCallbackTokenAsync/.test(code)) need("ReadWriteMailbox");
  return PERMISSION_LEVELS[level];
}

test("the manifest is well-formed XML (xmllint)", () => {
  execFileSync("xmllint", ["--noout", MANIFEST], { stdio: "pipe" });
});

test("the manifest is complete, in schema order, https only", () => {
  checkManifest(fs.readFileSync(MANIFEST, "utf8"), "https://localhost:47815");
});

test("permissions are no higher than the add-in uses", () => {
  const doc = parse(fs.readFileSync(MANIFEST, "utf8"));
  const declared = all(doc, "Permissions")[0].textContent.trim();
  assert.equal(permissionUsed(), "ReadWriteMailbox", "backfill of selected messages (1.13/1.15) needs ReadWriteMailbox");
  assert.equal(declared, permissionUsed());
});

test("`rapport install outlook` writes a manifest for the chosen port", () => {
  const dir = path.join(tempDir(), "outlook");
  rapport(["--json", "install", "outlook", "--dir", dir, "--port", "48123"]);
  const file = path.join(dir, "manifest.xml");
  execFileSync("xmllint", ["--noout", file], { stdio: "pipe" });
  const xml = fs.readFileSync(file, "utf8");
  assert.doesNotMatch(xml, /47815/);
  checkManifest(xml, "https://localhost:48123");
});

test("office-addin-manifest reads the manifest (offline parse)", () => {
  const cli = path.join(__dirname, "..", "node_modules", "office-addin-manifest", "cli.js");
  const out = execFileSync(process.execPath, [cli, "info", MANIFEST], { encoding: "utf8", env: { ...process.env, OFFICE_ADDIN_USAGE_DATA: "off" } });
  assert.match(out, /eab80447-a86a-47c5-b656-3da08fe34ebb/);
  assert.match(out, /Rapport/);
});

test("XSD validation with xmllint", { skip: "Microsoft's XSDs are not available offline (only as fragments in [MS-OWEMXML]); schema order is checked above instead" }, () => {});

test("the checks catch a misplaced element, http, and a blocking send", () => {
  const good = fs.readFileSync(MANIFEST, "utf8");
  const swapped = good.replace(/(\s*<Permissions>[^<]*<\/Permissions>)(\s*<Rule[\s\S]*?<\/Rule>)/, "$2$1");
  assert.notEqual(swapped, good);
  assert.throws(() => checkManifest(swapped, "https://localhost:47815"), /out of order/);
  const pinLate = good.replace("<SupportsPinning>true</SupportsPinning>\n                      <SupportsMultiSelect>true</SupportsMultiSelect>", "<SupportsMultiSelect>true</SupportsMultiSelect>\n                      <SupportsPinning>true</SupportsPinning>");
  assert.notEqual(pinLate, good);
  assert.throws(() => checkManifest(pinLate, "https://localhost:47815"), /out of order/);
  assert.throws(() => checkManifest(good.replace("https://localhost:47815/commands.js", "http://localhost:47815/commands.js"), "https://localhost:47815"), /https only/);
  assert.throws(() => checkManifest(good.replace('SendMode="PromptUser"', 'SendMode="Block"'), "https://localhost:47815"), /PromptUser/);
});
