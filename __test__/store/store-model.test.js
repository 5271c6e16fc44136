'use strict'

// Model-based test: a plain-JS model of the store and a seeded PRNG drive
// random operations over many interleaved transactions, with explicit times.
// Every answer of the store is compared with the model's, every finished
// trace with the trace the model computes, and every 1000 operations
// verify() must be empty and stats() must match the model.

const test = require('node:test')
const assert = require('node:assert/strict')
const { SegmentStore } = require('../..')
const {
  MAX_HANDLE,
  xorshift32,
  refCut,
  normalize,
  expectedTrace,
  isHandleValue
} = require('../helpers/store-util')

const NAMES = [
  'a', 'b', 'GET /users/:id', 'db.query', '', 'x"y', 'back\\slash', 'tab\tnl\n',
  'éééééééééé', // 20 bytes
  '😀😀😀😀😀', // 20 bytes, pairs
  'abcdefghijklmnopqrstuvwxyz',
  '\ud800\ud800\ud800\ud800\ud800', // lone surrogates, 3 bytes each
  'a\udc00b',
  '€€€€€€€'
]
const KEYS = [
  'a', 'b', 'c', 'd', 'e', 'f', '__proto__', 'constructor', 'toString',
  'long key value 1234', 'long key value 5678', // the same after a 12-byte cut
  'é€😀x', '\ud800k'
]
const STRINGS = ['', 'v', 'value with "quotes"', 'ü'.repeat(20), '😀'.repeat(10), 'z\udfff', '\u0000\u001f']
const NUMBERS = [0, -0, 1, -1, 0.5, 1e-7, 123456789, -2.25, Number.MAX_VALUE, Number.MIN_VALUE, 1e21]

/** The store, as plain JS. */
class Model {
  constructor (opts) {
    this.maxS = opts.maxSegmentsPerTransaction ?? 900
    this.maxA = opts.maxAttributesPerSegment ?? 64
    this.maxV = opts.maxAttributeValueLength ?? 255
    this.recs = new Map() // handle -> { root, parent, index, name, start, end, attrs }
    this.txns = new Map() // root -> { handles: [], dropped }
    this.live = [] // live handles, for random picks
    this.livePos = new Map()
    this.stale = []
    this.issued = new Set()
    this.totalTransactions = 0
    this.totalSegments = 0
    this.dropped = 0
  }

  _add (h, rec) {
    assert.ok(isHandleValue(h), `handle ${h} is an integer in 0..2^30-1`)
    assert.ok(!this.issued.has(h), `handle ${h} was issued before`)
    this.issued.add(h)
    this.recs.set(h, rec)
    this.livePos.set(h, this.live.length)
    this.live.push(h)
    this.totalSegments++
  }

  startTransaction (h, name, time) {
    this._add(h, { root: h, parent: null, index: 0, name: refCut(name, this.maxV), start: time, end: NaN, attrs: new Map() })
    this.txns.set(h, { handles: [h], dropped: 0 })
    this.totalTransactions++
  }

  /** What startSegment should give: 'null', 'drop' or 'new'. */
  startSegmentOutcome (parent) {
    if (parent === null || !this.recs.has(parent)) return 'null'
    const txn = this.txns.get(this.recs.get(parent).root)
    return txn.handles.length >= this.maxS ? 'drop' : 'new'
  }

  drop (parent) {
    this.txns.get(this.recs.get(parent).root).dropped++
    this.dropped++
  }

  startSegment (h, parent, name, time) {
    const p = this.recs.get(parent)
    const txn = this.txns.get(p.root)
    this._add(h, { root: p.root, parent, index: txn.handles.length, name: refCut(name, this.maxV), start: time, end: NaN, attrs: new Map() })
    txn.handles.push(h)
  }

  endSegment (h, time) {
    const r = this.recs.get(h)
    if (r && Number.isNaN(r.end)) r.end = time < r.start ? r.start : time
  }

  setAttribute (h, key, value) {
    const r = this.recs.get(h)
    if (!r) return
    key = refCut(key, this.maxV)
    if (typeof value === 'string') value = refCut(value, this.maxV)
    if (r.attrs.has(key) || r.attrs.size < this.maxA) r.attrs.set(key, value)
  }

  /** Ends the transaction of live handle h; returns the expected trace. */
  endTransaction (h, time) {
    const root = this.recs.get(h).root
    const txn = this.txns.get(root)
    const segs = txn.handles.map((x) => {
      const r = this.recs.get(x)
      return {
        parent: r.parent === null ? null : this.recs.get(r.parent).index,
        name: r.name,
        start: r.start,
        end: r.end,
        attrs: r.attrs
      }
    })
    const expected = expectedTrace(segs, time, txn.dropped)
    for (const x of txn.handles) {
      this.recs.delete(x)
      const pos = this.livePos.get(x)
      const last = this.live.pop()
      if (last !== x) {
        this.live[pos] = last
        this.livePos.set(last, pos)
      }
      this.livePos.delete(x)
      this.stale.push(x)
    }
    this.txns.delete(root)
    if (this.stale.length > 20000) this.stale.splice(0, 10000)
    return expected
  }
}

function describeValue (v) {
  if (typeof v === 'string') return JSON.stringify(v.length > 30 ? v.slice(0, 30) + '…' : v)
  if (typeof v === 'symbol' || typeof v === 'bigint' || typeof v === 'function') return typeof v
  if (Object.is(v, -0)) return '-0'
  if (v !== null && typeof v === 'object') return Array.isArray(v) ? '[]' : '{}'
  return String(v)
}

function run (seed, ops, opts) {
  const rng = xorshift32(seed)
  const s = new SegmentStore(opts)
  const m = new Model(opts)
  const seenIds = new Set()
  const log = []
  let now = 1000
  let traces = 0
  let drops = 0
  let grewTo = 1024
  let hot = null // the newest transaction: a fifth of the picks go to it
  let maxLive = 0

  const time = () => {
    const r = rng.int(10)
    if (r < 6) return now
    if (r < 8) return now - rng.int(60) // earlier: out of order, before parents, ends before starts
    if (r < 9) return now + rng.int(30)
    return now + 0.5
  }
  /** A handle: mostly live, else stale, forged or null. */
  const handle = () => {
    const r = rng.int(100)
    if (r < 20 && m.txns.has(hot)) return rng.pick(m.txns.get(hot).handles) // fills one transaction up
    if (r < 72 && m.live.length) return rng.pick(m.live)
    if (r < 84 && m.stale.length) return rng.pick(m.stale)
    if (r < 94) {
      const base = m.live.length ? rng.pick(m.live) : rng() & MAX_HANDLE
      switch (rng.int(6)) {
        case 0: return (base + 1) & MAX_HANDLE // the next counter value: reserved or free
        case 1: return (base - 1) & MAX_HANDLE
        case 2: return (base ^ 1024) & MAX_HANDLE // same slot at capacity 1024
        case 3: return (base + (1 << 20)) & MAX_HANDLE
        case 4: return rng() & MAX_HANDLE
        default: return base
      }
    }
    return null
  }
  const note = (text) => {
    log.push(`#${log.length}: ${text}`)
    if (log.length > 40) log.splice(0, log.length - 30)
  }

  const compareTrace = (got, expected, how, where) => {
    const t = how === 'json' ? JSON.parse(got) : got
    assert.deepEqual(normalize(t, seenIds), expected, `${where}: trace (${how})`)
    traces++
  }

  const endOne = (h, t, where) => {
    const how = rng.chance(0.5) ? 'json' : 'object'
    const got = how === 'json' ? s.endTransactionJSON(h, t) : s.endTransaction(h, t)
    if (m.recs.has(h)) {
      const expected = m.endTransaction(h, t)
      assert.notEqual(got, null, `${where}: ${how} end of a live transaction`)
      compareTrace(got, expected, how, where)
    } else {
      assert.equal(got, null, `${where}: ${how} end of an inactive handle`)
    }
  }

  const checkStats = (where) => {
    assert.deepEqual(s.verify(), [], `${where}: verify()`)
    const st = s.stats()
    const { capacity, ...rest } = st
    assert.deepEqual(rest, {
      liveTransactions: m.txns.size,
      liveSegments: m.recs.size,
      totalTransactions: m.totalTransactions,
      totalSegments: m.totalSegments,
      droppedSegments: m.dropped
    }, `${where}: stats()`)
    assert.ok(capacity >= 1024 && Math.log2(capacity) % 1 === 0, `${where}: capacity ${capacity}`)
    assert.ok(capacity >= 2 * m.recs.size, `${where}: capacity ${capacity} holds ${m.recs.size} at load 1/2`)
    grewTo = Math.max(grewTo, capacity)
  }

  try {
    for (let i = 0; i < ops; i++) {
      const where = `seed ${seed}, op ${i}`
      now += rng.int(3)
      const live = m.txns.size
      // Phases of 5000 operations: in a filling phase transactions are rarely
      // ended, so hundreds of segments are live (the table grows); in a
      // draining phase they are ended often.
      const filling = Math.floor(i / 5000) % 2 === 0
      let r = rng.int(100)
      if (live === 0) r = 0
      else if (live > 150 && r < 6) r = 70 // end one instead of starting another
      else if (filling && r >= 68 && r < 73 && rng.chance(0.8)) r = 20 // a segment instead of an end
      else if (!filling && r < 6 && rng.chance(0.6)) r = 70 // an end instead of a start
      if (r < 6) {
        const name = rng.pick(NAMES)
        const t = now
        const h = s.startTransaction(name, t)
        note(`startTransaction(${describeValue(name)}, ${t}) -> ${h}`)
        m.startTransaction(h, name, t)
        assert.equal(s.isActive(h), true)
        hot = h
      } else if (r < 36) {
        const parent = handle()
        const name = rng.pick(NAMES)
        const t = time()
        const outcome = m.startSegmentOutcome(parent)
        const h = s.startSegment(parent, name, t)
        note(`startSegment(${parent}, ${describeValue(name)}, ${t}) -> ${h} [model: ${outcome}]`)
        if (outcome === 'new') {
          assert.notEqual(h, null, `${where}: startSegment under a live parent`)
          m.startSegment(h, parent, name, t)
          assert.equal(s.parentOf(h), parent)
        } else {
          assert.equal(h, null, `${where}: startSegment gives null (${outcome})`)
          if (outcome === 'drop') {
            m.drop(parent)
            drops++
          }
        }
      } else if (r < 50) {
        const h = handle()
        const t = time()
        note(`endSegment(${h}, ${t})`)
        assert.equal(s.endSegment(h, t), undefined)
        m.endSegment(h, t)
      } else if (r < 68) {
        const h = handle()
        const key = rng.pick(KEYS)
        const kind = rng.int(3)
        const value = kind === 0 ? rng.pick(STRINGS) : kind === 1 ? rng.pick(NUMBERS) : rng.chance(0.5)
        note(`setAttribute(${h}, ${describeValue(key)}, ${describeValue(value)})`)
        assert.equal(s.setAttribute(h, key, value), undefined)
        m.setAttribute(h, key, value)
      } else if (r < 73) {
        const h = rng.chance(0.9) && m.live.length ? rng.pick(m.live) : handle()
        const t = time()
        note(`end transaction of ${h} at ${t} (${m.recs.has(h) ? 'live' : 'inactive'})`)
        endOne(h, t, where)
      } else if (r < 82) {
        const k = rng.int(4)
        const v = k === 0 ? rng.pick(['1', {}, [], undefined, NaN, 1.5, -1, 2 ** 30, 2 ** 31, Infinity, true, 5n, Symbol('s')]) : handle()
        const want = typeof v === 'number' && m.recs.has(v)
        note(`isActive(${describeValue(v)}) [model: ${want}]`)
        assert.equal(s.isActive(v), want, `${where}: isActive(${describeValue(v)})`)
      } else {
        const h = handle()
        const rec = h === null ? undefined : m.recs.get(h)
        note(`look-ups of ${h} (${rec ? 'live' : 'inactive'})`)
        assert.equal(s.transactionOf(h), rec ? rec.root : null, `${where}: transactionOf(${h})`)
        assert.equal(s.parentOf(h), rec ? rec.parent : null, `${where}: parentOf(${h})`)
        assert.equal(s.nameOf(h), rec ? rec.name : null, `${where}: nameOf(${h})`)
      }
      maxLive = Math.max(maxLive, m.recs.size)
      if ((i + 1) % 1000 === 0) checkStats(where)
    }
    // End everything left, through random members, and compare.
    for (const root of [...m.txns.keys()]) {
      const hs = m.txns.get(root).handles
      endOne(rng.pick(hs), now + rng.int(10), `seed ${seed}, final`)
    }
    checkStats(`seed ${seed}, final`)
    assert.equal(s.stats().liveSegments, 0)
    for (const h of m.stale.slice(-2000)) assert.equal(s.isActive(h), false)
  } catch (e) {
    e.message += `\n  (seed ${seed}; last operations:\n    ${log.slice(-15).join('\n    ')})`
    throw e
  }
  return { traces, drops, grewTo, maxLive, issued: m.issued.size }
}

test('model: 50k random operations with small limits', () => {
  const r = run(0x5eed0001, 50000, { maxSegmentsPerTransaction: 30, maxAttributesPerSegment: 4, maxAttributeValueLength: 12 })
  // The run covered what it is meant to cover.
  assert.ok(r.traces > 1500, `${r.traces} traces compared`)
  assert.ok(r.drops > 100, `${r.drops} drops`)
  assert.ok(r.grewTo > 1024, `the table grew (to ${r.grewTo}) during the run`)
})

test('model: 50k random operations with the default limits', () => {
  const r = run(0x5eed0002, 50000, {})
  assert.ok(r.traces > 1500, `${r.traces} traces compared`)
  assert.ok(r.grewTo > 1024, `the table grew (to ${r.grewTo}) during the run`)
})

test('model: several short seeds', () => {
  for (let seed = 1; seed <= 6; seed++) {
    run(seed * 7919, 6000, { maxSegmentsPerTransaction: 1 + (seed % 5) * 4, maxAttributesPerSegment: seed % 3, maxAttributeValueLength: 1 + seed * 3 })
  }
})
