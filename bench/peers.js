'use strict'

// Section 6: peers. One realistic tracing workload (bench/peers/workload.js:
// 200 transactions in flight, 10 or 50 child spans each, nested up to 3 deep,
// 3 attributes a span, hops across await, setImmediate and setTimeout(0),
// every transaction finished to its tracer's wire form) run by this package
// and by the tracers a user would pick instead, each in its own process
// (bench/peers/contenders/, one module each, the same interface), against
// the same workload untraced and the runtime's floor (one raw
// AsyncLocalStorage.run per span).
//
// 1. Verify: every contender runs a small fixed set of transactions in a
//    fresh process, and the span trees it produced, read back from its own
//    output (its JSON, OTLP/JSON, the msgpack dd-trace sent, New Relic's
//    stdout payloads, Elastic's intake events) are compared with the
//    workload's: names, parent links, counts, attribute counts. A contender
//    that fails is reported as failed and not measured.
// 2. Rounds: each round runs every contender once, a fresh process each,
//    in an order rotated (and reversed every other round) from round to
//    round. A process measures, after a warm-up: CPU time of the load and
//    the final flush; heap + external with N transactions open; and a burst
//    of 1,000 transactions of 50 spans, opened, ended, flushed, GC'd. It also
//    counts what reached the wire against what it made.
// 3. Figures: per round, net = contender − untraced of the same round; the
//    table gives the median over rounds (p25–p75 beside it).
//
//   node bench/peers.js [--quick] [--only=id,id] [--rounds=N]
//   npm run bench -- --section peers [--quick]

const os = require('node:os')
const path = require('node:path')
const { parseOptions, list, QUICK } = require('./lib/args')
const { runWorker } = require('./peers/spawn')
const workload = require('./peers/workload')
const { quantile } = require('./lib/stats')

/** Table order; the file under bench/peers/contenders/ for each. */
const FILES = [
  'untraced',
  'floor',
  'segment-context-als',
  'segment-context-legacy',
  'segment-context-js',
  'opentelemetry',
  'dd-trace',
  'newrelic',
  'elastic-apm-nosend'
]
// Measured only when named in --only: elastic-apm-node sending NDJSON + gzip
// to the sink. Its HTTP client stopped sending after the first flush once
// the sink was in another process (every later event stayed queued), so its
// rows would compare less work; it is kept for whoever looks into that.
const OPTIONAL = ['elastic-apm-send']
const OURS = 'segment-context'

const MODES = {
  quick: {
    rounds: 5,
    cpu: { warmup: 300, transactions: 2000, concurrency: 200 },
    open: { transactions: 200 },
    burst: { transactions: 1000, spans: 50 }
  },
  full: {
    rounds: 7,
    cpu: { warmup: 500, transactions: 5000, concurrency: 200 },
    open: { transactions: 400 },
    burst: { transactions: 1000, spans: 50 }
  }
}

function stat (xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length === 0) return null
  return { median: quantile(s, 0.5), p25: quantile(s, 0.25), p75: quantile(s, 0.75), n: s.length }
}

function load (file) {
  const c = require(path.join(__dirname, 'peers', 'contenders', file))
  return { file, c, id: c.id }
}

/** The trees a verify run produced: decoded in the parent when the contender reads its wire here. */
function producedTrees (entry, r) {
  if (entry.c.decode) return entry.c.decode({ stdout: r.stdout, sinkBodies: r.sinkBodies })
  return r.value.phases.verify.traces
}

/** What reached the wire in one process against what it made: { ok, made, got, what } or null (nothing to check). */
function wireCheck (entry, r) {
  const made = r.value.made
  const c = entry.c
  if (c.baseline || c.floor) return null
  if (c.count) {
    const n = c.count({ stdout: r.stdout, sinkBodies: r.sinkBodies })
    if (n.spans !== undefined) {
      return { ok: n.spans === made.spans, what: 'spans', made: made.spans, got: n.spans, seen: n.seen }
    }
    return { ok: n.transactions === made.transactions, what: 'transactions', made: made.transactions, got: n.transactions }
  }
  const w = r.value.wire
  const ok = w.spans === made.spans && !w.dropped && !w.live
  return { ok, what: 'spans', made: made.spans, got: w.spans, dropped: w.dropped, live: w.live }
}

/** Bytes the contender put on its wire between two marks of one process. */
function wireBytesBetween (entry, r, from, to) {
  const c = entry.c
  if (c.wire === 'none') return null
  const at = (m) => {
    if (!m) return 0
    if (c.wire === 'stdout') return m.stdoutBytes
    return c.sinkBytes ? c.sinkBytes(m.sink) : m.sink.bytes
  }
  if (c.wire === 'child') return null
  return at(r.marks[to]) - at(from && r.marks[from])
}

async function run ({ quick = false, log = (m) => console.error(m), only = null, rounds = null } = {}) {
  const mode = { ...(quick ? MODES.quick : MODES.full) }
  if (rounds) mode.rounds = rounds
  const started = Date.now()
  const loadStart = os.loadavg()
  const entries = [...FILES, ...OPTIONAL].map(load)
    .filter((e) => (only ? only.includes(e.id) || e.c.baseline : FILES.includes(e.file)))
  const rows = entries.map((e) => ({ id: e.id, label: e.c.label, ours: !!e.c.ours, floor: !!e.c.floor, baseline: !!e.c.baseline, status: 'ok' }))
  const row = (id) => rows.find((x) => x.id === id)

  // Which can run here.
  for (const e of entries) {
    const why = e.c.available()
    if (why) {
      Object.assign(row(e.id), { status: 'unavailable', reason: why })
      log(`peers: ${e.id}: not available (${why})`)
    }
  }

  // 1. Verify the span trees.
  const shapes = workload.verifyShapes()
  for (const e of entries) {
    const rw = row(e.id)
    if (rw.status !== 'ok') continue
    try {
      const r = await runWorker({ file: e.file, contender: e.c, phases: ['verify'], params: {} })
      rw.info = r.value.info
      const v = r.value.phases.verify
      const bytes = e.c.wire === 'child' ? v.wire.bytes : wireBytesBetween(e, r, null, 'verify')
      rw.verify = { spans: v.spans, wireBytes: bytes, wireBytesPerSpan: bytes === null ? null : bytes / v.spans }
      if (e.c.baseline || e.c.floor) {
        rw.verify.tree = 'n/a (records nothing)'
      } else {
        const cmp = workload.compareTrees(producedTrees(e, r), shapes)
        Object.assign(rw.verify, cmp)
        if (!cmp.ok) {
          Object.assign(rw, { status: 'failed', reason: `span tree: ${cmp.problem}` })
          log(`peers: ${e.id}: FAILED the span-tree check: ${cmp.problem}`)
          continue
        }
        if (!(bytes > 0) && e.c.wire !== 'none') {
          Object.assign(rw, { status: 'failed', reason: 'nothing reached the wire' })
          continue
        }
      }
      log(`peers: ${e.id}: span tree ${rw.verify.ok === undefined ? 'n/a' : 'ok'} (${v.spans} spans${bytes ? `, ${bytes} bytes on the wire` : ''})`)
    } catch (err) {
      Object.assign(rw, { status: 'failed', reason: `verify run: ${String(err.message).split('\n')[0]}` })
      log(`peers: ${e.id}: FAILED: ${err.message}`)
    }
  }
  if (row('untraced').status !== 'ok') throw new Error(`peers: the untraced baseline failed: ${row('untraced').reason}`)

  // 2. Rounds.
  const runnable = entries.filter((e) => row(e.id).status === 'ok')
  const perRound = []
  for (let round = 0; round < mode.rounds; round++) {
    const shift = round % runnable.length
    const order = runnable.slice(shift).concat(runnable.slice(0, shift))
    if (round % 2 === 1) order.reverse()
    const got = {}
    for (const e of order) {
      const rw = row(e.id)
      if (rw.status !== 'ok') continue
      const t0 = Date.now()
      try {
        const r = await runWorker({ file: e.file, contender: e.c, phases: ['cpu', 'open', 'burst'], params: { cpu: mode.cpu, open: mode.open, burst: mode.burst } })
        const p = r.value.phases
        const check = wireCheck(e, r)
        got[e.id] = {
          cpuNs: p.cpu.cpuNs,
          wallNs: p.cpu.wallNs,
          spans: p.cpu.spans,
          cpuWireBytes: e.c.wire === 'child' ? p.cpu.wire.bytes : wireBytesBetween(e, r, 'warmup', 'cpu'),
          open: { spans: p.open.spans, delta: p.open.peak.total - p.open.base.total, heap: p.open.peak.heap - p.open.base.heap },
          burst: {
            transactions: p.burst.transactions,
            spans: p.burst.spans,
            peak: p.burst.peak.total - p.burst.base.total,
            retained: p.burst.after.total - p.burst.base.total
          },
          wireCheck: check,
          storeCapacity: r.value.wire.capacity
        }
        if (check && !check.ok) {
          rw.wireProblems = (rw.wireProblems || 0) + 1
          rw.wireCheck = check
        }
        log(`peers: round ${round + 1}/${mode.rounds} ${e.id}: ${((p.cpu.cpuNs / p.cpu.spans)).toFixed(0)} ns CPU/span, ${((Date.now() - t0) / 1000).toFixed(1)} s${check && !check.ok ? ` — wire: ${check.got} of ${check.made} ${check.what}` : ''}`)
      } catch (err) {
        Object.assign(rw, { status: 'failed', reason: `round ${round + 1}: ${String(err.message).split('\n')[0]}` })
        log(`peers: ${e.id}: FAILED in round ${round + 1}: ${err.message}`)
      }
    }
    perRound.push(got)
  }

  // 3. Figures.
  for (const rw of rows) {
    if (rw.status !== 'ok') continue
    const mine = perRound.map((g) => g[rw.id]).filter(Boolean)
    const base = (i) => perRound[i].untraced
    const paired = perRound.map((g, i) => [g[rw.id], base(i)]).filter(([a, b]) => a && b)
    rw.rounds = mine.length
    rw.cpu = {
      grossPerSpanNs: stat(mine.map((m) => m.cpuNs / m.spans)),
      netPerSpanNs: rw.baseline ? null : stat(paired.map(([a, b]) => (a.cpuNs - b.cpuNs) / a.spans)),
      wallMs: stat(mine.map((m) => m.wallNs / 1e6)),
      wireBytesPerSpan: stat(mine.map((m) => (m.cpuWireBytes === null ? NaN : m.cpuWireBytes / m.spans)))
    }
    rw.open = {
      spans: mine[0] && mine[0].open.spans,
      grossPerSpan: stat(mine.map((m) => m.open.delta / m.open.spans)),
      netPerSpan: rw.baseline ? null : stat(paired.map(([a, b]) => (a.open.delta - b.open.delta) / a.open.spans))
    }
    rw.burst = {
      transactions: mine[0] && mine[0].burst.transactions,
      spansPerTransaction: mine[0] && mine[0].burst.spans / mine[0].burst.transactions - 1,
      grossPeakPerTransaction: stat(mine.map((m) => m.burst.peak / m.burst.transactions)),
      grossRetainedPerTransaction: stat(mine.map((m) => m.burst.retained / m.burst.transactions)),
      netPeakPerTransaction: rw.baseline ? null : stat(paired.map(([a, b]) => (a.burst.peak - b.burst.peak) / a.burst.transactions)),
      netRetainedPerTransaction: rw.baseline ? null : stat(paired.map(([a, b]) => (a.burst.retained - b.burst.retained) / a.burst.transactions)),
      retainedOfPeak: rw.baseline ? null : stat(paired.map(([a, b]) => (a.burst.retained - b.burst.retained) / (a.burst.peak - b.burst.peak)))
    }
    if (mine.length && mine[0].storeCapacity !== undefined) rw.storeCapacityAfter = Math.max(...mine.map((m) => m.storeCapacity))
    rw.samples = mine
  }

  // Ratios: ours against the floor and against the best peer that passed.
  const peers = rows.filter((r) => r.status === 'ok' && !r.ours && !r.floor && !r.baseline && r.cpu && r.cpu.netPerSpanNs)
  const best = (key) => peers.reduce((a, b) => (!a || key(b) < key(a) ? b : a), null)
  const cpuOf = (r) => r.cpu.netPerSpanNs.median
  const memOf = (r) => r.open.netPerSpan.median
  const retOf = (r) => r.burst.netRetainedPerTransaction.median
  const ours = row(OURS)
  const floor = row('floor')
  const ok = (r) => r && r.status === 'ok' && r.cpu
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : null)
  const ratios = {}
  for (const r of rows.filter((x) => x.ours && ok(x))) {
    const bc = best(cpuOf)
    const bm = best(memOf)
    const br = best(retOf)
    ratios[r.id] = {
      cpuOverFloor: ok(floor) ? ratio(cpuOf(r), cpuOf(floor)) : null,
      cpuOverBestPeer: bc ? ratio(cpuOf(r), cpuOf(bc)) : null,
      cpuBestPeer: bc && bc.id,
      openOverFloor: ok(floor) ? ratio(memOf(r), memOf(floor)) : null,
      openOverBestPeer: bm ? ratio(memOf(r), memOf(bm)) : null,
      openBestPeer: bm && bm.id,
      retainedBestPeer: br && br.id
    }
  }
  if (!ours || ours.status !== 'ok') log(`peers: ${OURS} did not run: ${ours ? ours.reason : 'left out'}`)

  return {
    node: process.version,
    quick,
    date: new Date().toISOString(),
    wallSeconds: (Date.now() - started) / 1000,
    loadAverage: { start: loadStart, end: os.loadavg() },
    cpus: os.cpus().length,
    mode,
    workload: {
      concurrency: mode.cpu.concurrency,
      spanCounts: workload.SPAN_COUNTS,
      verify: { transactions: shapes.length, spans: shapes.reduce((n, s) => n + s.count + 1, 0) }
    },
    rows,
    ratios
  }
}

module.exports = { run, FILES, OPTIONAL, MODES }

if (require.main === module) {
  const values = parseOptions({ ...QUICK, only: { type: 'string' }, rounds: { type: 'string' }, json: { type: 'boolean', default: false } })
  run({ quick: values.quick, only: list(values.only) || null, rounds: values.rounds ? Number(values.rounds) : null }).then((r) => {
    if (values.json) console.log(JSON.stringify(r, null, 1))
    else console.log(require('./lib/report').peersTables(r).join('\n'))
  }, (e) => {
    console.error(e)
    process.exit(1)
  })
}
