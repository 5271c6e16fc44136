'use strict'

// Model-checked store, driven by fast-check. Random command sequences
// (startTransaction, startSegment, bulk starts, endSegment, setAttribute,
// endTransaction / endTransactionJSON, isActive, look-ups, early ids,
// leakReport, stats, verify, clock ticks) over many interleaved transactions
// run against a real SegmentStore and against the small plain-JS model below;
// every answer is compared, every finished trace in full (names, parent
// links, start, duration, exclusive, truncated, attributes in order, ids
// handed out early). Times are explicit multiples of 0.5 ms, so every
// expected time is exact. A failure shrinks to a short command list.
//
// At least 100,000 store operations per run of this file; set
// SEGMENT_CONTEXT_LONG=1 for 20 times as many (see helpers/long.js), and
// SEGMENT_CONTEXT_SEED to replay a seed that fast-check printed.

const test = require('node:test')
const assert = require('node:assert/strict')
const fc = require('fast-check')
const { performance } = require('node:perf_hooks')
const { SegmentStore } = require('../..')
const { fcParams, factor } = require('../helpers/long')

const MAX_HANDLE = 2 ** 30 - 1
const HEX16 = /^[0-9a-f]{16}$/
const HEX32 = /^[0-9a-f]{32}$/
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

// ---------------------------------------------------------------------------
// The model: the store as plain JS, written from the README, not from
// lib/store.js.

/** The longest prefix of whole code points of `s` within `max` UTF-8 bytes (a lone surrogate is 3). */
function cut (s, max) {
  let bytes = 0
  let end = 0
  for (const ch of s) {
    const cp = ch.codePointAt(0)
    const w = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4
    if (bytes + w > max) break
    bytes += w
    end += ch.length
  }
  return s.slice(0, end)
}

/** Length of the union of intervals [a, b). */
function union (spans) {
  spans.sort((x, y) => x[0] - y[0])
  let total = 0
  let a = -Infinity
  let b = -Infinity
  for (const [x, y] of spans) {
    if (x > b) {
      if (b > a) total += b - a
      a = x
      b = y
    } else if (y > b) {
      b = y
    }
  }
  if (b > a) total += b - a
  return total
}

class Model {
  constructor (opts) {
    this.maxS = opts.maxSegmentsPerTransaction ?? 900
    this.maxA = opts.maxAttributesPerSegment ?? 64
    this.maxV = opts.maxAttributeValueLength ?? 255
    this.now = 1000
    this.recs = new Map() // handle -> { root, parent, order, name, start, end, attrs: Map, spanId }
    this.txns = new Map() // root -> { handles: [], dropped, traceId }
    this.live = [] // live handles, for picking
    this.pos = new Map()
    this.stale = []
    this.issued = new Set()
    this.hot = null // the newest transaction
    this.totals = { totalTransactions: 0, totalSegments: 0, droppedSegments: 0 }
  }

  time (off) {
    return Math.max(0, this.now + off / 2)
  }

  add (h, rec) {
    assert.ok(Number.isInteger(h) && h >= 0 && h <= MAX_HANDLE, `handle ${h} is an integer in 0..2^30-1`)
    assert.ok(!this.issued.has(h), `handle ${h} issued twice`)
    this.issued.add(h)
    this.recs.set(h, rec)
    this.pos.set(h, this.live.length)
    this.live.push(h)
    this.totals.totalSegments++
  }

  startTransaction (h, name, t) {
    this.add(h, { root: h, parent: null, name: cut(name, this.maxV), start: t, end: NaN, attrs: new Map(), spanId: undefined })
    this.txns.set(h, { handles: [h], dropped: 0, traceId: undefined })
    this.totals.totalTransactions++
    this.hot = h
  }

  /** 'null' (inactive parent), 'drop' (at the limit) or 'new'. */
  outcome (parent) {
    const p = parent === null ? undefined : this.recs.get(parent)
    if (p === undefined) return 'null'
    const txn = this.txns.get(p.root)
    if (txn.handles.length >= this.maxS) {
      txn.dropped++
      this.totals.droppedSegments++
      return 'drop'
    }
    return 'new'
  }

  startSegment (h, parent, name, t) {
    const root = this.recs.get(parent).root
    this.add(h, { root, parent, name: cut(name, this.maxV), start: t, end: NaN, attrs: new Map(), spanId: undefined })
    this.txns.get(root).handles.push(h)
  }

  endSegment (h, t) {
    const r = h === null ? undefined : this.recs.get(h)
    if (r !== undefined && Number.isNaN(r.end)) r.end = Math.max(t, r.start)
  }

  setAttribute (h, key, value) {
    const r = h === null ? undefined : this.recs.get(h)
    if (r === undefined) return
    key = cut(key, this.maxV)
    if (typeof value === 'string') value = cut(value, this.maxV)
    if (r.attrs.has(key) || r.attrs.size < this.maxA) r.attrs.set(key, value)
  }

  /** Ends the live transaction of `h`; the expected trace, with handles in place of ids. */
  endTransaction (h, endTime) {
    const root = this.recs.get(h).root
    const txn = this.txns.get(root)
    const hs = txn.handles
    const closed = new Map()
    for (const x of hs) {
      const r = this.recs.get(x)
      const open = Number.isNaN(r.end)
      closed.set(x, { start: r.start, end: open ? Math.max(endTime, r.start) : r.end, truncated: open && x !== root })
    }
    const children = new Map(hs.map((x) => [x, []]))
    for (const x of hs) if (x !== root) children.get(this.recs.get(x).parent).push(x)
    const order = hs.map((x, i) => [x, i]).slice(1)
    order.sort((a, b) => (this.recs.get(a[0]).start - this.recs.get(b[0]).start) || (a[1] - b[1]))
    const t0 = this.recs.get(root).start
    const rows = [root, ...order.map((o) => o[0])].map((x) => {
      const r = this.recs.get(x)
      const c = closed.get(x)
      const spans = []
      for (const k of children.get(x)) {
        const a = Math.max(closed.get(k).start, c.start)
        const b = Math.min(closed.get(k).end, c.end)
        if (b > a) spans.push([a, b])
      }
      const attributes = {}
      for (const [k, v] of r.attrs) {
        if (k === '__proto__') Object.defineProperty(attributes, k, { value: v, enumerable: true, writable: true, configurable: true })
        else attributes[k] = v
      }
      return {
        handle: x,
        parent: r.parent,
        name: r.name,
        start: r.start - t0,
        duration: c.end - c.start,
        exclusive: Math.max(0, (c.end - c.start) - union(spans)),
        attributes,
        truncated: c.truncated,
        spanId: r.spanId
      }
    })
    const expected = {
      traceId: txn.traceId,
      name: this.recs.get(root).name,
      startTime: performance.timeOrigin + t0,
      duration: closed.get(root).end - t0,
      segmentCount: hs.length,
      droppedSegments: txn.dropped,
      rows
    }
    for (const x of hs) {
      this.recs.delete(x)
      const at = this.pos.get(x)
      const last = this.live.pop()
      if (last !== x) {
        this.live[at] = last
        this.pos.set(last, at)
      }
      this.pos.delete(x)
      this.stale.push(x)
    }
    if (this.stale.length > 4000) this.stale.splice(0, 2000)
    this.txns.delete(root)
    return expected
  }

  /** The expected leakReport, handles and ages. */
  leaks (now, segMs, txnMs, limit) {
    const found = []
    for (const [h, r] of this.recs) {
      const age = now - r.start
      if (h === r.root ? age > txnMs : age > segMs && Number.isNaN(r.end)) found.push({ h, r, start: r.start })
    }
    found.sort((a, b) => (a.start - b.start) || (a.h - b.h))
    const transactions = []
    const segments = []
    for (const { h, r } of found.slice(0, limit)) {
      if (h === r.root) {
        transactions.push({ handle: h, name: r.name, ageMs: now - r.start, segments: this.txns.get(h).handles.length })
      } else {
        segments.push({ handle: h, name: r.name, transaction: r.root, transactionName: this.recs.get(r.root).name, ageMs: now - r.start })
      }
    }
    return { now, transactions, segments }
  }
}

// ---------------------------------------------------------------------------
// Comparing a finished trace with the model's.

let seenIds = new Set()

function compareTrace (got, expected, how) {
  const t = how === 'json' ? JSON.parse(got) : got
  assert.equal(typeof t, 'object', `${how}: a trace`)
  assert.deepEqual(Object.keys(t).sort(), ['droppedSegments', 'duration', 'name', 'segmentCount', 'segments', 'startTime', 'traceId'])
  assert.match(t.traceId, HEX32)
  assert.notEqual(t.traceId, ZERO32)
  if (expected.traceId !== undefined) assert.equal(t.traceId, expected.traceId, `${how}: the trace id given by traceIdOf`)
  assert.ok(!seenIds.has(t.traceId), `trace id ${t.traceId} repeated`)
  seenIds.add(t.traceId)
  const head = { name: t.name, startTime: t.startTime, duration: t.duration, segmentCount: t.segmentCount, droppedSegments: t.droppedSegments }
  assert.deepEqual(head, {
    name: expected.name,
    startTime: expected.startTime,
    duration: expected.duration,
    segmentCount: expected.segmentCount,
    droppedSegments: expected.droppedSegments
  }, `${how}: trace header`)
  assert.equal(t.segments.length, expected.rows.length, `${how}: segment rows`)
  const idOf = new Map()
  t.segments.forEach((s, k) => {
    const row = expected.rows[k]
    assert.deepEqual(Object.keys(s).sort(), ['attributes', 'duration', 'exclusive', 'id', 'name', 'parentId', 'start', 'truncated'])
    assert.match(s.id, HEX16)
    assert.notEqual(s.id, ZERO16)
    if (row.spanId !== undefined) assert.equal(s.id, row.spanId, `${how}: row ${k} keeps the id spanIdOf gave`)
    assert.ok(!seenIds.has(s.id), `segment id ${s.id} repeated`)
    seenIds.add(s.id)
    idOf.set(row.handle, s.id)
  })
  t.segments.forEach((s, k) => {
    const row = expected.rows[k]
    const where = `${how}: row ${k} (handle ${row.handle})`
    assert.equal(s.parentId, row.parent === null ? null : idOf.get(row.parent), `${where}: parentId`)
    assert.deepEqual(
      [s.name, s.start, s.duration, s.exclusive, s.truncated],
      [row.name, row.start, row.duration, row.exclusive, row.truncated],
      `${where}: [name, start, duration, exclusive, truncated]`)
    assert.equal(Object.getPrototypeOf(s.attributes), Object.prototype, `${where}: attributes is a plain object`)
    assert.deepEqual(Object.entries(s.attributes), Object.entries(row.attributes), `${where}: attributes, in order`)
  })
}

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
  const got = how === 'json' ? r.store.endTransactionJSON(h, t) : r.store.endTransaction(h, t)
  if (h !== null && m.recs.has(h)) {
    const expected = m.endTransaction(h, t)
    assert.notEqual(got, null, `end (${how}) of live ${h}`)
    compareTrace(got, expected, how)
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
  assert.ok(capacity >= 2 * m.recs.size, `capacity ${capacity} holds ${m.recs.size} live segments at load 1/2`)
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
    const outcome = m.outcome(parent)
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
      const outcome = m.outcome(parent)
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
    if (cut(KEYS[k], m.maxV) === '') {
      // A key that is empty once cut is refused, whatever the handle.
      assert.throws(() => r.store.setAttribute(h, KEYS[k], value), RangeError)
      return `${h}: key cut to ''`
    }
    assert.equal(r.store.setAttribute(h, KEYS[k], value), undefined)
    m.setAttribute(h, KEYS[k], value)
    return `${h}`
  })],
  [3, cmd('endTransaction', fc.tuple(refArb, offArb, fc.boolean()), (m, r, [ref, off, json]) => {
    const h = resolve(ref, m, r)
    endOne(m, r, h, m.time(off), json ? 'json' : 'object')
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
    model = new Model(opts)
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
