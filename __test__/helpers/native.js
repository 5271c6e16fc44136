'use strict'

// The native addon for the tests that compare it with the pure-JS backend:
// SEGMENT_CONTEXT_NATIVE_PATH, else the local build at the repository root,
// built first (`npm run build`) if its file is missing.

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..', '..')
const nativePath = process.env.SEGMENT_CONTEXT_NATIVE_PATH || path.join(root, 'segment-context.linux-x64-gnu.node')

/** The native addon, built first if its file is missing; throws when it cannot be had. */
function loadNative () {
  if (!fs.existsSync(nativePath)) {
    const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
    if (r.status !== 0) throw new Error(`npm run build failed (status ${r.status}); ${nativePath} is missing`)
  }
  return require(nativePath)
}

module.exports = { nativePath, loadNative }
