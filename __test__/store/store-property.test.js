'use strict'

// Model-checked store, driven by fast-check. Random command sequences
// (startTransaction, startSegment, bulk starts, endSegment, setAttribute,
// endTransaction / endTransactionJSON, isActive, look-ups, early ids,
// leakReport, stats, verify, clock ticks) over many interleaved transactions
// run against a real SegmentStore and against the plain-JS model of
// helpers/store-model.js (shared with store-model.test.js); every answer is
// compared, every finished trace in full (names, parent links, start,
// duration, exclusive, truncated, attributes in order, ids handed out early). Times are explicit multiples of 0.5 ms, so every
// expected time is exact. A failure shrinks to a short command list.
//
// At least 100,000 store operations per run of this file; set
// SEGMENT_CONTEXT_LONG=1 for 20 times as many (see helpers/long.js), and
// SEGMENT_CONTEXT_SEED to replay a seed that fast-check printed.

const test = require('node:test')
const assert = require('node:assert/strict')
const fc = require('fast-check')
const { SegmentStore } = require('../..')
const { fcParams, factor } = require('../helpers/long')
const { MAX_HANDLE, HEX16, HEX32, refCut } = require('../helpers/store-util')
const { StoreModel, compareTrace } = require('../helpers/store-model')

const ZERO16 = '0'.repeat(16)
const ZERO32 = '0'.repeat(32)

const NAMES = [
  'GET /users/:id', 'db', '', 'q"uote', 'back\\slash', 'nl\n\ttab', 'ééééé', '😀😀😀', '€€€€',
  '\ud800\ud800x', 'a\udc00', 'abcdefghijklmnopqrstuvwxyz0123456789'
]
const KEYS = [
  'a', 'b', 'c', 'd', 'e', '0', '12', '__proto__', 'constructor', 'toString', 'hasOwnProperty',
  'é€😀k', '\ud800k', 'a long key that is cut 1', 'a long key that is cut 2'
]
const STRINGS = ['', 'v', '"quoted"', 'ü'.repeat(12), '😀'.repeat(6), 'z\udfff', '\u0000\u001f', 'x'.repeat(300)]
const NUMBERS = [0, -0, 1, -1, 0.5, 1e-7, 123456789, -2.25, Number.MAX_VALUE, Number.MIN_VALUE, 1e21, 2 ** 53]
const WEIRD = ['1', {}, [], undefined, NaN, 1.5, -1, 2 ** 30, 2 ** 31, 2 ** 53, Infinity, -Infinity, true, 5n, Symbol('s'), () => 1, -0]

// Ids of every trace and segment of one property run (compareTrace checks
// each is new).
let seenIds = new Set()

// ---------------------------------------------------------------------------
// Commands. Handles are not known when a command is generated, so a command
// carries a reference (which list, which index) resolved when it runs.

let ops = 0

const refArb = fc.record({
  kind: fc.oneof(
    { arbitrary: fc.constant('live'), weight: 10 },
    { arbitrary: fc.constant('hot'), weight: 5 },
    { arbitrary: fc.constant('root'), weight: 2 },
    { arbitrary: fc.constant('stale'), weight: 2 },
    { arbitrary: fc.constant('foreign'), weight: 1 },
    { arbitrary: fc.constant('forged'), weight: 1 },
    { arbitrary: fc.constant('null'), weight: 1 }
  ),
  i: fc.nat(),
  d: fc.nat({ max: 5 })
})
const offArb = fc.oneof({ arbitrary: fc.integer({ min: -6, max: 6 }), weight: 9 }, { arbitrary: fc.constantFrom(-400, 60), weight: 1 })
const nameArb = fc.nat({ max: NAMES.length - 1 }).map((i) => NAMES[i])

function resolve (ref, m, r) {
  const { kind, i, d } = ref
  const pick = (list) => (list.length === 0 ? null : list[i % list.length])
  switch (kind) {
    case 'live': return pick(m.live)
    case 'hot': return m.txns.has(m.hot) ? pick(m.txns.get(m.hot).handles) : pick(m.live)
    case 'root': return pick([...m.txns.keys()])
    case 'stale': return pick(m.stale)
    case 'foreign': return pick(r.foreign)
    case 'forged': {
      const base = m.live.length ? pick(m.live) : i & MAX_HANDLE
      return [(base + 1), (base - 1), base ^ 1024, base + (1 << 20), i, base ^ (r.store.stats().capacity)][d] & MAX_HANDLE
    }
    default: return null
  }
}

const show = (v) => (typeof v === 'string' ? JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v) : typeof v === 'symbol' || typeof v === 'bigint' ? typeof v : String(v))

class Command {
  constructor (name, args, body) {
    this.name = name
    this.args = args
    this.body = body
    this.seen = ''
  }

  check () { return true }

  run (m, r) { this.seen = this.body(m, r, this.args) || '' }

  toString () { return `${this.name}(${JSON.stringify(this.args, (k, v) => (typeof v === 'bigint' ? String(v) : v))})${this.seen ? ' /* ' + this.seen + ' */' : ''}` }
}

const cmd = (name, arb, body) => arb.map((args) => new Command(name, args, body))

function endOne (m, r, h, t, how) {
  ops++
  const got = how === 'json' ? r.store.endTransactionJSON(h, t) : how === 'bytes' ? r.store.endTransactionJSONBytes(h, t) : r.store.endTransaction(h, t)
  if (h !== null && m.recs.has(h)) {
    const expected = m.endTransaction(h, t)
    assert.notEqual(got, null, `end (${how}) of live ${h}`)
    compareTrace(got, expected, { how, seen: seenIds })
    r.traces++
  } else {
    assert.equal(got, null, `end (${how}) of inactive ${h}`)
  }
}

function checkStats (m, r) {
  ops++
  const { capacity, ...rest } = r.store.stats()
  assert.deepEqual(rest, { liveTransactions: m.txns.size, liveSegments: m.recs.size, ...m.totals }, 'stats()')
  assert.ok(capacity >= 1024 && Number.isInteger(Math.log2(capacity)), `capacity ${capacity} is a power of two >= 1024`)
  assert.ok(8 * m.recs.size <= 7 * capacity, `capacity ${capacity} holds ${m.recs.size} live segments at load 7/8`)
  r.maxCapacity = Math.max(r.maxCapacity, capacity)
}

const COMMANDS = [
  [4, cmd('startTransaction', fc.tuple(nameArb, offArb), (m, r, [name, off]) => {
    const t = m.time(off)
    ops++
    const h = r.store.startTransaction(name, t)
    m.startTransaction(h, name, t)
    return `-> ${h}`
  })],
  [10, cmd('startSegment', fc.tuple(refArb, nameArb, offArb), (m, r, [ref, name, off]) => {
    const parent = resolve(ref, m, r)
    const t = m.time(off)
    const outcome = m.startSegmentOutcome(parent)
    if (outcome === 'drop') m.drop(parent)
    ops++
    const h = r.store.startSegment(parent, name, t)
    if (outcome === 'new') {
      assert.notEqual(h, null, `startSegment under live ${parent}`)
      m.startSegment(h, parent, name, t)
    } else {
      assert.equal(h, null, `startSegment under ${parent} (${outcome})`)
    }
    return `parent ${parent} -> ${h}`
  })],
  [1, cmd('startMany', fc.tuple(refArb, fc.integer({ min: 1, max: 300 }), fc.boolean(), nameArb, offArb), (m, r, [ref, n, deep, name, off]) => {
    let parent = resolve(ref, m, r)
    const first = parent
    for (let k = 0; k < n; k++) {
      const t = m.time(off + (k % 7) - 3)
      const outcome = m.startSegmentOutcome(parent)
      if (outcome === 'drop') m.drop(parent)
      ops++
      const h = r.store.startSegment(parent, name, t)
      if (outcome === 'new') {
        assert.notEqual(h, null, `startSegment under live ${parent}`)
        m.startSegment(h, parent, name, t)
        if (deep) parent = h
      } else {
        assert.equal(h, null, `startSegment under ${parent} (${outcome})`)
      }
    }
    return `under ${first}`
  })],
  [6, cmd('endSegment', fc.tuple(refArb, offArb), (m, r, [ref, off]) => {
    const h = resolve(ref, m, r)
    const t = m.time(off)
    ops++
    assert.equal(r.store.endSegment(h, t), undefined)
    m.endSegment(h, t)
    return `${h} at ${t}`
  })],
  [6, cmd('setAttribute', fc.tuple(refArb, fc.nat({ max: KEYS.length - 1 }), fc.oneof(
    fc.constantFrom(...STRINGS), fc.constantFrom(...NUMBERS), fc.boolean(), fc.string({ maxLength: 40, unit: 'binary' })
  )), (m, r, [ref, k, value]) => {
    const h = resolve(ref, m, r)
    ops++
    if (refCut(KEYS[k], m.maxV) === '') {
      // A key that is empty once cut is refused, whatever the handle.
      assert.throws(() => r.store.setAttribute(h, KEYS[k], value), RangeError)
      return `${h}: key cut to ''`
    }
    assert.equal(r.store.setAttribute(h, KEYS[k], value), undefined)
    m.setAttribute(h, KEYS[k], value)
    return `${h}`
  })],
  [3, cmd('endTransaction', fc.tuple(refArb, offArb, fc.constantFrom('object', 'json', 'bytes')), (m, r, [ref, off, how]) => {
    const h = resolve(ref, m, r)
    endOne(m, r, h, m.time(off), how)
    return `${h}`
  })],
  [3, cmd('isActive', fc.oneof(refArb, fc.nat({ max: WEIRD.length - 1 })), (m, r, ref) => {
    const v = typeof ref === 'number' ? WEIRD[ref] : resolve(ref, m, r)
    ops++
    assert.equal(r.store.isActive(v), typeof v === 'number' && m.recs.has(v), `isActive(${show(v)})`)
    return show(v)
  })],
  [3, cmd('lookups', refArb, (m, r, ref) => {
    const h = resolve(ref, m, r)
    const rec = h === null ? undefined : m.recs.get(h)
    ops += 3
    assert.equal(r.store.transactionOf(h), rec ? rec.root : null, `transactionOf(${h})`)
    assert.equal(r.store.parentOf(h), rec ? rec.parent : null, `parentOf(${h})`)
    assert.equal(r.store.nameOf(h), rec ? rec.name : null, `nameOf(${h})`)
    return `${h}`
  })],
  [2, cmd('ids', fc.tuple(refArb, fc.boolean()), (m, r, [ref, trace]) => {
    const h = resolve(ref, m, r)
    const rec = h === null ? undefined : m.recs.get(h)
    ops++
    if (trace) {
      const got = r.store.traceIdOf(h)
      if (rec === undefined) return assert.equal(got, null, `traceIdOf(${h})`)
      assert.match(got, HEX32)
      assert.notEqual(got, ZERO32)
      const txn = m.txns.get(rec.root)
      if (txn.traceId === undefined) txn.traceId = got
      assert.equal(got, txn.traceId, 'traceIdOf is stable')
    } else {
      const got = r.store.spanIdOf(h)
      if (rec === undefined) return assert.equal(got, null, `spanIdOf(${h})`)
      assert.match(got, HEX16)
      assert.notEqual(got, ZERO16)
      if (rec.spanId === undefined) rec.spanId = got
      assert.equal(got, rec.spanId, 'spanIdOf is stable')
    }
    return `${h}`
  })],
  [1, cmd('leakReport', fc.tuple(fc.nat({ max: 40 }), fc.nat({ max: 80 }), fc.integer({ min: 1, max: 30 })), (m, r, [segHalfMs, txnHalfMs, limit]) => {
    ops++
    const o = { segmentOlderThanMs: segHalfMs / 2, transactionOlderThanMs: txnHalfMs / 2, now: m.now, limit }
    assert.deepEqual(r.store.leakReport(o), m.leaks(m.now, o.segmentOlderThanMs, o.transactionOlderThanMs, limit), `leakReport(${JSON.stringify(o)})`)
  })],
  [1, cmd('stats', fc.constant(null), (m, r) => checkStats(m, r))],
  [1, cmd('verify', fc.constant(null), (m, r) => {
    ops++
    assert.deepEqual(r.store.verify(), [], 'verify()')
  })],
  [3, cmd('tick', fc.integer({ min: 1, max: 12 }), (m, r, half) => { m.now += half / 2 })]
]

const commandsArb = (maxCommands) => fc.commands(
  COMMANDS.flatMap(([weight, arb]) => new Array(weight).fill(arb)),
  { maxCommands, size: 'max' })

/** One property run: the commands, then every transaction left ended and compared, then a sound, empty store. */
function runOne (opts, cmds, stats) {
  const foreignStore = new SegmentStore()
  const fr = foreignStore.startTransaction('foreign', 0)
  const foreign = [fr, foreignStore.startSegment(fr, 'f', 0), foreignStore.startSegment(fr, 'g', 0)]
  const real = { store: new SegmentStore(opts), foreign, foreignStore, traces: 0, maxCapacity: 0 }
  let model
  seenIds = new Set()
  fc.modelRun(() => {
    model = new StoreModel(opts) // keeps up to 4000 stale handles
    return { model, real }
  }, cmds)
  let json = false
  for (const [root, txn] of [...model.txns]) {
    json = !json
    endOne(model, real, txn.handles[txn.handles.length - 1] ?? root, model.now + 1, json ? 'json' : 'object')
  }
  checkStats(model, real)
  assert.equal(real.store.stats().liveSegments, 0)
  assert.deepEqual(real.store.verify(), [], 'verify() at the end')
  for (const h of model.stale.slice(-500)) assert.equal(real.store.isActive(h), false, `stale ${h}`)
  assert.equal(foreignStore.isActive(fr), true, 'the other store is untouched')
  stats.traces += real.traces
  stats.maxCapacity = Math.max(stats.maxCapacity, real.maxCapacity)
  if (real.maxCapacity > 1024) stats.grown++
  stats.drops += real.store.stats().droppedSegments
  stats.runs++
}

test('store property: small limits (drops, cuts, attribute caps), many short runs', () => {
  const before = ops
  const stats = { traces: 0, maxCapacity: 0, drops: 0, runs: 0, grown: 0 }
  const optsArb = fc.record({
    maxSegmentsPerTransaction: fc.integer({ min: 1, max: 12 }),
    maxAttributesPerSegment: fc.integer({ min: 0, max: 4 }),
    maxAttributeValueLength: fc.integer({ min: 1, max: 16 })
  })
  fc.assert(fc.property(optsArb, commandsArb(400), (opts, cmds) => runOne(opts, cmds, stats)), fcParams(250))
  const done = ops - before
  console.log(`# small limits: ${stats.runs} runs, ${done} operations, ${stats.traces} traces compared, ${stats.drops} drops`)
  assert.ok(done >= 50000 * factor, `${done} operations`)
  assert.ok(stats.drops > 100, `${stats.drops} segments dropped at the limit`)
})

test('store property: default-like limits, long runs that grow the table', () => {
  const before = ops
  const stats = { traces: 0, maxCapacity: 0, drops: 0, runs: 0, grown: 0 }
  const optsArb = fc.record({
    maxSegmentsPerTransaction: fc.constantFrom(900, 300, 64),
    maxAttributesPerSegment: fc.constantFrom(64, 8),
    maxAttributeValueLength: fc.constantFrom(255, 40)
  }, { requiredKeys: [] })
  fc.assert(fc.property(optsArb, commandsArb(1500), (opts, cmds) => runOne(opts, cmds, stats)), fcParams(50))
  const done = ops - before
  console.log(`# default-like limits: ${stats.runs} runs, ${done} operations, ${stats.traces} traces compared, table grew to ${stats.maxCapacity} in ${stats.grown} runs`)
  assert.ok(done >= 50000 * factor, `${done} operations`)
  assert.ok(stats.maxCapacity >= 2048, `the table grew (to ${stats.maxCapacity}) in some run`)
})
