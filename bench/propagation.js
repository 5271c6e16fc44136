'use strict'

// Section 2: async propagation. The cost of an `await`, a `.then`, a
// `setTimeout` and a `setImmediate` made inside a context, per contender,
// each contender in a fresh process: on Node 20 every enabled
// AsyncLocalStorage and every async hook taxes every new async resource in
// the process, so contenders sharing a process would pay for each other.
// "no context" is the same work with no AsyncLocalStorage and no hook at
// all; the floor for the ratios is raw AsyncLocalStorage.
//
// Each sample is a batch made inside the contender's context A:
//   await        an async function awaiting `undefined` n times
//   .then        a chain of n `.then(step)` on a resolved promise, awaited
//   setTimeout   n `setTimeout(cb, 0)` made in one synchronous block (they
//                share the loop's cached time, so they fire in one pass)
//   setImmediate n `setImmediate(cb)` made in one synchronous block
// timed as busy time only: scheduling, plus first to last callback, so the
// timer's 1 ms wait is not counted. The last callback checks that the
// context it sees is A (column "propagates").
//
//   node bench/propagation.js [--quick]

const { makeContenders, unavailable } = require('./lib/contenders')
const { asyncTask, runTasks, hr, consume, append } = require('./lib/harness')
const { summarize } = require('./lib/stats')
const { runChild, childMain } = require('./lib/child')

const OPS = [
  { id: 'await', label: 'await', n: 1000 },
  { id: 'then', label: '.then', n: 1000 },
  { id: 'setTimeout', label: 'setTimeout', n: 500 },
  { id: 'setImmediate', label: 'setImmediate', n: 1000 }
]

const IDS = ['none', 'raw-als', 'otel-2', 'otel-latest', 'newrelic', 'ours-als-store', 'ours-als', 'ours-legacy-on', 'ours-legacy-off']

function noContext () {
  return {
    id: 'none',
    label: 'no context (no AsyncLocalStorage, no hook)',
    available: true,
    ctxA: undefined,
    get: () => undefined,
    run: (ctx, fn) => fn(),
    propagates: null
  }
}

/** The four batch runners for contender `c`; each resolves with busy ns, and records whether A arrived. */
function runners (c, seen) {
  const { ctxA } = c
  const step = (v) => v + 1
  /**
   * Schedules `n` callbacks with `schedule` inside context A; busy time is
   * the scheduling plus the running of the callbacks, not the wait between.
   */
  const scheduled = (n, schedule) => new Promise((resolve) => {
    let count = 0
    let t0 = 0n
    let t1 = 0n
    let t2 = 0n
    const cb = () => {
      if (count === 0) t2 = hr()
      if (++count === n) {
        const t3 = hr()
        seen.push(c.get() === ctxA)
        resolve(Number(t1 - t0 + t3 - t2))
      }
    }
    c.run(ctxA, () => {
      t0 = hr()
      for (let i = 0; i < n; i++) schedule(cb)
      t1 = hr()
    })
  })
  return {
    await: (n) => new Promise((resolve, reject) => {
      c.run(ctxA, async () => {
        const t0 = hr()
        for (let i = 0; i < n; i++) await undefined
        const dt = hr() - t0
        seen.push(c.get() === ctxA)
        resolve(Number(dt))
      }).catch(reject)
    }),
    then: (n) => new Promise((resolve) => {
      c.run(ctxA, () => {
        const t0 = hr()
        let p = Promise.resolve(0)
        for (let i = 0; i < n; i++) p = p.then(step)
        p.then((v) => {
          const dt = hr() - t0
          consume(v)
          seen.push(c.get() === ctxA)
          resolve(Number(dt))
        })
      })
    }),
    setTimeout: (n) => scheduled(n, (cb) => setTimeout(cb, 0)),
    setImmediate: (n) => scheduled(n, setImmediate)
  }
}

/** In a child: one contender, all four operations. */
async function measure ({ quick, id }) {
  const c = id === 'none' ? noContext() : makeContenders([id]).contenders[0]
  const row = { id: c.id, label: c.label, available: c.available, reason: c.reason || null, note: c.note || null }
  if (!c.available) return { row, samples: {}, propagates: {} }
  if (c.activate) c.activate()
  const tasks = []
  const seen = {}
  for (const op of OPS) {
    seen[op.id] = []
    const r = runners(c, seen[op.id])[op.id]
    tasks.push({ name: op.id, fn: asyncTask(r, op.n), async: true })
  }
  const samples = await runTasks(tasks, quick
    ? { time: 60, warmupTime: 20, rounds: 1, minSamples: 8 }
    : { time: 400, warmupTime: 100, rounds: 1, minSamples: 16 })
  const propagates = {}
  for (const op of OPS) propagates[op.id] = c.propagates === null ? null : seen[op.id].every(Boolean)
  if (c.deactivate) c.deactivate()
  return { row, samples, propagates }
}

async function run ({ quick, log = () => {} }) {
  const rounds = quick ? 1 : 2
  const samples = {}
  const rows = new Map()
  const propagates = {}
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? IDS : [...IDS].reverse()
    for (const id of order) {
      const na = unavailable(id)
      if (na) {
        rows.set(id, na)
        continue
      }
      log(`propagation: ${id}, round ${round + 1}/${rounds}`)
      const r = await runChild(__filename, { quick, id })
      rows.set(id, r.row)
      for (const [op, xs] of Object.entries(r.samples)) append((samples[id] ??= {})[op] ??= [], xs)
      for (const [op, ok] of Object.entries(r.propagates)) {
        (propagates[id] ??= {})[op] = propagates[id][op] === false ? false : ok
      }
    }
  }
  const ops = OPS.map((op) => {
    const cells = {}
    for (const id of IDS) {
      const row = rows.get(id)
      if (!row.available) {
        cells[id] = { na: row.reason }
        continue
      }
      cells[id] = { ...summarize(samples[id][op.id]), propagates: propagates[id][op.id] }
    }
    const floor = cells['raw-als']
    for (const cell of Object.values(cells)) if (cell.median !== undefined) cell.ratio = cell.median / floor.median
    return { id: op.id, label: op.label, batch: op.n, floor: 'raw-als', cells }
  })
  return { rounds, rows: IDS.map((id) => rows.get(id)), ops }
}

if (!childMain(measure) && require.main === module) {
  const { parseOptions, QUICK } = require('./lib/args')
  run({ quick: parseOptions(QUICK).quick, log: (m) => console.error(m) })
    .then((r) => console.log(JSON.stringify(r, null, 2)))
}

module.exports = { run, OPS, IDS }
