#!/usr/bin/env node
// Builds the extension package: every file under src/ into a zip (an .xpi), deflated, with fixed
// timestamps and sorted entries so that the same sources give the same bytes.
//
//   node scripts/build.mjs                    → dist/rapport.xpi
//   node scripts/build.mjs --src DIR --out F  → any other MailExtension directory (tests use it)

import { readFileSync, readdirSync, statSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateRawSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? resolve(process.argv[i + 1]) : fallback;
}

const src = arg("--src", join(root, "src"));
const out = arg("--out", join(root, "dist", "rapport.xpi"));

function walk(dir) {
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) found.push(...walk(p));
    else found.push(p);
  }
  return found;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// 2026-01-01 00:00 in DOS format: fixed, so builds are reproducible.
const DOS_TIME = 0;
const DOS_DATE = ((2026 - 1980) << 9) | (1 << 5) | 1;

/** A zip archive of [name, bytes] entries (deflate, no extra fields). */
export function zip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBuf = Buffer.from(name, "utf8");
    const packed = deflateRawSync(data, { level: 9 });
    const useDeflate = packed.length < data.length;
    const body = useDeflate ? packed : data;
    const crc = crc32(data);
    // From "version needed" to the name's length, the local and the central header agree.
    const shared = Buffer.alloc(24);
    shared.writeUInt16LE(20, 0); // version needed
    shared.writeUInt16LE(0x0800, 2); // UTF-8 names
    shared.writeUInt16LE(useDeflate ? 8 : 0, 4);
    shared.writeUInt16LE(DOS_TIME, 6);
    shared.writeUInt16LE(DOS_DATE, 8);
    shared.writeUInt32LE(crc, 10);
    shared.writeUInt32LE(body.length, 14);
    shared.writeUInt32LE(data.length, 18);
    shared.writeUInt16LE(nameBuf.length, 22);
    const local = Buffer.alloc(30); // then an empty extra field
    local.writeUInt32LE(0x04034b50, 0);
    shared.copy(local, 4);
    locals.push(local, nameBuf, body);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x0314, 4); // made by: Unix, 2.0
    shared.copy(central, 6);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attributes: rw-r--r--
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBuf);
    offset += 30 + nameBuf.length + body.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

/** Checks the manifest and that every file it names is in the package. */
function check(files) {
  const manifest = JSON.parse(files.get("manifest.json") || "null");
  if (!manifest) throw new Error(`${src}: no manifest.json`);
  const named = [
    ...((manifest.background && manifest.background.scripts) || []),
    manifest.options_ui && manifest.options_ui.page,
    manifest.message_display_action && manifest.message_display_action.default_popup,
    manifest.message_display_action && manifest.message_display_action.default_icon,
    ...Object.values(manifest.icons || {}),
  ].filter(Boolean);
  for (const f of named) if (!files.has(f)) throw new Error(`manifest.json names ${f}, which is not in ${src}`);
  // Every relative module import must resolve inside the package.
  for (const [name, data] of files) {
    if (!name.endsWith(".js")) continue;
    for (const m of data.toString("utf8").matchAll(/^\s*import\s[^"']*["'](\.{1,2}\/[^"']+)["']/gm)) {
      const target = join(dirname(name), m[1]).split(sep).join("/");
      if (!files.has(target)) throw new Error(`${name} imports ${m[1]}, which is not in the package`);
    }
  }
  return manifest;
}

function main() {
  const paths = walk(src);
  const files = new Map(paths.map((p) => [relative(src, p).split(sep).join("/"), readFileSync(p)]));
  const manifest = check(files);
  const pkgPath = join(src, "..", "package.json");
  if (src === join(root, "src")) {
    const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
    if (pkg.version !== manifest.version) {
      throw new Error(`version mismatch: package.json ${pkg.version}, manifest.json ${manifest.version}`);
    }
  }
  const bytes = zip([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, bytes);
  console.log(`built ${out} (${files.size} files, ${bytes.length} bytes, ${manifest.name} ${manifest.version})`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    console.error(`build failed: ${e.message}`);
    process.exit(1);
  }
}
