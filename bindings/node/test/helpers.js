'use strict'
// Test helpers: temporary directories and synthetic mail.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-node-'))
}

/** One RFC 5322 message (headers and a short body) as a string. */
function message({ id, from, to, subject = 'Hello', date = 'Mon, 01 Jan 2024 10:00:00 +0000', inReplyTo, extra = '' }) {
  return [
    `Message-ID: <${id}>`,
    `Date: ${date}`,
    `From: ${from}`,
    `To: ${to}`,
    `Subject: ${subject}`,
    inReplyTo ? `In-Reply-To: <${inReplyTo}>` : null,
    inReplyTo ? `References: <${inReplyTo}>` : null,
    extra || null,
    '',
    'Body text.',
    '',
  ]
    .filter((l) => l !== null)
    .join('\r\n')
}

/** Writes an mbox of `count` person-to-person messages and returns its path. */
function writeMbox(dir, count) {
  const file = path.join(dir, 'big.mbox')
  const fd = fs.openSync(file, 'w')
  for (let i = 0; i < count; i++) {
    const m = message({
      id: `m${i}@example.org`,
      from: `Person ${i % 97} <p${i % 97}@example.org>`,
      to: 'Me <me@example.com>',
      subject: `Topic ${i % 500}`,
      date: new Date(Date.UTC(2023, 0, 1) + i * 60000).toUTCString().replace('GMT', '+0000'),
    })
    fs.writeSync(fd, `From p@example.org Mon Jan  1 00:00:00 2024\n${m.replace(/\r\n/g, '\n')}\n`)
  }
  fs.closeSync(fd)
  return file
}

module.exports = { tempDir, message, writeMbox }
