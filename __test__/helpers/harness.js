'use strict'

const http = require('node:http')
const { AsyncLocalContextManager } = require('../../lib/context/als-manager')
const { LegacyContextManager } = require('../../lib/context/legacy-manager')

/** Both managers, for tests parametrized over them. */
const KINDS = [
  { name: 'AsyncLocalContextManager', key: 'als', Manager: AsyncLocalContextManager },
  { name: 'LegacyContextManager', key: 'legacy', Manager: LegacyContextManager }
]

/** A manager that is switched off when the test ends (legacy hooks cost every test after). */
function createManager (kind, t, options) {
  const manager = new kind.Manager(options)
  t.after(() => manager.disable())
  return manager
}

/** A promise with its resolve function, made where it is called. */
function deferred () {
  let resolve
  let reject
  const promise = new Promise((_resolve, _reject) => {
    resolve = _resolve
    reject = _reject
  })
  return { promise, resolve, reject }
}

function sleep (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function immediate () {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Transactions of `store` started through this, ended when the test ends. */
function transactions (store, t) {
  const started = []
  t.after(() => {
    for (const handle of started) {
      if (store.isActive(handle)) store.endTransaction(handle)
    }
  })
  return function start (name) {
    const handle = store.startTransaction(name)
    started.push(handle)
    return handle
  }
}

/** GET http://127.0.0.1:port/ with no keep-alive; resolves with the body. */
function get (port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => { body += chunk })
      res.on('end', () => resolve(body))
    })
    req.on('error', reject)
  })
}

module.exports = { KINDS, createManager, deferred, sleep, immediate, transactions, get }
