'use strict'

// 10,000 overlapping simulated requests through each manager, each a real
// transaction of the native store: every continuation must see its own
// context (zero conflation), and the store must be empty afterwards.

// A user-land queue drained from its own contextless interval (made here, at
// module load, before any context), the way pools and drivers work.
const queue = []
const drainer = setInterval(() => {
  const jobs = queue.splice(0, queue.length)
  for (const job of jobs) job()
  if (queue.length === 0) drainer.unref()
}, 1)
drainer.unref()
function enqueue (job) {
  queue.push(job)
  drainer.ref()
}

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { EventEmitter } = require('node:events')
const { SegmentStore } = require('../helpers/segment-store')
const { KINDS, createManager, sleep } = require('../helpers/harness')

const REQUESTS = 10000
const CHECKS_PER_REQUEST = 14

for (const kind of KINDS) {
  describe(`${kind.name}: conflation`, () => {
    it(`${REQUESTS} overlapping requests each see only their own context`, async (t) => {
      const store = new SegmentStore()
      const m = createManager(kind, t, { store })
      let checks = 0
      const mismatches = []
      const check = (where, expected) => {
        checks++
        const actual = m.getContext()
        if (actual !== expected && mismatches.length < 10) mismatches.push({ where, expected, actual })
      }
      // Emitters handed from one request to the next: request i emits the
      // emitter of request i - 1, from its own context.
      let previousEmitter = null
      let reachedEmitter = 0

      async function request (i) {
        const T = store.startTransaction(`request ${i}`)
        await m.runInContext(T, async () => {
          check('start', T)

          await sleep(i % 3) // timers with the same delays across requests
          check('after sleep', T)

          await Promise.resolve(i)
            .then((x) => { check('then 1', T); return x + 1 })
            .then(() => check('then 2', T))

          await new Promise((resolve) => setImmediate(() => {
            check('immediate', T)
            process.nextTick(() => {
              check('nextTick', T)
              resolve()
            })
          }))

          // A bound emitter, emitted from another request's context.
          const ee = m.bindEmitter(new EventEmitter())
          const heard = new Promise((resolve) => ee.once('data', () => {
            check('bound listener', T)
            resolve()
          }))
          const handOver = previousEmitter
          previousEmitter = ee
          if (handOver !== null) handOver.emit('data')
          if (++reachedEmitter === REQUESTS) enqueue(() => ee.emit('data')) // the last one has no successor

          // A query through the user-land queue, in a segment of its own.
          const segment = store.startSegment(T, 'query')
          const rows = await m.runInContext(segment, () => new Promise((resolve) => {
            enqueue(m.bindFunction(() => {
              check('queued callback', segment)
              const child = store.startSegment(m.getContext(), 'decode')
              setTimeout(m.bindFunction(() => {
                check('timer in bound callback', child)
                store.endSegment(child)
                resolve(['row'])
              }, child), 1)
            }))
          }))
          check('after queue', T)
          store.endSegment(segment)

          // An await on a promise settled by the contextless queue.
          await new Promise((resolve) => enqueue(() => resolve(rows)))
          check('after contextless settle', T)

          await heard
          check('after emitter', T)

          await Promise.all([sleep(1), Promise.resolve().then(() => check('in Promise.all', T))])
          check('end', T)
        })
        store.endTransaction(T)
      }

      const started = Date.now()
      const all = []
      for (let i = 0; i < REQUESTS; i++) {
        all.push(request(i))
        if (i % 250 === 249) await sleep(0) // let earlier requests progress meanwhile
      }
      await Promise.all(all)

      assert.deepEqual(mismatches, [])
      assert.equal(checks, REQUESTS * CHECKS_PER_REQUEST)
      const stats = store.stats()
      assert.equal(stats.liveTransactions, 0)
      assert.equal(stats.liveSegments, 0)
      assert.equal(stats.totalTransactions, REQUESTS)
      assert.equal(stats.totalSegments, REQUESTS * 3)
      assert.ok(Date.now() - started < 10000, `took ${Date.now() - started} ms`)
    })
  })
}
