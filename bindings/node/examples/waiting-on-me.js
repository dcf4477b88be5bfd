#!/usr/bin/env node
'use strict'
// Who is waiting on me: threads whose last person message is someone else's, unanswered.
//
//   node examples/waiting-on-me.js --db rapport.db
//   node examples/waiting-on-me.js ~/Maildir --me you@example.com     (imports first, in memory)
const { Rapport } = require('..')
const { run } = require('./_example')

async function main({ values: { me = [], db: file }, positionals: paths }) {
  if (!file && paths.length === 0) {
    console.error('usage: waiting-on-me.js (--db FILE | MAILDIR... --me ADDRESS...)')
    process.exit(2)
  }
  const db = file ? Rapport.open(file) : Rapport.openInMemory()
  try {
    for (const m of me) await db.addIdentity(m)
    if (paths.length > 0) await db.importPaths(paths)
    const waiting = await db.awaiting({ on: 'me', limit: 20 })
    if (waiting.length === 0) {
      console.log('Nobody is waiting on you.')
      if ((await db.stats()).identities === 0) console.log('(No identities: add yours with --me.)')
    }
    for (const w of waiting) {
      const who = w.contactName ? `${w.contactName} <${w.contactEmail}>` : w.contactEmail
      console.log(`${String(w.ageDays).padStart(4)}d  ${who}: ${w.subject}`)
    }
  } finally {
    await db.close()
  }
}

run(main, { me: { type: 'string', multiple: true }, db: { type: 'string' } })
