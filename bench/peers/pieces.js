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
//   untraced  the workload alone (bench/peers/contenders/untraced.js)
//   floor     one raw AsyncLocalStorage.run per span (contenders/floor.js)
//   settle    and one `.then` per span and per transaction on the promise
//             that run returns, with two shared reactions: what any tracer
//             that ends a span when its work settles pays at the least
//   manager   our ALS manager: runInContext per transaction, getContext and
//             runAndEnd per span, over a stand-in store that ends nothing
//   store     a real SegmentStore: startSegment, runAndEnd's endSegment and
//             endTransactionJSON, no attributes
//   full      and three setAttribute calls a span: the peers contender
//             itself (contenders/segment-context-als.js)

const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { parseOptions } = require('../lib/args')
const { summarize, fmtNs } = require('../lib/stats')
const workload = require('./workload')

const VARIANTS = ['untraced', 'floor', 'settle', 'manager', 'store', 'full']
const root = path.join(__dirname, '..', '..')

/** Variants that are peers contenders as they are (bench/peers/contenders/). */
const CONTENDERS = { untraced: 'untraced', floor: 'floor', full: 'segment-context-als' }

/**
 * `{ tracer, check() }` for `variant`: a contender's, or one of the two in
 * between, built here. `check` throws when a store variant finished nothing.
 */
async function tracerFor (variant) {
  if (variant in CONTENDERS) {
    const inst = await require(`./contenders/${CONTENDERS[variant]}`).create({ verify: false })
    return { tracer: inst.tracer, check () {} }
  }
  if (variant === 'settle') {
    const { AsyncLocalStorage } = require('node:async_hooks')
    const als = new AsyncLocalStorage()
    const fulfilled = (value) => value
    const rejected = (error) => { throw error }
    const settle = (name, work) => als.run(name, work).then(fulfilled, rejected)
    return { tracer: { transaction: settle, span: (name, s, n, b, work) => settle(name, work) }, check () {} }
  }
  const lib = require(root)
  const flag = { new_async_context: true }
  if (variant === 'manager') {
    let next = 1
    const store = { isActive: () => true, endSegment: () => {} }
    const m = lib.createContextManager({ feature_flag: flag, store })
    const tracer = {
      transaction: (name, work) => m.runInContext(next++, work).then(() => {}),
      span: (name, s, n, b, work) => {
        m.getContext()
        return m.runAndEnd(next++, work)
      }
    }
    return { tracer, check () {} }
  }
  // 'store': the contender's calls (contenders/segment-context.js) without
  // the three setAttribute calls.
  const store = new lib.SegmentStore()
  const m = lib.createContextManager({ feature_flag: flag, store })
  let bytes = 0
  const tracer = {
    transaction (name, work) {
      const txn = store.startTransaction(name)
      return m.runInContext(txn, work).then(() => { bytes += store.endTransactionJSON(txn).length })
    },
    span: (name, s, n, b, work) => m.runAndEnd(store.startSegment(m.getContext(), name), work)
  }
  return {
    tracer,
    check () {
      if (!(bytes > 0)) throw new Error('store: no transaction was finished to JSON')
    }
  }
}

/** In a child: a warm-up, then the median CPU ns per span of 5 loads. */
async function child (variant, transactions) {
  const { tracer: t, check } = await tracerFor(variant)
  await workload.runLoad(t, { transactions: 600, concurrency: 200 })
  const perSpan = []
  for (let i = 0; i < 5; i++) {
    const before = process.cpuUsage()
    const spans = await workload.runLoad(t, { transactions, concurrency: 200 })
    const used = process.cpuUsage(before)
    perSpan.push((used.user + used.system) * 1000 / spans)
  }
  check()
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
  row('one .then per span, over the floor', (r) => at('settle', r) - at('floor', r))
  row('our manager and runAndEnd, over that', (r) => at('manager', r) - at('settle', r))
  row('the store, no attributes, over that', (r) => at('store', r) - at('manager', r))
  row('three attributes a span, over that', (r) => at('full', r) - at('store', r))
  row('ours (net)', (r) => at('full', r) - at('untraced', r))
  const ratio = summarize(runs[0].map((_, r) => (at('full', r) - at('untraced', r)) / (at('floor', r) - at('untraced', r))))
  console.log(`${'ours ÷ floor'.padEnd(44)} ${ratio.median.toFixed(2).padStart(8)}×  (${ratio.p25.toFixed(2)}–${ratio.p75.toFixed(2)})`)
}

main()
