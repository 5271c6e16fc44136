'use strict'

// The measuring loop shared by the tinybench sections (context operations,
// async propagation, segments).
//
// Operations here take 5 ns to a few µs, far below what one timer read
// around one call can resolve, so each tinybench iteration runs a batch of
// `n` operations, times the batch itself with process.hrtime.bigint(), and
// returns the per-operation time as tinybench's `overriddenDuration` (and
// the batch's time as `overriddenIterationCost`, so the time budget counts
// the whole batch). A sample is thus the mean of one batch; the tables
// report the median sample and the p25–p75 range of the samples.
//
// Every batch loop is compiled afresh with `new Function` for each task, so
// V8 keeps separate type feedback per contender: a call site in the loop
// only ever sees that contender's method, and one contender's shapes never
// make another's loop polymorphic. Each loop adds what the operation returns
// into a sink that is returned and folded into a global, so nothing can be
// dropped as dead code.

const { Bench } = require('tinybench')

const hr = process.hrtime.bigint
const MAX_SAMPLES = 10000

let globalSink = 0

/** Appends `xs` to `into` (no spread: sample arrays can be long). */
function append (into, xs) {
  for (let i = 0; i < xs.length; i++) into.push(xs[i])
  return into
}

/** Folds a batch result into a value the process keeps (defeats dead-code elimination). */
function consume (v) {
  globalSink = (globalSink + (typeof v === 'number' ? v : 1)) | 0
}

function sinkValue () {
  return globalSink
}

/**
 * A fresh batch function: `function (n) { let sink = 0; <setup>; for (i < n) { <body> } <teardown>; return sink }`
 * with the names of `scope` in scope. `body` adds into `sink`.
 */
function compileBatch (scope, body, { setup = '', teardown = '' } = {}) {
  const names = Object.keys(scope)
  const src = `'use strict'
return function batch (n) {
  let sink = 0
  ${setup}
  for (let i = 0; i < n; i++) {
    ${body}
  }
  ${teardown}
  return sink
}`
  // eslint-disable-next-line no-new-func
  return new Function(...names, src)(...names.map((k) => scope[k]))
}

/**
 * A tinybench function for a synchronous batch of `n` operations. `enter`,
 * when given, runs the timed part inside the contender's outer context
 * (outside the timing): `enter(fn)` must call `fn()` synchronously.
 */
function syncTask (batch, n, enter) {
  let dt = 0
  const timed = () => {
    const t0 = hr()
    consume(batch(n))
    dt = Number(hr() - t0)
  }
  return () => {
    if (enter) enter(timed)
    else timed()
    return { overriddenDuration: dt / 1e6 / n, overriddenIterationCost: dt / 1e6 }
  }
}

/**
 * A tinybench function for an asynchronous batch: `run(n)` resolves to the
 * busy time of the batch in ns (it measures itself, so idle waits such as
 * a timer's 1 ms can be left out), or to { ns, costNs }.
 */
function asyncTask (run, n) {
  return async () => {
    const r = await run(n)
    // run(n) gives the measured ns, or { ns, costNs } when untimed set-up
    // around the measurement should still count against the time budget.
    const ns = typeof r === 'number' ? r : r.ns
    const cost = typeof r === 'number' ? ns : r.costNs
    return { overriddenDuration: ns / 1e6 / n, overriddenIterationCost: cost / 1e6 }
  }
}

/**
 * Runs `tasks` ({ name, fn, async?, beforeAll?, afterAll? }) with tinybench,
 * `rounds` times over (each round in a rotated order, so a slow patch of a
 * shared machine does not land on the same contender every time), and
 * returns { [name]: samples in ns per operation }.
 */
async function runTasks (tasks, { time, warmupTime, rounds = 1, minSamples = 16 }) {
  const samples = Object.create(null)
  for (const t of tasks) samples[t.name] = []
  for (let round = 0; round < rounds; round++) {
    const shift = Math.round((round * tasks.length) / rounds)
    const order = tasks.slice(shift).concat(tasks.slice(0, shift))
    if (round % 2 === 1) order.reverse()
    for (const t of order) {
      // One Bench per task: a task's warm-up runs right before its own
      // measurement, and a hook failure names its task.
      const bench = new Bench({
        time,
        warmupTime,
        iterations: minSamples,
        warmupIterations: 4,
        retainSamples: true,
        throws: true
      })
      bench.add(t.name, t.fn, { async: !!t.async, beforeAll: t.beforeAll, afterAll: t.afterAll })
      if (t.async) await bench.run()
      else bench.runSync()
      const task = bench.tasks[0]
      const lat = task.result.latency
      if (!lat || !lat.samples) throw new Error(`${t.name}: no samples (${task.result.state})`)
      // Sorted samples, thinned evenly to at most MAX_SAMPLES per round
      // (quantiles are kept; the cheapest operations otherwise give 10^5).
      const xs = lat.samples
      const step = Math.max(1, xs.length / MAX_SAMPLES)
      for (let i = 0; i < xs.length; i += step) samples[t.name].push(xs[Math.floor(i)] * 1e6)
    }
  }
  return samples
}

module.exports = { compileBatch, syncTask, asyncTask, runTasks, consume, sinkValue, hr, append }
