'use strict'
// The binding layer: conversions, promises, callbacks and argument checks. The engine's own
// behaviour is tested in rapport-core.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Rapport, CancelToken } = require('..')
const { tempDir, message } = require('./helpers')

const NOW = '2024-03-01T00:00:00Z'

async function sample() {
  const db = Rapport.openInMemory()
  await db.addIdentity('me@example.com')
  const src = (id) => ({ kind: 'api', externalId: id })
  // A Buffer and a plain Uint8Array are both accepted.
  await db.ingest(
    Buffer.from(message({ id: 'a1@example.org', from: 'Ann <ann@example.org>', to: 'me@example.com', subject: 'Lunch?' })),
    src('1'),
  )
  await db.ingest(
    new TextEncoder().encode(
      message({ id: 'a2@example.com', from: 'Me <me@example.com>', to: 'Ann <ann@example.org>', subject: 'Re: Lunch?', inReplyTo: 'a1@example.org', date: 'Mon, 01 Jan 2024 12:00:00 +0000' }),
    ),
    src('2'),
    true,
  )
  await db.ingest(
    Buffer.from(message({ id: 'b1@example.net', from: 'Bob <bob@example.net>', to: 'me@example.com', subject: 'Question', date: 'Tue, 02 Jan 2024 09:00:00 +0000' })),
    src('3'),
  )
  await db.setPolicy('sent-and-received')
  return db
}

test('open creates and migrates a new database file', async () => {
  const dir = tempDir()
  const file = path.join(dir, 'new.db')
  const db = Rapport.open(file)
  assert.equal(db.path, file)
  assert.ok(fs.existsSync(file))
  const stats = await db.stats()
  assert.equal(stats.messages, 0)
  assert.equal(stats.firstDate, undefined)
  await db.close()
  assert.equal(db.isClosed(), true)
  // Reopening finds the same (empty) database.
  const again = Rapport.open(file)
  assert.equal((await again.stats()).messages, 0)
  await again.close()
})

test('ingest, stats, identities, policy', async () => {
  const db = await sample()
  const again = await db.ingest(
    Buffer.from(message({ id: 'a1@example.org', from: 'Ann <ann@example.org>', to: 'me@example.com' })),
    { kind: 'api', externalId: '1b' },
  )
  assert.equal(again.outcome, 'duplicate')
  assert.equal(again.messageId, 'a1@example.org')
  assert.equal(typeof again.threadId, 'number')
  assert.deepEqual(await db.have(['a1@example.org', '<b1@example.net>', 'zzz@example.org']), [true, true, false])
  const stats = await db.stats()
  assert.equal(stats.messages, 3)
  assert.equal(stats.identities, 1)
  assert.equal(stats.byDirection.outbound, 1)
  assert.match(stats.firstDate, /^2024-01-01T10:00:00Z$/)
  const ids = await db.identities()
  assert.deepEqual(ids.map((i) => i.email), ['me@example.com'])
  assert.equal(await db.policy(), 'sent-and-received')
  assert.equal(await db.removeIdentity('me@example.com'), true)
  assert.equal(await db.addIdentity('Me@Example.com'), true)
  await db.close()
})

test('contacts, contact, timeline, threads, thread, awaiting', async () => {
  const db = await sample()
  const contacts = await db.contacts({ sort: 'messages', now: NOW })
  assert.deepEqual(contacts.map((c) => c.email), ['ann@example.org', 'bob@example.net'])
  const ann = contacts[0]
  assert.equal(ann.inboundCount, 1)
  assert.equal(ann.outboundCount, 1)
  assert.equal(ann.lastContact, '2024-01-01T12:00:00Z')
  assert.equal(ann.neglected, false)
  assert.ok(!('cadenceDays' in ann), 'absent options are absent keys')

  assert.deepEqual((await db.contacts({ domain: 'example.net' })).map((c) => c.email), ['bob@example.net'])
  assert.deepEqual((await db.contacts({ flow: 'two-way' })).map((c) => c.email), ['ann@example.org'])
  assert.equal((await db.contacts({ limit: 1 })).length, 1)

  const detail = await db.contact('ANN@example.org', NOW)
  assert.equal(detail.contact.email, 'ann@example.org')
  assert.equal(detail.recent.length, 2)
  assert.equal(detail.recent[0].fromAddress, 'me@example.com')
  assert.equal(detail.recent[0].classification, 'person')

  const timeline = await db.timeline('ann@example.org', 1)
  assert.equal(timeline.length, 1)
  assert.equal(timeline[0].direction, 'outbound')

  const threads = await db.threads({ now: NOW })
  assert.equal(threads.length, 2)
  const lunch = threads.find((t) => t.subject.includes('Lunch'))
  assert.equal(lunch.messageCount, 2)
  const t = await db.thread(String(lunch.id), NOW)
  assert.equal(t.messages.length, 2)
  assert.equal(t.messages[1].depth, 1)
  assert.equal((await db.thread('a2@example.com')).thread.id, lunch.id)

  const waiting = await db.awaiting({ on: 'me', now: NOW })
  assert.deepEqual(waiting.map((w) => [w.contactEmail, w.waitingOn]), [['bob@example.net', 'me']])
  assert.equal(waiting[0].since, '2024-01-02T09:00:00Z')
  assert.equal(waiting[0].ageDays, 58)
  const them = await db.awaiting({ on: 'them', now: NOW })
  assert.deepEqual(them.map((w) => w.contactEmail), ['ann@example.org'])
  await db.close()
})

test('rules, cadence, neglected, search, explain, skipped inputs', async () => {
  const db = await sample()
  assert.equal(await db.addRule('block', 'Bob@Example.net'), 'bob@example.net')
  assert.deepEqual((await db.rules()).map((r) => [r.action, r.pattern]), [['block', 'bob@example.net']])
  assert.deepEqual((await db.contacts()).map((c) => c.email), ['ann@example.org'])
  const why = await db.explain('bob@example.net')
  assert.equal(why.isContact, false)
  assert.equal(why.policy, 'sent-and-received')
  assert.deepEqual(await db.removeRule('bob@example.net'), ['bob@example.net'])

  await db.setCadence('ann@example.org', 14)
  const neglected = await db.neglected(10, NOW)
  assert.deepEqual(neglected.map((n) => n.contact.email), ['ann@example.org'])
  assert.ok(neglected[0].overdueDays > 0)
  await db.setCadence('ann@example.org', null)
  assert.equal((await db.neglected(10, NOW)).length, 0)
  await db.setGroup('ann@example.org', 'friends')
  await db.setGroupCadence('friends', 7)
  assert.equal((await db.contacts({ group: 'friends', now: NOW }))[0].cadenceDays, 7)

  const hits = await db.search('lunch')
  assert.ok(hits.some((h) => h.kind === 'message' && h.title.includes('Lunch')))
  assert.deepEqual(await db.skippedInputs(), [])
  await db.close()
})

test('export to a string and to a file, in every format', async () => {
  const db = await sample()
  const csv = await db.exportToString('csv')
  assert.match(csv, /ann@example\.org/)
  const vcard = await db.exportToString('vcard')
  assert.match(vcard, /BEGIN:VCARD/)
  const json = JSON.parse(await db.exportToString('json'))
  assert.equal(json.length, 2)
  await db.setCadence('ann@example.org', 7)
  const ical = await db.exportToString('ical', NOW)
  assert.match(ical, /BEGIN:VCALENDAR[\s\S]*VTODO/)
  const file = path.join(tempDir(), 'contacts.vcf')
  assert.equal(await db.exportToFile('vcard', file), 2)
  assert.equal(fs.readFileSync(file, 'utf8'), vcard)
  await db.close()
})

test('importPaths reports progress and a summary', async () => {
  const dir = tempDir()
  const maildir = path.join(dir, 'Maildir')
  for (const sub of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(maildir, sub), { recursive: true })
  for (let i = 0; i < 5; i++) {
    fs.writeFileSync(
      path.join(maildir, 'cur', `${i}:2,S`),
      message({ id: `x${i}@example.org`, from: `p${i}@example.org`, to: 'me@example.com' }),
    )
  }
  fs.writeFileSync(path.join(maildir, 'cur', 'junk:2,S'), Buffer.from([0, 1, 2, 3]))
  const db = Rapport.open(path.join(dir, 'r.db'))
  const seen = []
  const summary = await db.importPaths([maildir], { policy: 'sent-and-received' }, (p) => seen.push(p), new CancelToken())
  assert.equal(summary.messagesRead, 6)
  assert.equal(summary.stored, 5)
  assert.equal(summary.skipped, 1)
  assert.equal(Object.values(summary.skippedByReason).reduce((a, b) => a + b, 0), 1)
  assert.equal((await db.skippedInputs()).length, 1)
  // Progress arrives on the JS thread; the last report (sent before resolving) may still be
  // queued, so wait a tick before looking.
  await new Promise((r) => setImmediate(r))
  assert.ok(seen.length >= 1)
  assert.equal(seen[0].filesTotal, 6)
  const again = await db.importPaths([maildir])
  assert.equal(again.duplicates, 5)
  await db.close()
})

test('bad arguments reject with InvalidInput', async () => {
  const db = Rapport.openInMemory()
  const cases = [
    () => db.contacts({ sort: 'loudest' }),
    () => db.contacts({ since: 'yesterday-ish' }),
    () => db.awaiting({ on: 'everyone' }),
    () => db.setPolicy('everyone'),
    () => db.addRule('maybe', 'example.org'),
    () => db.exportToString('pdf'),
    () => db.addIdentity('not an address'),
    () => db.importPaths(['/tmp'], { policy: 'nobody' }),
    () => db.ingest(Buffer.from('no headers at all'), { kind: 'api', externalId: '1' }),
    () => db.ingest(Buffer.from(message({ id: 'a@b', from: 'a@b.org', to: 'c@d.org' })), { kind: '', externalId: '' }),
  ]
  for (const call of cases) {
    await assert.rejects(call(), (e) => e instanceof Error && e.code === 'InvalidInput' && e.message.length > 0, call.toString())
  }
  await db.close()
})
