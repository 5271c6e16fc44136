'use strict'

// Section 1: context operations, measured with tinybench.
//
//   getContext        read the current context (inside context A)
//   runInContext      run a function in context B from context A
//   setContext        the imperative set, alternating B and A
//   bound: call       call a function bound to B (made once), from A
//   bound: create + 1 bind a function to B and call it once (from A)
//
// Every batch runs inside the contender's own context A and switches to a
// different context B, so Node's "same store" fast path of run() never
// applies. Contexts are what each manager stores in practice: segment
// handles (small integers) for ours and raw AsyncLocalStorage, Context
// objects for OpenTelemetry and New Relic.
//
// Two layouts, both in every run:
//   isolated  one fresh process per contender (the main table; the targets
//             use it). In one process, contenders share Node's
//             AsyncLocalStorage methods, and whichever is measured first
//             gets the most favourable JIT state: measured here on Node 20,
//             our runInContext took 13.6 ns alone and 43.5 ns right after
//             raw AsyncLocalStorage had run in the same process.
//   shared    all contenders in one process, every task warmed before any
//             is measured, so all of them meet the same (polymorphic) JIT
//             state: the "compared in one process", for reference.
// The legacy manager with async hooks on has its hook enabled only during
// its own measurements.
//
//   node bench/context-ops.js [--quick] [--only raw-als,ours-als-store]

const { makeContenders } = require('./lib/contenders')
const { compileBatch, syncTask, runTasks, append } = require('./lib/harness')
const { summarize } = require('./lib/stats')
const { runChild, childMain } = require('./lib/child')

const OPS = [
  { id: 'get', label: 'getContext', n: 2000, floor: ['raw-als'] },
  { id: 'run', label: 'runInContext', n: 1000, floor: ['raw-als'] },
  { id: 'set', label: 'setContext', n: 1000, floor: ['raw-als'] },
  { id: 'bindCall', label: 'bound function: call (made once)', n: 1000, floor: ['raw-als', 'raw-als-bind'] },
  { id: 'bindCreateCall', label: 'bound function: create + one call', n: 200, floor: ['raw-als', 'raw-als-bind'] }
]

/** Checks that a contender does what it is measured doing; returns the problems. */
function check (c) {
  const problems = []
  const { ctxA, ctxB } = c
  c.run(ctxA, () => {
    if (c.get() !== ctxA) problems.push('get() inside run(A) is not A')
    if (c.ops.run && c.run(ctxB, () => c.get()) !== ctxB) problems.push('run(B) does not switch to B')
    if (c.get() !== ctxA) problems.push('run(B) does not restore A')
    if (c.bind && c.ops.bindCall) {
      const bound = c.bind(() => c.get(), ctxB)
      if (bound() !== ctxB) problems.push('a function bound to B does not run in B')
      if (c.get() !== ctxA) problems.push('a bound call does not restore A')
    }
    if (c.set && c.ops.set) {
      c.run(ctxB, () => {
        c.set(ctxA)
        if (c.get() !== ctxA) problems.push('set(A) then get() is not A')
      })
    }
  })
  return problems
}

/** In a child: measures the contenders `only` (all when omitted); returns raw samples. */
async function measure ({ quick, only, prewarm }) {
  const { contenders, fn0 } = makeContenders(only)
  const rows = []
  const tasks = []
  for (const c of contenders) {
    const row = { id: c.id, label: c.label, available: c.available, reason: c.reason || null, note: c.note || null }
    rows.push(row)
    if (!c.available) continue
    if (c.activate) c.activate()
    row.problems = check(c)
    if (c.deactivate) c.deactivate()
    if (row.problems.length) continue
    const enter = (f) => c.run(c.ctxA, f)
    for (const op of OPS) {
      const spec = c.ops[op.id]
      if (!spec) continue
      const { setup = '', body } = typeof spec === 'string' ? { body: spec } : spec
      const batch = compileBatch({ ...c.scope, ctxA: c.ctxA, ctxB: c.ctxB, fn0 }, body, { setup })
      tasks.push({
        name: `${op.id}|${c.id}`,
        fn: syncTask(batch, op.n, enter),
        beforeAll: c.activate ? () => { c.activate() } : undefined,
        afterAll: c.deactivate ? () => { c.deactivate() } : undefined
      })
    }
  }
  if (prewarm) {
    // Every task runs before any is measured, so that code the contenders
    // share (Node's AsyncLocalStorage methods, our two ALS managers) has
    // seen all of them, and no contender is measured in a friendlier JIT
    // state just because it came first.
    await runTasks(tasks, { time: quick ? 15 : 60, warmupTime: 0, rounds: 1, minSamples: 4 })
  }
  const samples = await runTasks(tasks, quick
    ? { time: 50, warmupTime: 20, rounds: 1 }
    : { time: prewarm ? 300 : 120, warmupTime: prewarm ? 80 : 40, rounds: prewarm ? 2 : 1 })
  return { rows, samples }
}

/** Summaries, floors and ratios per operation, from merged samples. */
function tabulate (rows, samples) {
  const ops = OPS.map((op) => {
    const cells = {}
    for (const c of rows) {
      const name = `${op.id}|${c.id}`
      if (!c.available) cells[c.id] = { na: c.reason }
      else if (c.problems && c.problems.length) cells[c.id] = { na: `check failed: ${c.problems.join('; ')}` }
      else if (samples[name] && samples[name].length) cells[c.id] = summarize(samples[name])
      else if (c.id === 'raw-als-bind') cells[c.id] = { na: 'bound functions only' }
      else if (op.id.startsWith('bind') && c.id === 'newrelic') cells[c.id] = { na: 'not in this manager (New Relic binds on its tracer)' }
      else cells[c.id] = { na: 'no such method' }
    }
    // The floor: the raw runtime's cheapest way of doing the same thing.
    let floorId = null
    for (const id of op.floor) {
      const cell = cells[id]
      if (cell && cell.median !== undefined && (floorId === null || cell.median < cells[floorId].median)) floorId = id
    }
    for (const cell of Object.values(cells)) {
      if (cell.median !== undefined && floorId) cell.ratio = cell.median / cells[floorId].median
    }
    return { id: op.id, label: op.label, batch: op.n, floor: floorId, cells }
  })
  return ops
}

/**
 * Runs the section; resolves with plain data:
 *   isolated: one fresh process per contender (the main table, and what the
 *             targets use), `rounds` times with the order reversed each round;
 *   shared:   all contenders in one process, every task warmed before any is
 *             measured (same JIT state for all).
 */
async function run ({ quick, only, log = () => {} }) {
  const { ALL_IDS, unavailable } = require('./lib/contenders')
  const ids = only || ALL_IDS
  const rounds = quick ? 1 : 5
  const samples = Object.create(null)
  const rowsById = new Map()
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ids : [...ids].reverse()
    for (const id of order) {
      const na = unavailable(id)
      if (na) {
        rowsById.set(id, na)
        continue
      }
      log(`context ops: ${id}, isolated, round ${round + 1}/${rounds}`)
      const r = await runChild(__filename, { quick, only: [id] })
      for (const row of r.rows) {
        const prev = rowsById.get(row.id)
        if (!prev || (row.problems && row.problems.length)) rowsById.set(row.id, row)
      }
      for (const [name, xs] of Object.entries(r.samples)) append(samples[name] ??= [], xs)
    }
  }
  const rows = ids.map((id) => rowsById.get(id))
  log('context ops: all contenders in one process')
  const shared = await runChild(__filename, { quick, only: ids.filter((id) => !unavailable(id)), prewarm: true })
  shared.rows = ids.map((id) => unavailable(id) || shared.rows.find((r) => r.id === id))
  return {
    rounds,
    rows,
    ops: tabulate(rows, samples),
    shared: { rows: shared.rows, ops: tabulate(shared.rows, shared.samples) }
  }
}

if (!childMain(measure) && require.main === module) {
  const { parseOptions, list, QUICK } = require('./lib/args')
  const opts = parseOptions({ ...QUICK, only: { type: 'string' } })
  run({ quick: opts.quick, only: list(opts.only), log: (m) => console.error(m) })
    .then((r) => console.log(JSON.stringify(r, null, 2)))
}

module.exports = { run, OPS }
