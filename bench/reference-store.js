'use strict'

// A plain-JS segment store with SegmentStore's API and output: one object
// per segment, a Map from handle to segment, JSON.stringify for JSON. It is
// what an agent would write without the addon, and the benchmark's yardstick.
// Ids come from Math.random (not a secure source, like the Rust side's
// SplitMix64). Used only by bench/ and by the test that checks both stores
// produce the same traces.

const { performance } = require('node:perf_hooks')

function hex (digits) {
  let s = ''
  while (s.length < digits) s += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0')
  return s === '0'.repeat(digits) ? hex(digits) : s
}

/** ms rounded to the microsecond, as SegmentStore gives a trace's offsets and durations. */
function micros (v) {
  const y = v * 1000
  return Math.abs(y) < 2 ** 53 ? Math.round(y) / 1000 + 0 : v
}

class ReferenceStore {
  constructor (options = {}) {
    this.maxSegments = options.maxSegmentsPerTransaction ?? 900
    this.maxAttributes = options.maxAttributesPerSegment ?? 64
    this.segments = new Map()
    this.nextHandle = 1
    this.totals = { transactions: 0, segments: 0, dropped: 0 }
  }

  startTransaction (name, startTime = performance.now()) {
    const h = this.nextHandle++
    const txn = { root: null, list: [], dropped: 0 }
    const seg = { handle: h, txn, parent: null, name, start: startTime, end: NaN, attributes: {}, attributeCount: 0 }
    txn.root = seg
    txn.list.push(seg)
    this.segments.set(h, seg)
    this.totals.transactions++
    this.totals.segments++
    return h
  }

  startSegment (parent, name, startTime = performance.now()) {
    const p = this.segments.get(parent)
    if (p === undefined) return null
    const txn = p.txn
    if (txn.list.length >= this.maxSegments) {
      txn.dropped++
      this.totals.dropped++
      return null
    }
    const h = this.nextHandle++
    const seg = { handle: h, txn, parent: p, name, start: startTime, end: NaN, attributes: {}, attributeCount: 0 }
    txn.list.push(seg)
    this.segments.set(h, seg)
    this.totals.segments++
    return h
  }

  endSegment (handle, endTime = performance.now()) {
    const seg = this.segments.get(handle)
    if (seg !== undefined && Number.isNaN(seg.end)) seg.end = endTime < seg.start ? seg.start : endTime
  }

  setAttribute (handle, key, value) {
    const seg = this.segments.get(handle)
    if (seg === undefined) return
    if (!Object.hasOwn(seg.attributes, key)) {
      if (seg.attributeCount >= this.maxAttributes) return
      seg.attributeCount++
    }
    seg.attributes[key] = value
  }

  isActive (handle) {
    return this.segments.has(handle)
  }

  endTransaction (handle, endTime = performance.now()) {
    const seg = this.segments.get(handle)
    if (seg === undefined) return null
    const txn = seg.txn
    const list = txn.list
    const ends = new Map()
    for (let i = 0; i < list.length; i++) {
      const s = list[i]
      const e = Number.isNaN(s.end) ? endTime : s.end
      ends.set(s, e < s.start ? s.start : e)
    }
    const children = new Map()
    for (let i = 1; i < list.length; i++) {
      const p = list[i].parent
      if (!children.has(p)) children.set(p, [])
      children.get(p).push(list[i])
    }
    const order = list.slice(1).sort((a, b) => a.start - b.start)
    order.unshift(list[0])
    const ids = new Map(order.map((s) => [s, hex(16)]))
    const t0 = list[0].start
    const segments = order.map((s) => {
      const lo = s.start
      const hi = ends.get(s)
      const spans = (children.get(s) ?? [])
        .map((c) => [Math.max(c.start, lo), Math.min(ends.get(c), hi)])
        .filter(([a, b]) => b > a)
        .sort((x, y) => x[0] - y[0])
      let covered = 0
      let cur = null
      for (const [a, b] of spans) {
        if (cur === null || a > cur[1]) {
          if (cur !== null) covered += cur[1] - cur[0]
          cur = [a, b]
        } else if (b > cur[1]) {
          cur[1] = b
        }
      }
      if (cur !== null) covered += cur[1] - cur[0]
      const exclusive = Math.max(0, hi - lo - covered)
      return {
        id: ids.get(s),
        parentId: s.parent === null ? null : ids.get(s.parent),
        name: s.name,
        start: micros(lo - t0),
        duration: micros(hi - lo),
        exclusive: micros(exclusive),
        attributes: s.attributes,
        truncated: s !== list[0] && Number.isNaN(s.end)
      }
    })
    for (const s of list) this.segments.delete(s.handle)
    return {
      traceId: hex(32),
      name: list[0].name,
      startTime: performance.timeOrigin + t0,
      duration: micros(ends.get(list[0]) - t0),
      segmentCount: list.length,
      droppedSegments: txn.dropped,
      segments
    }
  }

  endTransactionJSON (handle, endTime) {
    const trace = this.endTransaction(handle, endTime)
    return trace === null ? null : JSON.stringify(trace)
  }

  endTransactionJSONBytes (handle, endTime) {
    const json = this.endTransactionJSON(handle, endTime)
    return json === null ? null : Buffer.from(json)
  }

  stats () {
    let liveTransactions = 0
    for (const s of this.segments.values()) if (s.parent === null) liveTransactions++
    return {
      liveTransactions,
      liveSegments: this.segments.size,
      capacity: this.segments.size,
      totalTransactions: this.totals.transactions,
      totalSegments: this.totals.segments,
      droppedSegments: this.totals.dropped
    }
  }
}

module.exports = { ReferenceStore }
