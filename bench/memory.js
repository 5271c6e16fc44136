'use strict'

// Section 4: memory. 100,000 timers (setTimeout, 1 hour) or 100,000 pending
// promises (`.then` on a promise that never settles), created inside
// transactions that have since ended: the JS heap they retain, per resource.
// One fresh child process with --expose-gc per contender and resource type.
//
// Every contender runs the same transactions: 10,000 of them, each with 20
// segments carrying one string attribute, and 10 resources created inside
// the transaction's context (one run per transaction, from its last
// segment); then the transaction ends and the agent drops it.
//
//   none            the same resources and the same trace objects, created
//                   with no context at all (no AsyncLocalStorage, no hook)
//   raw-als         a bare AsyncLocalStorage holding the same segment handle
//                   (what the runtime itself costs, for comparison)
//   ours-als        AsyncLocalContextManager + SegmentStore: the context is a
//                   segment handle; the transaction ends with endTransaction
//   ours-legacy     LegacyContextManager + SegmentStore, async hooks on
//   object-context  an AsyncLocalStorage manager (ours, without a store)
//                   whose context is { transaction: trace, segment } with the
//                   trace holding its 20 segment objects: the way the peers
//                   store contexts
//
// heapUsed is read after forced full GCs before and after the resources are
// made; the difference divided by 100,000 is the figure. Two such processes
// run at a time (heap figures do not depend on CPU time). A WeakRef to the
// last transaction's trace tells whether the trace outlived its transaction.
//
//   node bench/memory.js [--quick]

const { runChild, childMain } = require('./lib/child')

const CONTENDERS = [
  { id: 'none', label: 'no context' },
  { id: 'raw-als', label: 'raw AsyncLocalStorage holding the handle' },
  { id: 'ours-als', label: 'ours: AsyncLocalContextManager + store (handle)' },
  { id: 'ours-legacy', label: 'ours: LegacyContextManager + store (handle), hooks on' },
  { id: 'object-context', label: 'object context { transaction: trace } (peers\' way)' }
]
const RESOURCES = [
  { id: 'timer', label: 'setTimeout (pending)' },
  { id: 'promise', label: 'pending promise (.then)' }
]

const COUNT = 100000
const PER_TXN = 10
const SEGMENTS = 20

const tick = () => new Promise((resolve) => setImmediate(resolve))

async function fullGc () {
  for (let i = 0; i < 4; i++) {
    await tick()
    global.gc()
  }
  await tick()
  global.gc()
}

function noop () {}

/** In a child (--expose-gc): one contender, one resource type. */
async function measure ({ contender, resource }) {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc')
  const lib = require('..')
  const store = new lib.SegmentStore()
  let manager = null
  if (contender === 'raw-als') {
    const { AsyncLocalStorage } = require('node:async_hooks')
    const als = new AsyncLocalStorage()
    manager = { runInContext: (ctx, fn) => als.run(ctx, fn) }
  } else if (contender === 'ours-als') manager = new lib.AsyncLocalContextManager({ store })
  else if (contender === 'ours-legacy') manager = new lib.LegacyContextManager({ store })
  else if (contender === 'object-context') manager = new lib.AsyncLocalContextManager()

  const gate = new Promise(noop) // never settles; made outside any context
  const make = resource === 'timer'
    ? () => setTimeout(noop, 3600e3)
    : () => { gate.then(noop) }
  const createSome = () => { for (let i = 0; i < PER_TXN; i++) make() }

  let lastTrace = null
  /** One transaction of 20 segments with PER_TXN resources made in its context. */
  function transaction (t) {
    if (contender === 'raw-als' || contender === 'ours-als' || contender === 'ours-legacy') {
      const txn = store.startTransaction('GET /users/:id')
      let h = txn
      for (let s = 1; s < SEGMENTS; s++) {
        h = store.startSegment(txn, 'Datastore/postgres/select')
        store.setAttribute(h, 'db.statement', `SELECT * FROM users WHERE id = ${t * SEGMENTS + s}`)
        store.endSegment(h)
      }
      manager.runInContext(h, createSome)
      lastTrace = new WeakRef(store.endTransaction(txn))
      return
    }
    // Plain objects, as an agent without the store keeps its transactions.
    const trace = { name: 'GET /users/:id', start: performance.now(), end: NaN, segments: [] }
    let segment = null
    for (let s = 0; s < SEGMENTS; s++) {
      segment = { name: 'Datastore/postgres/select', start: performance.now(), end: NaN, attributes: { 'db.statement': `SELECT * FROM users WHERE id = ${t * SEGMENTS + s}` } }
      trace.segments.push(segment)
      segment.end = performance.now()
    }
    if (contender === 'object-context') manager.runInContext({ transaction: trace, segment }, createSome)
    else createSome()
    trace.end = performance.now()
    lastTrace = new WeakRef(trace)
  }

  // Warm-up outside the measurement (compiles the paths; its resources stay
  // and are part of the baseline).
  for (let t = 0; t < 50; t++) transaction(-1 - t)
  await fullGc()
  const before = process.memoryUsage()
  const txns = COUNT / PER_TXN
  for (let t = 0; t < txns; t++) transaction(t)
  await fullGc()
  const after = process.memoryUsage()
  const stats = store.stats()
  return {
    contender,
    resource,
    count: COUNT,
    heapBefore: before.heapUsed,
    heapAfter: after.heapUsed,
    perResource: (after.heapUsed - before.heapUsed) / COUNT,
    externalPerResource: (after.external - before.external) / COUNT,
    traceRetained: lastTrace.deref() !== undefined,
    live: {
      liveTransactions: stats.liveTransactions,
      liveSegments: stats.liveSegments,
      hookTableSize: contender === 'ours-legacy' ? manager.hookTableSize : null
    }
  }
}

async function run ({ quick, log = () => {} }) {
  // Quick and full runs do the same work per process (100,000 resources);
  // a full run measures every cell twice, in two separate processes.
  // Heap figures do not depend on CPU time, so two processes run at once.
  const rounds = quick ? 1 : 2
  const jobs = []
  for (let round = 0; round < rounds; round++) {
    for (const r of RESOURCES) {
      const order = round % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse()
      for (const c of order) jobs.push({ c, r, round })
    }
  }
  const cells = {}
  let next = 0
  async function worker () {
    while (next < jobs.length) {
      const { c, r, round } = jobs[next++]
      log(`memory: ${r.id}, ${c.id}, round ${round + 1}/${rounds}`)
      const m = await runChild(__filename, { contender: c.id, resource: r.id }, { execArgv: ['--expose-gc'] })
      ;((cells[r.id] ??= {})[c.id] ??= []).push(m)
    }
  }
  await Promise.all([worker(), worker()])
  // Per cell: the median of the rounds' per-resource figures (two rounds: their mean).
  const table = {}
  for (const r of RESOURCES) {
    table[r.id] = {}
    for (const c of CONTENDERS) {
      const ms = cells[r.id][c.id]
      const xs = ms.map((m) => m.perResource).sort((a, b) => a - b)
      const mid = xs.length % 2 ? xs[xs.length >> 1] : (xs[xs.length / 2 - 1] + xs[xs.length / 2]) / 2
      table[r.id][c.id] = {
        perResource: mid,
        runs: xs,
        externalPerResource: ms[ms.length - 1].externalPerResource,
        traceRetained: ms.some((m) => m.traceRetained),
        live: ms[ms.length - 1].live
      }
    }
    const base = table[r.id].none.perResource
    for (const c of CONTENDERS) table[r.id][c.id].overNone = table[r.id][c.id].perResource - base
  }
  return { count: COUNT, perTransaction: PER_TXN, segmentsPerTransaction: SEGMENTS, rounds, contenders: CONTENDERS, resources: RESOURCES, table }
}

if (!childMain(measure) && require.main === module) {
  const { parseOptions, QUICK } = require('./lib/args')
  run({ quick: parseOptions(QUICK).quick, log: (m) => console.error(m) })
    .then((r) => console.log(JSON.stringify(r, null, 2)))
}

module.exports = { run, CONTENDERS, RESOURCES }
