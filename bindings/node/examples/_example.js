'use strict'
// What the examples share (the twin of bindings/uniffi/examples/_example.py): parse the command
// line, run an async main, and report a Rapport error the way a CLI does.
const { parseArgs } = require('node:util')

/**
 * Runs `main({ values, positionals })` on the command line parsed with `options` (node:util's
 * parseArgs). A malformed command line exits with status 2, as argparse does; an error from
 * `main` prints its code and message and exits with status 1.
 */
function run(main, options) {
  let args
  try {
    args = parseArgs({ options, allowPositionals: true })
  } catch (e) {
    console.error(e.message)
    process.exit(2)
  }
  main(args).catch((e) => {
    console.error(`error (${e.code}): ${e.message}`)
    process.exit(1)
  })
}

module.exports = { run }
