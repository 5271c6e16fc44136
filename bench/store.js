'use strict'

// Segment store costs, ours against the plain-JS ReferenceStore, in the same
// process: per-segment hot path, isActive, and finishing a 50-segment
// transaction as an object and as JSON. Prints medians over many rounds and
// the ratio ours / reference. `--quick` runs fewer rounds.
//
//   node bench/store.js [--quick] [--json]

const { SegmentStore } = require('..')
const { ReferenceStore } = require('./reference-store')

const quick = process.argv.includes('--quick')
const ROUNDS = quick ? 300 : 3000

const now = () => process.hrtime.bigint()

function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]
}

function spread (xs) {
  const s = [...xs].sort((a, b) => a - b)
  return [s[Math.floor(s.length * 0.1)], s[Math.floor(s.length * 0.9)]]
}

function build50 (st) {
  const r = st.startTransaction('GET /users/:id', 0)
  for (let i = 0; i < 49; i++) {
    const h = st.startSegment(r, `Datastore/statement/users/${i % 5}`, i)
    st.setAttribute(h, 'db.statement', 'SELECT * FROM users WHERE id = $1')
    st.setAttribute(h, 'db.rows', i)
    st.endSegment(h, i + 2)
  }
  return r
}

function measure (Store) {
  const st = new Store()
  const r = { segment: [], isActive: [], build50: [], toObject: [], toJSON: [] }
  let sink = 0
  for (let round = 0; round < ROUNDS; round++) {
    const root = st.startTransaction('t', 0)
    let t = now()
    for (let i = 0; i < 200; i++) {
      const h = st.startSegment(root, 'db', 1)
      st.setAttribute(h, 'k', 'v')
      st.endSegment(h, 2)
    }
    r.segment.push(Number(now() - t) / 200)
    t = now()
    for (let i = 0; i < 1000; i++) if (st.isActive(root)) sink++
    r.isActive.push(Number(now() - t) / 1000)
    st.endTransaction(root, 3)

    t = now()
    const txn = build50(st)
    const t1 = now()
    r.build50.push(Number(t1 - t))
    if (round & 1) {
      sink += st.endTransactionJSON(txn, 100).length
      r.toJSON.push(Number(now() - t1))
    } else {
      sink += st.endTransaction(txn, 100).segments.length
      r.toObject.push(Number(now() - t1))
    }
  }
  if (sink === 0) throw new Error('nothing measured')
  return r
}

function main () {
  // Check first that both stores produce the same trace (ids aside).
  const a = new SegmentStore()
  const b = new ReferenceStore()
  const strip = (t) => JSON.stringify({ ...t, traceId: 0, startTime: 0, segments: t.segments.map((s) => ({ ...s, id: 0, parentId: s.parentId && 1 })) })
  const ours = JSON.parse(a.endTransactionJSON(build50(a), 100))
  const theirs = b.endTransaction(build50(b), 100)
  if (strip(ours) !== strip(theirs)) throw new Error('SegmentStore and ReferenceStore disagree on the same transaction')

  measure(SegmentStore) // warm-up
  measure(ReferenceStore)
  const ours2 = measure(SegmentStore)
  const ref = measure(ReferenceStore)
  const rows = [
    ['segment: start + attribute + end', 'segment', 'ns'],
    ['isActive', 'isActive', 'ns'],
    ['50-segment transaction: build', 'build50', 'ns'],
    ['50-segment transaction: end -> object', 'toObject', 'ns'],
    ['50-segment transaction: end -> JSON', 'toJSON', 'ns']
  ].map(([label, key, unit]) => {
    const o = median(ours2[key])
    const r = median(ref[key])
    return { label, unit, ours: o, oursSpread: spread(ours2[key]), reference: r, referenceSpread: spread(ref[key]), ratio: o / r }
  })
  return { node: process.version, rounds: ROUNDS, rows }
}

function print (result) {
  console.log(`\nSegment store, Node ${result.node}, ${result.rounds} rounds, medians (10th-90th percentile)`)
  console.log('| operation | SegmentStore | plain-JS reference | ours / reference |')
  console.log('|---|---|---|---|')
  const f = (v) => (v >= 1000 ? `${(v / 1000).toFixed(2)} µs` : `${v.toFixed(1)} ns`)
  for (const r of result.rows) {
    console.log(`| ${r.label} | ${f(r.ours)} (${f(r.oursSpread[0])}-${f(r.oursSpread[1])}) | ${f(r.reference)} (${f(r.referenceSpread[0])}-${f(r.referenceSpread[1])}) | ${r.ratio.toFixed(2)} |`)
  }
}

if (require.main === module) {
  const result = main()
  if (process.argv.includes('--json')) console.log(JSON.stringify(result))
  else print(result)
}

module.exports = { main, print }
