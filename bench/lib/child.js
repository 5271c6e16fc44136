'use strict'

// Sections that need a fresh process (a fresh heap, no other contender's
// hooks or AsyncLocalStorage instances enabled) fork one of the bench files
// with `--child <json args>`; the child computes and sends back one plain
// result over IPC, then exits.

const { fork } = require('node:child_process')
const { parseOptions } = require('./args')

/**
 * Forks `file` with `--child <json>` on the same Node binary and resolves
 * with what it sends. Rejects when it exits without sending, or errs.
 */
function runChild (file, args, { execArgv = [], timeoutMs = 300000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = fork(file, ['--child', JSON.stringify(args)], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT: '' }
    })
    let result
    let settled = false
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      finish(new Error(`${file}: child timed out after ${timeoutMs} ms`))
    }, timeoutMs)
    function finish (err, value) {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err) reject(err)
      else resolve(value)
    }
    child.on('message', (msg) => {
      if (msg && msg.type === 'result') result = msg
      else if (msg && msg.type === 'error') finish(new Error(`${file} ${JSON.stringify(args)}: ${msg.message}`))
    })
    child.on('error', (e) => finish(e))
    child.on('exit', (code, signal) => {
      if (result) finish(null, result.value)
      else finish(new Error(`${file} ${JSON.stringify(args)}: child exited (${signal || code}) without a result`))
    })
  })
}

/**
 * In a child: when argv has `--child <json>`, runs `main(args)` and sends its
 * result (or error) to the parent. Returns true when this process is a child.
 */
function childMain (main) {
  const { child } = parseOptions({ child: { type: 'string' } }, { strict: false })
  if (typeof child !== 'string') return false
  const args = JSON.parse(child || '{}')
  Promise.resolve()
    .then(() => main(args))
    .then((value) => {
      process.send({ type: 'result', value }, () => process.exit(0))
    }, (e) => {
      process.send({ type: 'error', message: e && e.stack ? e.stack : String(e) }, () => process.exit(1))
    })
  return true
}

module.exports = { runChild, childMain }
