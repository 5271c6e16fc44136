'use strict'

// Section 3: segments. SegmentStore against bench/reference-store.js (a
// plain-JS store with the same API and output: an object per segment in a
// Map, JSON.stringify), each store in a fresh process, measured with
// tinybench:
//
//   segment      start + setAttribute + end of one segment (200 per transaction)
//   isActive     on a live handle
//   txn50        a whole transaction: start, 49 segments with 2 attributes
//                each (start, attributes, end), end into a finished trace,
//                as an object (endTransaction) and as JSON (endTransactionJSON)
//   end50        the same trace, only the end (the transaction is built
//                outside the timing), also as JSON.stringify(endTransaction(h)),
//                as bytes (endTransactionJSONBytes) and as
//                Buffer.from(endTransactionJSON(h)), what an agent that
//                sends bytes would do without it
//   end50Varied  the end alone, as JSON and as JSON.stringify(endTransaction),
//                of 50-segment transactions that each differ (parents, names,
//                times and values drawn at random): end50 repeats one
//                transaction, which the processor's branch predictors learn
//
// Before measuring, both stores build the same transaction and their output
// is checked equal (ids and the clock origin aside, parent links compared
// through the ids), as objects and as JSON.
//
//   node bench/segments.js [--quick]

const assert = require('node:assert')
const { asyncTask, runTasks, consume, hr, append } = require('./lib/harness')
const { summarize } = require('./lib/stats')
const { runChild, childMain } = require('./lib/child')

const OPS = [
  { id: 'segment', label: 'segment: start + attribute + end', n: 200 },
  { id: 'isActive', label: 'isActive', n: 2000 },
  { id: 'txn50Object', label: '50-segment transaction → object (build + end)', n: 4 },
  { id: 'txn50JSON', label: '50-segment transaction → JSON (build + end)', n: 4 },
  { id: 'end50Object', label: '50-segment transaction: end → object only', n: 1 },
  { id: 'end50JSON', label: '50-segment transaction: end → JSON only', n: 1 },
  { id: 'end50Stringify', label: '50-segment transaction: end → JSON.stringify(endTransaction(h))', n: 1 },
  { id: 'end50Bytes', label: '50-segment transaction: end → JSON bytes (endTransactionJSONBytes)', n: 1 },
  { id: 'end50JSONToBytes', label: '50-segment transaction: end → Buffer.from(endTransactionJSON(h))', n: 1 },
  { id: 'end50VariedJSON', label: '50-segment transactions, each different: end → JSON only', n: 1 },
  { id: 'end50VariedStringify', label: '50-segment transactions, each different: end → JSON.stringify(endTransaction(h))', n: 1 }
]

const STORES = [
  { id: 'ours', label: 'SegmentStore (ours)' },
  { id: 'reference', label: 'plain-JS reference (bench/reference-store.js)' }
]

function loadStore (id) {
  if (id === 'ours') return new (require('..').SegmentStore)()
  return new (require('./reference-store').ReferenceStore)()
}

const NAMES = Array.from({ length: 49 }, (_, i) => `Datastore/statement/users/${i % 5}`)
const SQL = 'SELECT * FROM users WHERE id = $1'

// Times as performance.now() gives them: milliseconds with a fraction that
// prints to 15-17 digits, as an agent's would.
const T0 = 52345.987654321

/**
 * A 50-segment transaction (the root and 49 children), explicit times,
 * three attributes a segment (a string, a number, a boolean).
 */
function build50 (st) {
  const r = st.startTransaction('GET /users/:id', T0)
  for (let i = 0; i < 49; i++) {
    const start = T0 + 0.1234567 + i * 0.8765432101
    const h = st.startSegment(r, NAMES[i], start)
    st.setAttribute(h, 'db.statement', SQL)
    st.setAttribute(h, 'db.rows', i)
    st.setAttribute(h, 'db.cached', i % 3 === 0)
    st.endSegment(h, start + 1.23456789 + i * 0.0123)
  }
  return r
}

const SQLS = Array.from({ length: 7 }, (_, i) => `SELECT * FROM t${i} WHERE id = $1`)

/** A seeded generator of numbers in [0, 1) (mulberry32), so both stores draw the same transactions. */
function random (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A 50-segment transaction like build50's (three attributes a segment),
 * but drawn with `rnd`: each segment's parent among those before it, its
 * name, start, duration and values, so that no two are alike.
 */
function buildVaried (st, rnd) {
  const base = T0 + rnd() * 1000
  const made = [st.startTransaction('GET /users/:id', base)]
  for (let i = 0; i < 49; i++) {
    const start = base + rnd() * 50
    const h = st.startSegment(made[Math.floor(rnd() * made.length)], NAMES[Math.floor(rnd() * NAMES.length)], start)
    st.setAttribute(h, 'db.statement', SQLS[Math.floor(rnd() * SQLS.length)])
    st.setAttribute(h, 'db.rows', Math.floor(rnd() * 1e6))
    st.setAttribute(h, 'db.cached', rnd() < 0.5)
    st.endSegment(h, start + rnd() * 10)
    made.push(h)
  }
  return made[0]
}

/** A trace with ids replaced by positions, the clock origin and trace id dropped. */
function normalize (trace) {
  const index = new Map(trace.segments.map((s, i) => [s.id, i]))
  for (const s of trace.segments) assert.match(s.id, /^[0-9a-f]{16}$/)
  assert.match(trace.traceId, /^[0-9a-f]{32}$/)
  return JSON.stringify({
    ...trace,
    traceId: 'x',
    startTime: 0,
    segments: trace.segments.map((s) => ({ ...s, id: index.get(s.id), parentId: s.parentId === null ? null : index.get(s.parentId) }))
  })
}

/** Both stores, same transaction: same trace as objects and as JSON. Returns what was compared. */
function checkEqual () {
  const a = loadStore('ours')
  const b = loadStore('reference')
  const oursObj = normalize(a.endTransaction(build50(a), T0 + 100))
  const refObj = normalize(b.endTransaction(build50(b), T0 + 100))
  const oursJson = normalize(JSON.parse(a.endTransactionJSON(build50(a), T0 + 100)))
  const oursBytes = normalize(JSON.parse(a.endTransactionJSONBytes(build50(a), T0 + 100).toString('utf8')))
  const refJson = normalize(JSON.parse(b.endTransactionJSON(build50(b), T0 + 100)))
  assert.strictEqual(oursObj, refObj, 'endTransaction: SegmentStore and the reference disagree')
  assert.strictEqual(oursJson, refJson, 'endTransactionJSON: SegmentStore and the reference disagree')
  assert.strictEqual(oursObj, oursJson, 'SegmentStore: object and JSON disagree')
  assert.strictEqual(oursBytes, oursJson, 'SegmentStore: JSON bytes and JSON disagree')
  const oursVaried = normalize(JSON.parse(a.endTransactionJSON(buildVaried(a, random(7)), T0 + 1100)))
  const refVaried = normalize(JSON.parse(b.endTransactionJSON(buildVaried(b, random(7)), T0 + 1100)))
  assert.strictEqual(oursVaried, refVaried, 'endTransactionJSON, a varied transaction: SegmentStore and the reference disagree')
  return { equal: true, segments: JSON.parse(refObj).segments.length, bytes: b.endTransactionJSON(build50(b), T0 + 100).length }
}

function tasksFor (st) {
  const rnd = random(1)
  const timed = (fn) => () => {
    const t0 = hr()
    consume(fn())
    return Number(hr() - t0)
  }
  return {
    segment: (n) => {
      const t0 = hr()
      const root = st.startTransaction('t', 0)
      const ns = timed(() => {
        let sink = 0
        for (let i = 0; i < n; i++) {
          const h = st.startSegment(root, 'db', 1)
          st.setAttribute(h, 'k', 'v')
          st.endSegment(h, 2)
          sink += h === null ? 0 : 1
        }
        return sink
      })()
      st.endTransaction(root, 3)
      return { ns, costNs: Number(hr() - t0) }
    },
    isActive: (() => {
      const live = st.startTransaction('live', 0)
      return (n) => timed(() => {
        let sink = 0
        for (let i = 0; i < n; i++) if (st.isActive(live)) sink++
        return sink
      })()
    })(),
    txn50Object: (n) => timed(() => {
      let sink = 0
      for (let i = 0; i < n; i++) sink += st.endTransaction(build50(st), T0 + 100).segments.length
      return sink
    })(),
    txn50JSON: (n) => timed(() => {
      let sink = 0
      for (let i = 0; i < n; i++) sink += st.endTransactionJSON(build50(st), T0 + 100).length
      return sink
    })(),
    end50Object: () => {
      const t0 = hr()
      const h = build50(st)
      const ns = timed(() => st.endTransaction(h, T0 + 100).segments.length)()
      return { ns, costNs: Number(hr() - t0) }
    },
    end50JSON: () => {
      const t0 = hr()
      const h = build50(st)
      const ns = timed(() => st.endTransactionJSON(h, T0 + 100).length)()
      return { ns, costNs: Number(hr() - t0) }
    },
    end50Stringify: () => {
      const t0 = hr()
      const h = build50(st)
      const ns = timed(() => JSON.stringify(st.endTransaction(h, T0 + 100)).length)()
      return { ns, costNs: Number(hr() - t0) }
    },
    end50Bytes: () => {
      const t0 = hr()
      const h = build50(st)
      const ns = timed(() => st.endTransactionJSONBytes(h, T0 + 100).length)()
      return { ns, costNs: Number(hr() - t0) }
    },
    end50JSONToBytes: () => {
      const t0 = hr()
      const h = build50(st)
      const ns = timed(() => Buffer.from(st.endTransactionJSON(h, T0 + 100)).length)()
      return { ns, costNs: Number(hr() - t0) }
    },
    end50VariedJSON: () => {
      const t0 = hr()
      const h = buildVaried(st, rnd)
      const ns = timed(() => st.endTransactionJSON(h, T0 + 1100).length)()
      return { ns, costNs: Number(hr() - t0) }
    },
    end50VariedStringify: () => {
      const t0 = hr()
      const h = buildVaried(st, rnd)
      const ns = timed(() => JSON.stringify(st.endTransaction(h, T0 + 1100)).length)()
      return { ns, costNs: Number(hr() - t0) }
    }
  }
}

/** In a child: one store, every operation. */
async function measure ({ quick, id }) {
  const st = loadStore(id)
  const runners = tasksFor(st)
  // Synchronous work, but asyncTask's shape (run(n) → ns) fits; tinybench
  // runs them sequentially either way.
  const tasks = OPS.map((op) => ({ name: op.id, fn: asyncTask(async (n) => runners[op.id](n), op.n), async: true }))
  // Four rounds of 100 ms rather than one of 400: the ops whose medians a
  // target divides (the JSON end and JSON.stringify of the objects, say) are
  // measured in turn four times, so a slow patch of the machine lands on
  // both instead of on one.
  const samples = await runTasks(tasks, quick
    ? { time: 100, warmupTime: 40, rounds: 1 }
    : { time: 100, warmupTime: 25, rounds: 4 })
  return { samples }
}

async function run ({ quick, log = () => {} }) {
  log('segments: checking that both stores produce the same trace')
  const check = checkEqual()
  const rounds = quick ? 1 : 2
  const samples = {}
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? STORES : [...STORES].reverse()
    for (const s of order) {
      log(`segments: ${s.id}, round ${round + 1}/${rounds}`)
      const r = await runChild(__filename, { quick, id: s.id })
      for (const [op, xs] of Object.entries(r.samples)) append((samples[s.id] ??= {})[op] ??= [], xs)
    }
  }
  const ops = OPS.map((op) => {
    const cells = {}
    for (const s of STORES) cells[s.id] = summarize(samples[s.id][op.id])
    for (const cell of Object.values(cells)) cell.ratio = cell.median / cells.reference.median
    return { id: op.id, label: op.label, batch: op.n, floor: 'reference', cells }
  })
  return { rounds, check, stores: STORES, ops }
}

if (!childMain(measure) && require.main === module) {
  const { parseOptions, QUICK } = require('./lib/args')
  run({ quick: parseOptions(QUICK).quick, log: (m) => console.error(m) })
    .then((r) => console.log(JSON.stringify(r, null, 2)))
}

module.exports = { run, OPS, STORES, build50, checkEqual }
