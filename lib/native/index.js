'use strict'

// Loads the native addon built by `npm run build` (napi build --platform),
// which sits at the package root as `segment-context.<platform>.node`.
// A missing binary, or one built for another platform, is an Error that says
// what to run, instead of a bare `Cannot find module`.

const { existsSync } = require('node:fs')
const path = require('node:path')
const { platformTriple } = require('./platform')

const root = path.join(__dirname, '..', '..')

function load () {
  const triple = platformTriple()
  const file = path.join(root, `segment-context.${triple}.node`)
  const howToBuild =
    `Build it with \`npm run build\` in ${root} (needs a Rust toolchain: cargo and rustc), ` +
    'or reinstall the package with `npm install` so its install step builds it.'
  if (!existsSync(file)) {
    throw new Error(
      `segment-context: no native binary for this platform (${triple}): ${file} is missing. ${howToBuild}`
    )
  }
  try {
    return require(file)
  } catch (err) {
    throw new Error(
      `segment-context: ${file} could not be loaded on ${triple} with Node ${process.version}` +
        ` (built for another platform or C library?): ${err.message}. ${howToBuild}`,
      { cause: err }
    )
  }
}

const binding = load()

/** The binding in use, and which backend it is (only native for now). */
module.exports = { binding, backend: 'native', loadError: null, source: 'local' }
