'use strict'

// Where our net CPU per span goes in the peers workload: the workload run
// with pieces of our tracer switched on one after another, each variant in
// a fresh process, rounds interleaved in rotated order, every figure net of
// the variant before it in the same round. Not part of `npm run bench`
// (docs/benchmarks.md, section 6, has a run of it); on another Node line:
//
//   node scripts/with-node.js 26 bench/peers/pieces.js [--rounds=9] [--transactions=3000]
//
// Variants, each adding one piece:
//   untraced  the workload alone
//   floor     one raw AsyncLocalStorage.run per span (as bench/peers/contenders/floor.js)
//   manager   our ALS manager: runInContext per transaction, getContext and
//             runAndEnd per span, over a stand-in store that ends nothing
//   store     a real SegmentStore: startSegment, runAndEnd's endSegment and
//             endTransactionJSON, no attributes
//   full      and three setAttribute calls a span: the peers contender

const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { AsyncLocalStorage } = require('node:async_hooks')
const { parseOptions } = require('../lib/args')
const { summarize, fmtNs } = require('../lib/stats')
const workload = require('./workload')

const VARIANTS = ['untraced', 'floor', 'manager', 'store', 'full']
const root = path.join(__dirname, '..', '..')

/**
 * The workload's tracer for `variant`; a store variant's also has
 * `bytes()`, the JSON it finished (checked to be more than none).
 */
function tracerFor (variant) {
  if (variant === 'untraced') return { transaction: (name, work) => work(), span: (name, s, n, b, work) => work() }
  if (variant === 'floor') {
    const als = new AsyncLocalStorage()
    return { transaction: (name, work) => als.run(name, work), span: (name, s, n, b, work) => als.run(name, work) }
  }
  const lib = require(root)
  const flag = { new_async_context: true }
  if (variant === 'manager') {
    let next = 1
    const store = { isActive: () => true, endSegment: () => {} }
    const m = lib.createContextManager({ feature_flag: flag, store })
    return {
      transaction: (name, work) => m.runInContext(next++, work).then(() => {}),
      span: (name, s, n, b, work) => {
        m.getContext()
        return m.runAndEnd(next++, work)
      }
    }
  }
  const store = new lib.SegmentStore()
  const m = lib.createContextManager({ feature_flag: flag, store })
  const attributes = variant === 'full'
  let bytes = 0
  return {
    transaction (name, work) {
      const txn = store.startTransaction(name)
      return m.runInContext(txn, work).then(() => { bytes += store.endTransactionJSON(txn).length })
    },
    span (name, s, n, b, work) {
      const h = store.startSegment(m.getContext(), name)
      if (attributes) {
        store.setAttribute(h, 'bench_s', s)
        store.setAttribute(h, 'bench_n', n)
        store.setAttribute(h, 'bench_b', b)
      }
      return m.runAndEnd(h, work)
    },
    bytes: () => bytes
  }
}

/** In a child: a warm-up, then the median CPU ns per span of 5 loads. */
async function child (variant, transactions) {
  const t = tracerFor(variant)
  await workload.runLoad(t, { transactions: 600, concurrency: 200 })
  const perSpan = []
  for (let i = 0; i < 5; i++) {
    const before = process.cpuUsage()
    const spans = await workload.runLoad(t, { transactions, concurrency: 200 })
    const used = process.cpuUsage(before)
    perSpan.push((used.user + used.system) * 1000 / spans)
  }
  if (t.bytes !== undefined && !(t.bytes() > 0)) throw new Error(`${variant}: no transaction was finished to JSON`)
  process.stdout.write(JSON.stringify(summarize(perSpan).median))
}

function main () {
  const opts = parseOptions({
    rounds: { type: 'string', default: '9' },
    transactions: { type: 'string', default: '3000' },
    child: { type: 'string' }
  })
  const transactions = Number(opts.transactions)
  if (opts.child !== undefined) return child(opts.child, transactions)
  const rounds = Number(opts.rounds)
  const runs = VARIANTS.map(() => [])
  for (let r = 0; r < rounds; r++) {
    const order = VARIANTS.map((_, i) => (i + r) % VARIANTS.length)
    if (r % 2 === 1) order.reverse()
    for (const i of order) {
      const out = execFileSync(process.execPath, [__filename, `--child=${VARIANTS[i]}`, `--transactions=${transactions}`], { encoding: 'utf8' })
      runs[i][r] = Number(out)
    }
  }
  console.log(`Node ${process.version}, ${rounds} rounds, ${transactions} transactions a load; CPU ns per span, medians (p25–p75) of per-round differences`)
  const row = (label, f) => {
    const s = summarize(runs[0].map((_, r) => f(r)))
    console.log(`${label.padEnd(44)} ${fmtNs(s.median).padStart(9)}  (${fmtNs(s.p25)}–${fmtNs(s.p75)})`)
  }
  const at = (name, r) => runs[VARIANTS.indexOf(name)][r]
  row('untraced (gross)', (r) => at('untraced', r))
  row('floor: als.run per span (net)', (r) => at('floor', r) - at('untraced', r))
  row('our manager and runAndEnd, over the floor', (r) => at('manager', r) - at('floor', r))
  row('the store, no attributes, over that', (r) => at('store', r) - at('manager', r))
  row('three attributes a span, over that', (r) => at('full', r) - at('store', r))
  row('ours (net)', (r) => at('full', r) - at('untraced', r))
  const ratio = summarize(runs[0].map((_, r) => (at('full', r) - at('untraced', r)) / (at('floor', r) - at('untraced', r))))
  console.log(`${'ours ÷ floor'.padEnd(44)} ${ratio.median.toFixed(2).padStart(8)}×  (${ratio.p25.toFixed(2)}–${ratio.p75.toFixed(2)})`)
}

main()
