#!/usr/bin/env node
'use strict'
// Imports a maildir into a database through the public API only, then prints the ten most
// frequent correspondents and the awaiting-reply list. bindings/compare-cli.sh runs this, its
// Python twin (bindings/uniffi/examples/corpus_report.py) and `rapport --json` on the same
// databases and checks that all three agree.
//
//   node examples/corpus-report.js MAILDIR DB [--me ADDRESS]... [--now ISO] [--json OUT]
const fs = require('node:fs')
const { Rapport } = require('..')
const { run } = require('./_example')

async function main({ values: { me = [], now, json: jsonOut }, positionals: [maildir, file] }) {
  if (!maildir || !file) {
    console.error('usage: corpus-report.js MAILDIR DB [--me ADDRESS]... [--now ISO] [--json OUT]')
    process.exit(2)
  }
  const db = Rapport.open(file)
  try {
    // Whose mail this is, and that people who wrote count as contacts.
    for (const m of me) await db.addIdentity(m)
    await db.setPolicy('sent-and-received')
    const summary = await db.importPaths([maildir])
    const top = await db.contacts({ sort: 'messages', limit: 10, now })
    const awaiting = await db.awaiting({ limit: 50, now })
    console.log(`${summary.messagesRead} messages read, ${summary.stored} new, in ${summary.elapsedMs} ms`)
    console.log('\nTen most frequent correspondents:')
    for (const c of top) console.log(`  ${String(c.inboundCount + c.outboundCount).padStart(5)}  ${c.name} <${c.email}>`)
    console.log(`\nAwaiting reply (${awaiting.length}):`)
    for (const a of awaiting) console.log(`  ${a.waitingOn === 'me' ? 'on me  ' : 'on them'}  ${a.contactEmail}: ${a.subject}`)
    if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ summary, top, awaiting }, null, 1))
  } finally {
    await db.close()
  }
}

run(main, {
  me: { type: 'string', multiple: true },
  now: { type: 'string' },
  json: { type: 'string' },
})
