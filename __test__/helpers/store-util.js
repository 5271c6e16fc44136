'use strict'

// Shared helpers for the SegmentStore tests: a seeded PRNG, an independent
// UTF-8 cutter, a normaliser that turns a trace's random ids into positions,
// and a reference computation of a finished trace from plain records.

const assert = require('node:assert/strict')
const { performance } = require('node:perf_hooks')

const MAX_HANDLE = 2 ** 30 - 1
const HEX16 = /^[0-9a-f]{16}$/
const HEX32 = /^[0-9a-f]{32}$/

/** xorshift32; returns a function giving uint32 values. Seed must be non-zero. */
function xorshift32 (seed) {
  let x = seed >>> 0 || 0x9e3779b9
  const next = () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
  next.int = (n) => next() % n // 0..n-1
  next.pick = (arr) => arr[next() % arr.length]
  next.chance = (p) => next() / 4294967296 < p
  return next
}

/** UTF-8 width of one code point; a lone surrogate counts as U+FFFD (3). */
function cpWidth (cp) {
  if (cp < 0x80) return 1
  if (cp < 0x800) return 2
  if (cp < 0x10000) return 3
  return 4
}

/**
 * Reference cut: the longest prefix of `s`, made of whole code points, whose
 * UTF-8 encoding fits in `max` bytes. Written independently of lib/store.js.
 */
function refCut (s, max) {
  let bytes = 0
  let units = 0
  for (const ch of s) { // iterates code points; a lone surrogate alone
    const w = cpWidth(ch.codePointAt(0))
    if (bytes + w > max) break
    bytes += w
    units += ch.length
  }
  return s.slice(0, units)
}

/** UTF-8 byte length the way the cut counts it (lone surrogate = 3). */
function utf8Len (s) {
  return Buffer.byteLength(s, 'utf8')
}

/**
 * Checks the id format of a trace (object or parsed JSON form) and returns
 * it with ids replaced by positions: `parent` is the index of the parent row.
 * `seen`, if given, is a Set collecting every id, to check uniqueness across
 * traces.
 */
function normalize (trace, seen) {
  assert.equal(typeof trace, 'object')
  assert.deepEqual(Object.keys(trace).sort(), ['droppedSegments', 'duration', 'name', 'segmentCount', 'segments', 'startTime', 'traceId'])
  assert.match(trace.traceId, HEX32)
  assert.notEqual(trace.traceId, '0'.repeat(32))
  if (seen) {
    assert.ok(!seen.has(trace.traceId), `trace id ${trace.traceId} repeated`)
    seen.add(trace.traceId)
  }
  const index = new Map()
  trace.segments.forEach((s, k) => {
    assert.deepEqual(Object.keys(s).sort(), ['attributes', 'duration', 'exclusive', 'id', 'name', 'parentId', 'start', 'truncated'])
    assert.match(s.id, HEX16)
    assert.notEqual(s.id, '0'.repeat(16))
    assert.ok(!index.has(s.id), `segment id ${s.id} repeated within a trace`)
    index.set(s.id, k)
    if (seen) {
      assert.ok(!seen.has(s.id), `segment id ${s.id} repeated across traces`)
      seen.add(s.id)
    }
  })
  assert.equal(trace.segmentCount, trace.segments.length)
  const segments = trace.segments.map((s, k) => {
    let parent = null
    if (k === 0) {
      assert.equal(s.parentId, null, 'the root comes first and has no parent')
    } else {
      assert.match(s.parentId, HEX16)
      assert.ok(index.has(s.parentId), `parentId ${s.parentId} of row ${k} names no segment of the trace`)
      parent = index.get(s.parentId)
      assert.notEqual(parent, k)
    }
    assert.equal(Object.getPrototypeOf(s.attributes), Object.prototype, 'attributes is a plain object')
    return {
      parent,
      name: s.name,
      start: s.start,
      duration: s.duration,
      exclusive: s.exclusive,
      attributes: plainAttributes(s.attributes),
      truncated: s.truncated
    }
  })
  return {
    name: trace.name,
    startTime: trace.startTime,
    duration: trace.duration,
    segmentCount: trace.segmentCount,
    droppedSegments: trace.droppedSegments,
    segments
  }
}

/** Copies attributes into a null-prototype object (so '__proto__' is data). */
function plainAttributes (o) {
  const out = Object.create(null)
  for (const k of Object.keys(o)) out[k] = o[k]
  return entries(out)
}

/** A sorted [key, value] list: comparable with deepEqual whatever the key. */
function entries (o) {
  return Object.keys(o).sort().map((k) => [k, o[k]])
}

/** Length of the union of [a, b) intervals. */
function unionLength (spans) {
  if (spans.length === 0) return 0
  spans = spans.slice().sort((x, y) => x[0] - y[0])
  let total = 0
  let [a, b] = spans[0]
  for (let i = 1; i < spans.length; i++) {
    const [x, y] = spans[i]
    if (x > b) {
      total += b - a
      a = x
      b = y
    } else if (y > b) {
      b = y
    }
  }
  return total + (b - a)
}

/**
 * The expected normalized trace of a transaction.
 * `segs`: records in creation order, root first: { parent (index or null),
 * name, start, end (NaN while open), attrs (Map or [k, v] list) }.
 * `endTime`: the time the transaction is ended at. `dropped`: drop count.
 */
/**
 * A trace's offsets and durations as the store gives them: ms rounded to the
 * microsecond, ties up, +0 for zero; as they are where `v * 1000` is 2^53
 * or more in size (src/core/trace.rs `micros`). Written apart from it, with
 * Math.round.
 */
function toMicros (v) {
  const y = v * 1000
  return Math.abs(y) < 2 ** 53 ? Math.round(y) / 1000 + 0 : v
}

function expectedTrace (segs, endTime, dropped) {
  const n = segs.length
  const closed = segs.map((s, i) => {
    const open = Number.isNaN(s.end)
    let e = open ? endTime : s.end
    if (e < s.start) e = s.start
    return { start: s.start, end: e, truncated: open && i !== 0 }
  })
  const exclusive = closed.map((c, i) => {
    const spans = []
    for (let j = 1; j < n; j++) {
      if (segs[j].parent !== i) continue
      const a = Math.max(closed[j].start, c.start)
      const b = Math.min(closed[j].end, c.end)
      if (b > a) spans.push([a, b])
    }
    return toMicros(Math.max(0, (c.end - c.start) - unionLength(spans)))
  })
  const order = [0]
  const rest = []
  for (let i = 1; i < n; i++) rest.push(i)
  rest.sort((a, b) => (segs[a].start - segs[b].start) || (a - b))
  order.push(...rest)
  const rowOf = new Array(n)
  order.forEach((i, row) => { rowOf[i] = row })
  const t0 = segs[0].start
  return {
    name: segs[0].name,
    startTime: performance.timeOrigin + t0,
    duration: toMicros(closed[0].end - t0),
    segmentCount: n,
    droppedSegments: dropped,
    segments: order.map((i) => {
      const attrs = Object.create(null)
      const list = segs[i].attrs instanceof Map ? [...segs[i].attrs] : (segs[i].attrs || [])
      for (const [k, v] of list) attrs[k] = v
      return {
        parent: segs[i].parent === null ? null : rowOf[segs[i].parent],
        name: segs[i].name,
        start: toMicros(segs[i].start - t0),
        duration: toMicros(closed[i].end - closed[i].start),
        exclusive: exclusive[i],
        attributes: entries(attrs),
        truncated: closed[i].truncated
      }
    })
  }
}

/** True for a value a handle may have. */
function isHandleValue (h) {
  return Number.isInteger(h) && h >= 0 && h <= MAX_HANDLE
}

module.exports = {
  MAX_HANDLE,
  HEX16,
  HEX32,
  xorshift32,
  refCut,
  utf8Len,
  normalize,
  expectedTrace,
  unionLength,
  toMicros,
  isHandleValue
}
