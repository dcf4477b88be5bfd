#!/usr/bin/env node
'use strict'
// Top contacts of a maildir (or mbox, or directory of .eml files).
//
//   node examples/top-contacts.js ~/Maildir [--me you@example.com]... [--db rapport.db] [--limit 10]
//
// Without --db the database is a temporary in-memory one. Without --me nothing is known to be
// yours, so everyone who wrote is counted (policy sent-and-received).
const { Rapport } = require('..')
const { run } = require('./_example')

async function main({ values: { me = [], db: file, limit = '10' }, positionals: paths }) {
  if (paths.length === 0) {
    console.error('usage: top-contacts.js MAILDIR... [--me ADDRESS]... [--db FILE] [--limit N]')
    process.exit(2)
  }
  const db = file ? Rapport.open(file) : Rapport.openInMemory()
  try {
    for (const m of me) await db.addIdentity(m)
    await db.setPolicy('sent-and-received')
    const summary = await db.importPaths(paths, {}, (p) => {
      if (process.stderr.isTTY) process.stderr.write(`\r${p.messages} messages read`)
    })
    if (process.stderr.isTTY) process.stderr.write('\n')
    console.log(`Imported ${summary.messagesRead} messages (${summary.stored} new) in ${summary.elapsedMs} ms.`)
    const top = await db.contacts({ sort: 'messages', limit: Number(limit) })
    if (top.length === 0) {
      console.log('No contacts. Mailing-list mail makes contacts only in threads you took part in: pass your addresses with --me.')
    }
    for (const [i, c] of top.entries()) {
      const who = c.name ? `${c.name} <${c.email}>` : c.email
      console.log(`${String(i + 1).padStart(2)}. ${who}: ${c.inboundCount} in, ${c.outboundCount} out, ${c.threadCount} threads, last ${c.lastContact ?? 'never'}`)
    }
  } finally {
    await db.close()
  }
}

run(main, {
  me: { type: 'string', multiple: true },
  db: { type: 'string' },
  limit: { type: 'string' },
})
