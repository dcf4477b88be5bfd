'use strict'
// The throwing cases: each gives its stable code, and the process carries on.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Rapport, CancelToken } = require('..')
const { tempDir, writeMbox } = require('./helpers')

const code = (c) => (e) => {
  assert.ok(e instanceof Error, 'an Error object')
  assert.equal(e.code, c, `code of: ${e.message}`)
  return true
}

test('a missing path rejects with NotFound', async () => {
  const db = Rapport.openInMemory()
  await assert.rejects(db.importPaths([path.join(tempDir(), 'no-such-maildir')]), code('NotFound'))
  await assert.rejects(db.contact('nobody@example.org'), code('NotFound'))
  await assert.rejects(db.thread('no-such-message@example.org'), code('NotFound'))
  await assert.rejects(db.removeRule('example.org'), code('NotFound'))
  await db.close()
})

test('a corrupt database file throws Storage', () => {
  const file = path.join(tempDir(), 'corrupt.db')
  fs.writeFileSync(file, Buffer.alloc(8192, 0x5a))
  assert.throws(() => Rapport.open(file), code('Storage'))
  // A directory where the file should be cannot be opened either.
  assert.throws(() => Rapport.open(tempDir()), (e) => e instanceof Error && typeof e.code === 'string')
})

test('a closed handle rejects with Closed', async () => {
  const db = Rapport.openInMemory()
  await db.close()
  assert.equal(db.isClosed(), true)
  await assert.rejects(db.stats(), code('Closed'))
  await assert.rejects(db.contacts(), code('Closed'))
  await assert.rejects(db.importPaths([tempDir()]), code('Closed'))
  await assert.rejects(db.ingest(Buffer.from('x'), { kind: 'api', externalId: '1' }), code('InvalidInput'))
  // Closing twice is harmless.
  await db.close()
})

test('cancelling a running import rejects with Cancelled and keeps what was committed', async () => {
  const dir = tempDir()
  const mbox = writeMbox(dir, 20000)
  const db = Rapport.open(path.join(dir, 'r.db'))
  const cancel = new CancelToken()
  let ticks = 0
  const timer = setInterval(() => ticks++, 5)
  let running = false
  const importing = db.importPaths(
    [mbox],
    { policy: 'sent-and-received' },
    (p) => {
      if (p.messages > 0 && !running) {
        running = true
        cancel.cancel()
      }
    },
    cancel,
  )
  await assert.rejects(importing, code('Cancelled'))
  clearInterval(timer)
  assert.ok(running, 'the import was running when cancelled')
  assert.ok(cancel.isCancelled())
  assert.ok(ticks > 0, 'the event loop kept running during the import')
  const stats = await db.stats()
  assert.ok(stats.messages > 0 && stats.messages < 20000, `kept ${stats.messages} messages`)
  // The handle still works, and a new import finishes the job.
  const summary = await db.importPaths([mbox])
  assert.equal(summary.stored + summary.duplicates, 20000)
  await db.close()
})
