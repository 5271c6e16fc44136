'use strict'

// The addon in worker threads: four stores at once, no cross-talk, clean
// exits, and a worker terminated mid-run takes its store down without
// taking the process with it.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { SegmentStore } = require('../..')

const script = path.join(__dirname, '..', 'fixtures', 'store-worker.js')

function run (workerData) {
  return new Promise((resolve, reject) => {
    const w = new Worker(script, { workerData })
    let result = null
    w.on('message', (m) => { result = m })
    w.on('error', reject)
    w.on('exit', (code) => (code === 0 ? resolve(result) : reject(new Error(`worker ${workerData.tag} exited with ${code}`))))
  })
}

test('four workers, 50,000 transactions each on their own store: no cross-talk, all freed', async () => {
  const main = new SegmentStore()
  const mine = main.startTransaction('main thread', 0)
  const results = await Promise.all([0, 1, 2, 3].map((n) => run({ transactions: 50000, segments: 4, tag: `w${n}` })))
  for (const r of results) {
    assert.equal(r.crossTalk, 0, `${r.tag}: segments of another worker or transaction`)
    assert.equal(r.names, 50000 * 4)
    assert.deepEqual(r.problems, [])
    assert.equal(r.stats.liveTransactions, 0)
    assert.equal(r.stats.liveSegments, 0)
    assert.equal(r.stats.totalTransactions, 50000)
  }
  assert.equal(main.isActive(mine), true, 'the main thread store is untouched')
  assert.equal(main.stats().totalTransactions, 1)
  assert.deepEqual(main.verify(), [])
})

test('a worker terminated mid-run frees its store without crashing the process', async () => {
  const w = new Worker(script, { workerData: { transactions: 1000, segments: 5, tag: 'hang', hang: true } })
  const halfway = await new Promise((resolve, reject) => {
    w.on('message', resolve)
    w.on('error', reject)
  })
  assert.equal(halfway.halfway, true)
  const code = await w.terminate()
  assert.equal(code, 1, 'terminated')
  // The process and the addon still work, in this thread and in a new worker.
  const store = new SegmentStore()
  const t = store.startTransaction('after', 0)
  assert.equal(store.endTransaction(t, 1).segmentCount, 1)
  const again = await run({ transactions: 100, segments: 3, tag: 'again' })
  assert.equal(again.crossTalk, 0)
  assert.equal(again.stats.liveSegments, 0)
})
