'use strict'

// Binding pool and queue callbacks.
//
// A pool made at start-up queues callers when it is busy and hands a freed
// connection to the next one from inside `release()`: inside the releasing
// request. A queued callback therefore runs in the wrong request unless the
// agent binds it where it is queued (bindFunction captures the context now).
// The same goes for any user-land queue drained from its own timer.
//
//   node examples/agent-integration/bind-pool-callbacks.js

const assert = require('node:assert/strict')
const { SegmentStore, createContextManager } = require('../..')

/** A one-connection pool: the second caller waits; release() runs the waiter. */
class Pool {
  constructor () {
    this.busy = false
    this.waiting = []
  }

  acquire (callback) {
    if (this.busy) this.waiting.push(callback)
    else {
      this.busy = true
      callback()
    }
  }

  release () {
    const next = this.waiting.shift()
    if (next) next()
    else this.busy = false
  }
}

/** The agent's shim: the only change is bindFunction around the queued callback. */
function shim (manager, pool, bind) {
  const acquire = pool.acquire
  pool.acquire = function (callback) {
    return acquire.call(this, bind ? manager.bindFunction(callback) : callback)
  }
  return pool
}

/** Two requests through the pool; which transaction did each callback see? */
function twoRequests (manager, store, bind) {
  const pool = shim(manager, new Pool(), bind)
  const a = store.startTransaction('A')
  const b = store.startTransaction('B')
  const seen = {}
  manager.runInContext(a, () => pool.acquire(() => { seen.a = manager.getContext() }))
  manager.runInContext(b, () => pool.acquire(() => { seen.b = manager.getContext() })) // waits
  manager.runInContext(a, () => pool.release()) // A is done: B's callback runs now, inside A's call
  store.endTransaction(a)
  store.endTransaction(b)
  return { seen, a, b }
}

for (const flag of [true, false]) {
  const store = new SegmentStore()
  const manager = createContextManager({ feature_flag: { new_async_context: flag }, store })

  const bound = twoRequests(manager, store, true)
  assert.equal(bound.seen.a, bound.a)
  assert.equal(bound.seen.b, bound.b, 'bound: B\'s callback runs in B')

  const unbound = twoRequests(manager, store, false)
  assert.equal(unbound.seen.b, unbound.a, 'unbound: B\'s callback runs in A, the request that released')

  manager.disable()
  console.log(`${manager.constructor.name}: a bound queued callback keeps its request; unbound it runs in the releaser's`)
}
console.log('ok')
