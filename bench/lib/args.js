'use strict'

// Command-line options for the benchmark's scripts, through node:util
// parseArgs: a bad or unknown option prints why and exits with status 2.

const path = require('node:path')
const { parseArgs } = require('node:util')

/** parseArgs(...).values for `options`, over process.argv (or `args`). */
function parseOptions (options, { args = process.argv.slice(2), strict = true } = {}) {
  try {
    return parseArgs({ args, options, strict, allowPositionals: !strict }).values
  } catch (e) {
    console.error(`${path.basename(process.argv[1] || 'bench')}: ${e.message}`)
    process.exit(2)
  }
}

/** A comma-separated list option as an array (undefined when absent). */
function list (value) {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean)
}

const QUICK = { quick: { type: 'boolean', default: false } }

module.exports = { parseOptions, list, QUICK }
