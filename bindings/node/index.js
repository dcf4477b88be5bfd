// Loads the native addon this package builds (`napi build --platform`: rapport.<platform>.node).
// Written by hand rather than generated: the package is built from source for the machine it
// runs on, so there is one file to find, and a clear error when it is missing.
'use strict'

const { existsSync } = require('node:fs')
const { join } = require('node:path')

function platformTag() {
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch]
  if (!arch) return null
  if (process.platform === 'linux') {
    const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
    const glibc = report && report.header && report.header.glibcVersionRuntime
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
  }
  if (process.platform === 'darwin') return `darwin-${arch}`
  if (process.platform === 'win32') return `win32-${arch}-msvc`
  return null
}

const tag = platformTag()
const file = tag && join(__dirname, `rapport.${tag}.node`)
if (!file || !existsSync(file)) {
  throw new Error(
    `@rapport/node has no native addon for ${process.platform}/${process.arch}` +
      (file ? ` (looked for ${file})` : '') +
      ': build it with `npm run build` in bindings/node (needs Rust)',
  )
}
module.exports = require(file)
