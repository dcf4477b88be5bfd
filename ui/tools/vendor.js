// Copies the charting library from node_modules (installed by `npm ci` from the committed lock
// file) into vendor/, which is committed and compiled into the rapport binary. The UI tier checks
// that the committed copies are what this produces.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const files = [
  ["node_modules/uplot/dist/uPlot.iife.min.js", "vendor/uPlot.iife.min.js"],
  ["node_modules/uplot/dist/uPlot.min.css", "vendor/uPlot.min.css"],
  ["node_modules/uplot/LICENSE", "vendor/uPlot.LICENSE.txt"],
];
fs.mkdirSync(path.join(root, "vendor"), { recursive: true });
for (const [from, to] of files) {
  fs.copyFileSync(path.join(root, from), path.join(root, to));
  console.log(`${from} -> ${to}`);
}
