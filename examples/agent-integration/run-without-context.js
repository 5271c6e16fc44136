'use strict'

// Where runWithoutContext belongs: around anything long-lived that is
// created while a transaction is current (a server, a pool, a socket, an
// interval, a cache refresher started lazily by the first request). Without
// it, that thing inherits the transaction, and so does everything it later
// does (go-forward propagation): every tick, every later connection.
// In an agent: around the agent's own timers and sockets (harvest loop,
// collector connection), and in the shims of module-level singletons that
// are made lazily.
//
//   node examples/agent-integration/run-without-context.js

const assert = require('node:assert/strict')
const http = require('node:http')
const { SegmentStore, createContextManager } = require('../..')

/** A lazily created, long-lived interval: which context do its ticks see? */
function firstTick (manager, create) {
  return new Promise((resolve) => {
    create(() => {
      const timer = setInterval(() => {
        clearInterval(timer)
        resolve(manager.getContext())
      }, 1)
    })
  })
}

/** A server created during a request: which context does the next request's handler see? */
async function handlerContext (manager, create) {
  let server
  const seen = new Promise((resolve) => {
    server = create(() => http.createServer((req, res) => {
      resolve(manager.getContext())
      res.end('ok')
    }).listen(0, '127.0.0.1'))
  })
  await new Promise((resolve) => server.once('listening', resolve))
  await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.address().port, agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject)
  })
  const ctx = await seen
  await new Promise((resolve) => server.close(resolve))
  return ctx
}

async function main () {
  for (const flag of [true, false]) {
    const store = new SegmentStore()
    const manager = createContextManager({ feature_flag: { new_async_context: flag }, store })
    const request = store.startTransaction('GET /first')

    await manager.runInContext(request, async () => {
      // Without: the interval and the server belong to this request forever.
      assert.equal(await firstTick(manager, (fn) => fn()), request)
      assert.equal(await handlerContext(manager, (fn) => fn()), request)
      // With: they start with no context.
      assert.equal(await firstTick(manager, (fn) => manager.runWithoutContext(fn)), null)
      assert.equal(await handlerContext(manager, (fn) => manager.runWithoutContext(fn)), null)
    })

    store.endTransaction(request)
    manager.disable()
    console.log(`${manager.constructor.name}: made inside runWithoutContext, the interval and the server carry no request`)
  }
  console.log('ok')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
