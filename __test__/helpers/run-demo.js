'use strict'

// Runs the demo (`examples/demo-server.js`, what `npm start` runs) in a child
// process, for the tests of the demo and of its --db postgres mode.
// `options.script` runs another copy of it (the test without the
// OpenTelemetry packages runs one laid out without them).

const { spawn } = require('node:child_process')
const path = require('node:path')

const SCRIPT = path.join(__dirname, '..', '..', 'examples', 'demo-server.js')

/** Runs the demo with `args`; resolves with its exit code, stdout and stderr. */
function runDemo (args, env = {}, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.script ?? SCRIPT, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s) => { stdout += s })
    child.stderr.setEncoding('utf8').on('data', (s) => { stderr += s })
    const timer = setTimeout(() => child.kill(), 60000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

module.exports = { runDemo, SCRIPT }
