#!/usr/bin/env node
'use strict'

// Soak: pushes many transactions through a context manager and a
// SegmentStore, and reports whether everything was cleared up.
//
//   node scripts/soak.js [--manager als|legacy|both] [--transactions N]
//                        [--concurrency N] [--diagnostics] [--json] [--leak N]
//
// Defaults: both managers in turn, 1,000,000 transactions each, 200 in
// flight. Each transaction has 5 segments with attributes under its root, and
// does async work inside its context: a timer at 0 ms, setImmediate,
// process.nextTick through a bound function, promise continuations and
// awaits. Every step checks that the context is the transaction's own.
//
// Progress and a summary go to stderr; the last line on stdout is always one
// JSON object with the results (`--json` prints nothing else on stdout). Exit
// status 1 when anything is left: live transactions or segments in the store,
// entries in the legacy hook table, leak-report entries, or a step that saw
// the wrong context. `--leak N` leaves the first N transactions of each run
// open on purpose, to see the checks catch them (and exit 1).
//
// Memory: RSS and heapUsed at the start, after a warm-up pass (10% of the
// count, on its own store and manager) and at the end of the full run, each
// after a full GC; the growth is end - warm-up.

const v8 = require('node:v8')
const vm = require('node:vm')
const path = require('node:path')
const { SegmentStore, AsyncLocalContextManager, LegacyContextManager } = require(path.join(__dirname, '..'))

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

function parseArgs (argv) {
  const o = { manager: 'both', transactions: 1e6, concurrency: 200, diagnostics: false, json: false, leak: 0 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--manager') o.manager = value()
    else if (a === '--transactions') o.transactions = Number(value())
    else if (a === '--concurrency') o.concurrency = Number(value())
    else if (a === '--diagnostics') o.diagnostics = true
    else if (a === '--json') o.json = true
    else if (a === '--leak') o.leak = Number(value())
    else usage(`unknown argument ${a}`)
  }
  if (!['als', 'legacy', 'both'].includes(o.manager)) usage('--manager must be als, legacy or both')
  if (!Number.isInteger(o.transactions) || o.transactions < 1) usage('--transactions must be a positive integer')
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) usage('--concurrency must be a positive integer')
  if (!Number.isInteger(o.leak) || o.leak < 0) usage('--leak must be an integer >= 0')
  return o
}

function usage (problem) {
  process.stderr.write(`soak: ${problem}\nusage: node scripts/soak.js [--manager als|legacy|both] [--transactions N] [--concurrency N] [--diagnostics] [--json] [--leak N]\n`)
  process.exit(2)
}

const MB = 1024 * 1024
const round = (x) => Math.round(x * 10) / 10

/** RSS and heapUsed in MB, after a full GC. */
function memory () {
  gc()
  gc()
  const m = process.memoryUsage()
  const h = v8.getHeapStatistics()
  return {
    rssMB: round(m.rss / MB),
    heapUsedMB: round(m.heapUsed / MB),
    heapTotalMB: round(m.heapTotal / MB),
    externalMB: round(m.external / MB),
    mallocedMB: round(h.malloced_memory / MB)
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))
const STATEMENTS = ['SELECT * FROM users WHERE id = $1', 'UPDATE carts SET total = $1', 'INSERT INTO events VALUES ($1, $2)']

async function soak (kind, o, log) {
  const Manager = kind === 'als' ? AsyncLocalContextManager : LegacyContextManager
  const store = new SegmentStore()
  const m = new Manager({ store })
  if (o.diagnostics) m.enableDiagnostics({ size: 4096 })
  let mismatches = 0
  let segments = 0
  const check = (T) => {
    if (m.getContext() !== T) mismatches++
  }

  /** One transaction: 5 segments with attributes, async work in its context. */
  function transaction (i) {
    const T = store.startTransaction(`GET /soak/${i % 50}`)
    const work = m.runInContext(T, async () => {
      check(T)
      const db = store.startSegment(T, 'Datastore/select')
      store.setAttribute(db, 'db.statement', STATEMENTS[i % 3])
      store.setAttribute(db, 'db.rows', i % 17)
      await new Promise((resolve) => setTimeout(resolve, 0))
      check(T)
      store.endSegment(db)
      const http = store.startSegment(T, 'External/api.example.com')
      store.setAttribute(http, 'http.url', `https://api.example.com/items/${i}`)
      store.setAttribute(http, 'http.status', 200)
      const child = store.startSegment(http, 'dns.lookup')
      store.setAttribute(child, 'host', 'api.example.com')
      await new Promise((resolve) => setImmediate(resolve))
      check(T)
      store.endSegment(child)
      await Promise.resolve().then(() => check(T))
      store.endSegment(http)
      const cache = store.startSegment(T, 'Cache/get')
      store.setAttribute(cache, 'cache.hit', i % 2 === 0)
      await new Promise((resolve) => process.nextTick(m.bindFunction(() => {
        check(T)
        resolve()
      })))
      check(T)
      store.endSegment(cache)
      const render = store.startSegment(T, 'View/render')
      store.setAttribute(render, 'template', 'items.html')
      await null
      check(T)
      store.endSegment(render)
      segments += 6
    })
    return work.then(() => {
      if (i < o.leak) return // left open on purpose (--leak)
      if (i % 2 === 0) store.endTransaction(T)
      else store.endTransactionJSON(T)
    })
  }

  let started = 0
  let done = 0
  const t0 = process.hrtime.bigint()
  let nextReport = Math.ceil(o.transactions / 10)
  await new Promise((resolve, reject) => {
    const launch = () => {
      const i = started++
      transaction(i).then(finished, reject)
    }
    const finished = () => {
      done++
      if (done >= nextReport) {
        const s = Number(process.hrtime.bigint() - t0) / 1e9
        log(`  ${kind}: ${done} / ${o.transactions} transactions, ${Math.round(done / s)}/s, live ${store.stats().liveTransactions}, RSS ${round(process.memoryUsage.rss() / MB)} MB`)
        nextReport += Math.ceil(o.transactions / 10)
      }
      if (started < o.transactions) launch()
      else if (done === o.transactions) resolve()
    }
    for (let k = 0; k < Math.min(o.concurrency, o.transactions); k++) launch()
  })
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  for (let k = 0; k < 5; k++) await turn() // destroy hooks of the last timers

  const stats = store.stats()
  const hookTable = kind === 'legacy' ? m.hookTableSize : 0
  const leaks = store.leakReport({ segmentOlderThanMs: 0, transactionOlderThanMs: 0 })
  const diagnostics = o.diagnostics ? (({ size, recorded, dropped }) => ({ size, recorded, dropped }))(m.diagnostics()) : null
  m.disable()
  return {
    manager: kind,
    transactions: o.transactions,
    segments,
    seconds: round(seconds),
    perSecond: Math.round(o.transactions / seconds),
    mismatches,
    live: { transactions: stats.liveTransactions, segments: stats.liveSegments, hookTable },
    totals: { transactions: stats.totalTransactions, segments: stats.totalSegments },
    capacity: stats.capacity,
    leaks: leaks.transactions.length + leaks.segments.length,
    verify: store.verify().length,
    diagnostics
  }
}

/**
 * A warm-up pass of 10% of the transactions (own store and manager), then
 * the full run; memory after a full GC before, between and after.
 */
async function soakWithWarmup (kind, o, log) {
  const start = memory()
  const warmupCount = Math.max(1, Math.floor(o.transactions / 10))
  await soak(kind, { ...o, transactions: warmupCount, leak: 0 }, () => {})
  const warm = memory()
  const r = await soak(kind, o, log)
  const end = memory()
  r.memory = { start, warm, end, rssGrowthMB: round(end.rssMB - warm.rssMB), heapGrowthMB: round(end.heapUsedMB - warm.heapUsedMB) }
  r.ok = r.mismatches === 0 && r.live.transactions === 0 && r.live.segments === 0 && r.live.hookTable === 0 && r.leaks === 0 && r.verify === 0 &&
    r.totals.transactions === o.transactions && r.segments === 6 * o.transactions
  return r
}

async function main () {
  const o = parseArgs(process.argv.slice(2))
  const log = (line) => process.stderr.write(line + '\n')
  const kinds = o.manager === 'both' ? ['als', 'legacy'] : [o.manager]
  log(`soak: node ${process.version}, ${o.transactions} transactions per manager, ${o.concurrency} in flight, managers: ${kinds.join(', ')}${o.diagnostics ? ', diagnostics on' : ''}`)
  const results = []
  for (const kind of kinds) {
    const r = await soakWithWarmup(kind, o, log)
    results.push(r)
    log(`  ${kind}: ${r.ok ? 'ok' : 'FAILED'} in ${r.seconds} s (${r.perSecond}/s); live transactions ${r.live.transactions}, live segments ${r.live.segments}, hook table ${r.live.hookTable}, leak report ${r.leaks}, wrong contexts ${r.mismatches}; ` +
      `RSS ${r.memory.start.rssMB} → ${r.memory.warm.rssMB} (warm) → ${r.memory.end.rssMB} MB (growth ${r.memory.rssGrowthMB} MB), heapUsed ${r.memory.warm.heapUsedMB} → ${r.memory.end.heapUsedMB} MB (growth ${r.memory.heapGrowthMB} MB)`)
  }
  const ok = results.every((r) => r.ok)
  process.stdout.write(JSON.stringify({ node: process.version, transactions: o.transactions, concurrency: o.concurrency, ok, results }) + '\n')
  process.exitCode = ok ? 0 : 1
}

main().catch((e) => {
  process.stderr.write(`soak: ${e && e.stack ? e.stack : e}\n`)
  process.stdout.write(JSON.stringify({ node: process.version, ok: false, error: String(e && e.message) }) + '\n')
  process.exitCode = 1
})
