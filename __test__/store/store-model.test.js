'use strict'

// Model-based test: the plain-JS model of the store (helpers/store-model.js,
// shared with store-property.test.js) and a seeded PRNG drive random
// operations over many interleaved transactions, with explicit times.
// Every answer of the store is compared with the model's, every finished
// trace with the trace the model computes, and every 1000 operations
// verify() must be empty and stats() must match the model.

const test = require('node:test')
const assert = require('node:assert/strict')
const { SegmentStore } = require('../..')
const { MAX_HANDLE, xorshift32 } = require('../helpers/store-util')
const { StoreModel, compareTrace } = require('../helpers/store-model')

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
// Besides those, one name, key or string value in five is new (`u1`, `u2`,
// ...), so that the store's string table fills past its first limit and is
// collected many times over, its freed ids given to other strings.
const NEW_STRING = 0.2
const NUMBERS = [0, -0, 1, -1, 0.5, 1e-7, 123456789, -2.25, Number.MAX_VALUE, Number.MIN_VALUE, 1e21]

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
  // Stale handles are picked by the PRNG: keep up to 20,000 of them.
  const m = new StoreModel(opts, { staleLimit: 20000 })
  const seenIds = new Set()
  const log = []
  let now = 1000
  let traces = 0
  let drops = 0
  let grewTo = 1024
  let maxLive = 0
  let unique = 0
  const pick = (list) => rng.chance(NEW_STRING) ? `u${++unique}` : rng.pick(list)

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
    // A fifth of the picks go to the newest transaction: it fills up.
    if (r < 20 && m.txns.has(m.hot)) return rng.pick(m.txns.get(m.hot).handles)
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

  const endOne = (h, t, where) => {
    const how = rng.chance(0.5) ? 'json' : 'object'
    const got = how === 'json' ? s.endTransactionJSON(h, t) : s.endTransaction(h, t)
    if (m.recs.has(h)) {
      const expected = m.endTransaction(h, t)
      assert.notEqual(got, null, `${where}: ${how} end of a live transaction`)
      compareTrace(got, expected, { how, seen: seenIds, where: `${where}: trace (${how})` })
      traces++
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
      ...m.totals
    }, `${where}: stats()`)
    assert.ok(capacity >= 1024 && Math.log2(capacity) % 1 === 0, `${where}: capacity ${capacity}`)
    assert.ok(8 * m.recs.size <= 7 * capacity, `${where}: capacity ${capacity} holds ${m.recs.size} at load 7/8`)
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
        const name = pick(NAMES)
        const t = now
        const h = s.startTransaction(name, t)
        note(`startTransaction(${describeValue(name)}, ${t}) -> ${h}`)
        m.startTransaction(h, name, t) // the newest transaction: m.hot
        assert.equal(s.isActive(h), true)
      } else if (r < 36) {
        const parent = handle()
        const name = pick(NAMES)
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
        const key = pick(KEYS)
        const kind = rng.int(3)
        const value = kind === 0 ? pick(STRINGS) : kind === 1 ? rng.pick(NUMBERS) : rng.chance(0.5)
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
  return { traces, drops, grewTo, maxLive, issued: m.issued.size, unique, stringIds: s._strings.text.length }
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
  // Strings were collected and their ids reused: far fewer ids than strings.
  assert.ok(r.unique > 5000, `${r.unique} new strings`)
  assert.ok(r.stringIds < r.unique / 2, `${r.stringIds} string ids for ${r.unique} new strings`)
})

test('model: several short seeds', () => {
  for (let seed = 1; seed <= 6; seed++) {
    run(seed * 7919, 6000, { maxSegmentsPerTransaction: 1 + (seed % 5) * 4, maxAttributesPerSegment: seed % 3, maxAttributeValueLength: 1 + seed * 3 })
  }
})
