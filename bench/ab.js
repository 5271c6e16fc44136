'use strict'

// A/B of two checkouts of this repository in one process, for a change too
// small for the machine's drift between runs (docs/benchmarks.md, "A/B of a
// change"). Both checkouts' stores are loaded side by side (each its own
// lib/ and binary) and used in alternation, so a slow patch of the shared
// machine lands on both. Not part of `npm run bench`:
//
//   node scripts/with-node.js 26 bench/ab.js <checkout A> <checkout B> [--what=finish|workload] [--rounds=40]
//
//   finish    the 50-segment transaction of bench/segments.js, built, then
//             ended with endTransactionJSON: the end's ns per segment, A and
//             B alternating per transaction
//   workload  the peers workload (bench/peers/workload.js) through each
//             checkout's own contender (bench/peers/contenders/
//             segment-context-als.js): CPU per span, A and B alternating per
//             round of 1,000 transactions
//
// Prints the medians and B ÷ A. Each checkout needs its binary built
// (`npm run build` there). Run it again with A and B swapped: what comes
// second in a pair can be a little slower.

const path = require('node:path')
const { parseOptions } = require('./lib/args')
const { build50 } = require('./segments')
const workload = require('./peers/workload')

const opts = parseOptions({
  what: { type: 'string', default: 'finish' },
  rounds: { type: 'string', default: '40' }
}, { strict: false })
const roots = process.argv.slice(2).filter((a) => !a.startsWith('--')).map((r) => path.resolve(r))
const rounds = Number(opts.rounds)
if (roots.length !== 2 || !['finish', 'workload'].includes(opts.what) || !(rounds >= 2)) {
  console.error('usage: node bench/ab.js <checkout A> <checkout B> [--what=finish|workload] [--rounds=N]')
  process.exit(2)
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

/** ns per segment of one 50-segment end to JSON, per transaction, for each store in turn. */
function finish () {
  const stores = roots.map((r) => new (require(r).SegmentStore)())
  const T0 = 52345.987654321
  const ns = [[], []]
  const per = 500
  for (let i = 0; i < (rounds + 4) * per * 2; i++) {
    const k = i & 1
    const h = build50(stores[k])
    const t0 = process.hrtime.bigint()
    const json = stores[k].endTransactionJSON(h, T0 + 100)
    const t = Number(process.hrtime.bigint() - t0)
    if (json === null) throw new Error(`${roots[k]}: the transaction did not end`)
    if (i >= 4 * per * 2) ns[k].push(t / 50)
  }
  return { unit: 'ns a segment (end → JSON)', a: median(ns[0]), b: median(ns[1]) }
}

/** CPU ns per span of the peers workload, per round of 1,000 transactions, for each checkout in turn. */
async function peers () {
  const tracers = []
  for (const r of roots) {
    const c = require(path.join(r, 'bench', 'peers', 'contenders', 'segment-context-als.js'))
    tracers.push((await c.create({ verify: false })).tracer)
  }
  const cpu = [[], []]
  for (let i = 0; i < 2 * (rounds + 2); i++) {
    const k = i & 1
    const t0 = process.cpuUsage()
    const spans = await workload.runLoad(tracers[k], { transactions: 1000, concurrency: 200 })
    const u = process.cpuUsage(t0)
    if (i >= 4) cpu[k].push((u.user + u.system) * 1000 / spans)
  }
  return { unit: 'CPU ns a span (peers workload)', a: median(cpu[0]), b: median(cpu[1]) }
}

async function main () {
  const r = opts.what === 'finish' ? finish() : await peers()
  console.log(`Node ${process.version}, ${r.unit}, medians of ${rounds} alternations:`)
  console.log(`  A ${r.a.toFixed(1)}  ${roots[0]}`)
  console.log(`  B ${r.b.toFixed(1)}  ${roots[1]}`)
  console.log(`  B ÷ A = ${(r.b / r.a).toFixed(3)}`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
