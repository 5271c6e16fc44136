'use strict'

// The model of the SegmentStore that the model-based tests drive
// (store-model.test.js with a seeded PRNG, store-property.test.js with
// fast-check): the store as plain JS, written from the documented behaviour
// (lib/store/segment-store.d.ts), not from lib/store/*.js, and compareTrace,
// which checks a finished trace from the real store against the trace the
// model expects, in full.
//
// A test calls the model beside the store: it starts a segment in the store,
// asks the model what should have happened (startSegmentOutcome), and tells
// the model the handle the store gave. The model asserts what it can check
// on its own (handles in range, never issued twice).

const assert = require('node:assert/strict')
const { performance } = require('node:perf_hooks')
const { MAX_HANDLE, HEX16, HEX32, refCut, unionLength, toMicros } = require('./store-util')

const ZERO16 = '0'.repeat(16)
const ZERO32 = '0'.repeat(32)

class StoreModel {
  /**
   * @param {object} opts the store's options (absent ones take the defaults)
   * @param {object} [tuning]
   * @param {number} [tuning.staleLimit] stale handles kept for picking; past
   *   it, the oldest half is forgotten (default 4000)
   */
  constructor (opts, { staleLimit = 4000 } = {}) {
    this.maxS = opts.maxSegmentsPerTransaction ?? 900
    this.maxA = opts.maxAttributesPerSegment ?? 64
    this.maxV = opts.maxAttributeValueLength ?? 255
    this.staleLimit = staleLimit
    this.now = 1000 // the model's clock, for tests that keep time in the model
    this.recs = new Map() // handle -> { root, parent, name, start, end (NaN while open), attrs: Map, spanId }
    this.txns = new Map() // root -> { handles: [] in creation order, dropped, traceId }
    this.live = [] // live handles, for random picks
    this.pos = new Map() // handle -> its index in `live`
    this.stale = [] // handles of ended transactions, oldest first
    this.issued = new Set()
    this.hot = null // the newest transaction
    this.totals = { totalTransactions: 0, totalSegments: 0, droppedSegments: 0 }
  }

  /** `now` plus `off` half-milliseconds, never below 0. */
  time (off) {
    return Math.max(0, this.now + off / 2)
  }

  _add (h, rec) {
    assert.ok(Number.isInteger(h) && h >= 0 && h <= MAX_HANDLE, `handle ${h} is an integer in 0..2^30-1`)
    assert.ok(!this.issued.has(h), `handle ${h} was issued before`)
    this.issued.add(h)
    this.recs.set(h, rec)
    this.pos.set(h, this.live.length)
    this.live.push(h)
    this.totals.totalSegments++
  }

  /** The store started a transaction named `name` at `t` and gave root handle `h`. */
  startTransaction (h, name, t) {
    this._add(h, { root: h, parent: null, name: refCut(name, this.maxV), start: t, end: NaN, attrs: new Map(), spanId: undefined })
    this.txns.set(h, { handles: [h], dropped: 0, traceId: undefined })
    this.totals.totalTransactions++
    this.hot = h
  }

  /**
   * What startSegment under `parent` should give: 'null' (no parent, or not
   * active), 'drop' (its transaction is at maxSegmentsPerTransaction; call
   * `drop(parent)`) or 'new' (call `startSegment` with the handle).
   */
  startSegmentOutcome (parent) {
    const p = parent === null ? undefined : this.recs.get(parent)
    if (p === undefined) return 'null'
    return this.txns.get(p.root).handles.length >= this.maxS ? 'drop' : 'new'
  }

  /** A segment under `parent` was refused at the limit. */
  drop (parent) {
    this.txns.get(this.recs.get(parent).root).dropped++
    this.totals.droppedSegments++
  }

  /** The store started a segment under live `parent` and gave handle `h`. */
  startSegment (h, parent, name, t) {
    const root = this.recs.get(parent).root
    this._add(h, { root, parent, name: refCut(name, this.maxV), start: t, end: NaN, attrs: new Map(), spanId: undefined })
    this.txns.get(root).handles.push(h)
  }

  endSegment (h, t) {
    const r = h === null ? undefined : this.recs.get(h)
    if (r !== undefined && Number.isNaN(r.end)) r.end = Math.max(t, r.start)
  }

  setAttribute (h, key, value) {
    const r = h === null ? undefined : this.recs.get(h)
    if (r === undefined) return
    key = refCut(key, this.maxV)
    if (typeof value === 'string') value = refCut(value, this.maxV)
    if (r.attrs.has(key) || r.attrs.size < this.maxA) r.attrs.set(key, value)
  }

  /**
   * Ends the transaction of live handle `h` at `endTime`: the expected trace
   * (for compareTrace), with handles in place of ids and the ids handed out
   * early (traceIdOf/spanIdOf, recorded by the test) where there were any.
   */
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
        start: toMicros(r.start - t0),
        duration: toMicros(c.end - c.start),
        exclusive: toMicros(Math.max(0, (c.end - c.start) - unionLength(spans))),
        attributes,
        truncated: c.truncated,
        spanId: r.spanId
      }
    })
    const expected = {
      traceId: txn.traceId,
      name: this.recs.get(root).name,
      startTime: performance.timeOrigin + t0,
      duration: toMicros(closed.get(root).end - t0),
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
    if (this.stale.length > this.staleLimit) this.stale.splice(0, this.staleLimit / 2)
    this.txns.delete(root)
    return expected
  }

  /** The expected leakReport at `now`, handles and ages. */
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

/**
 * Checks a finished trace from the store (`got`: the object, or the JSON
 * string when `how` is 'json') against `expected` from
 * StoreModel#endTransaction: its shape, the id formats, every id new in
 * `seen` (a Set over the whole run), the ids handed out early, the header,
 * and every row in order (parent link, name, times, truncation, attributes
 * in order on a plain object).
 */
function compareTrace (got, expected, { how, seen, where = how }) {
  if (how === 'bytes') assert.ok(Buffer.isBuffer(got), `${where}: a Buffer`)
  const t = how === 'json' ? JSON.parse(got) : how === 'bytes' ? JSON.parse(got.toString('utf8')) : got
  assert.equal(typeof t, 'object', `${where}: a trace`)
  assert.deepEqual(Object.keys(t).sort(), ['droppedSegments', 'duration', 'name', 'segmentCount', 'segments', 'startTime', 'traceId'], `${where}: trace keys`)
  assert.match(t.traceId, HEX32)
  assert.notEqual(t.traceId, ZERO32)
  if (expected.traceId !== undefined) assert.equal(t.traceId, expected.traceId, `${where}: the trace id given by traceIdOf`)
  assert.ok(!seen.has(t.traceId), `${where}: trace id ${t.traceId} repeated`)
  seen.add(t.traceId)
  const head = { name: t.name, startTime: t.startTime, duration: t.duration, segmentCount: t.segmentCount, droppedSegments: t.droppedSegments }
  assert.deepEqual(head, {
    name: expected.name,
    startTime: expected.startTime,
    duration: expected.duration,
    segmentCount: expected.segmentCount,
    droppedSegments: expected.droppedSegments
  }, `${where}: trace header`)
  assert.equal(t.segments.length, expected.rows.length, `${where}: segment rows`)
  assert.equal(t.segmentCount, t.segments.length, `${where}: segmentCount is the number of rows`)
  const idOf = new Map()
  const ids = new Set()
  t.segments.forEach((s, k) => {
    const row = expected.rows[k]
    assert.deepEqual(Object.keys(s).sort(), ['attributes', 'duration', 'exclusive', 'id', 'name', 'parentId', 'start', 'truncated'], `${where}: row ${k} keys`)
    assert.match(s.id, HEX16)
    assert.notEqual(s.id, ZERO16)
    if (row.spanId !== undefined) assert.equal(s.id, row.spanId, `${where}: row ${k} keeps the id spanIdOf gave`)
    assert.ok(!seen.has(s.id), `${where}: segment id ${s.id} repeated`)
    seen.add(s.id)
    ids.add(s.id)
    idOf.set(row.handle, s.id)
  })
  t.segments.forEach((s, k) => {
    const row = expected.rows[k]
    const at = `${where}: row ${k} (handle ${row.handle})`
    if (k === 0) assert.equal(s.parentId, null, `${at}: the root comes first and has no parent`)
    else assert.ok(ids.has(s.parentId) && s.parentId !== s.id, `${at}: parentId ${s.parentId} names another segment of the trace`)
    assert.equal(s.parentId, row.parent === null ? null : idOf.get(row.parent), `${at}: parentId`)
    assert.deepEqual(
      [s.name, s.start, s.duration, s.exclusive, s.truncated],
      [row.name, row.start, row.duration, row.exclusive, row.truncated],
      `${at}: [name, start, duration, exclusive, truncated]`)
    assert.equal(Object.getPrototypeOf(s.attributes), Object.prototype, `${at}: attributes is a plain object`)
    assert.deepEqual(Object.entries(s.attributes), Object.entries(row.attributes), `${at}: attributes, in order`)
  })
}

module.exports = { StoreModel, compareTrace }
