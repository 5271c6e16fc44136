'use strict'

// Behaviour of SegmentStore, method by method, with explicit times so that
// every duration, offset and exclusive time is an exact value. One
// `describe` per method (the constructor's options under `constructor`),
// plus the cross-cutting topics: UTF-8 cutting, handles, table growth.
// Bad input is in store-bad-input.test.js, random sequences against a model
// in store-model.test.js and store-property.test.js.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { performance } = require('node:perf_hooks')
const { SegmentStore } = require('../..')
const {
  MAX_HANDLE,
  HEX16,
  HEX32,
  refCut,
  utf8Len,
  normalize,
  expectedTrace,
  isHandleValue,
  xorshift32
} = require('../helpers/store-util')

const FRESH_STATS = {
  liveTransactions: 0,
  liveSegments: 0,
  capacity: 1024,
  totalTransactions: 0,
  totalSegments: 0,
  droppedSegments: 0
}

/** Rows of a trace as [name, parentName, start, duration, exclusive, truncated]. */
function rows (trace) {
  const t = normalize(trace)
  return t.segments.map((s) => [
    s.name,
    s.parent === null ? null : t.segments[s.parent].name,
    s.start,
    s.duration,
    s.exclusive,
    s.truncated
  ])
}

function attrsOf (trace, name) {
  const seg = trace.segments.find((s) => s.name === name)
  assert.ok(seg, `no segment named ${name}`)
  return seg.attributes
}

/** Builds one rich transaction with explicit times; returns its root. */
function buildRich (s) {
  const R = s.startTransaction('rich "txn"', 500)
  s.setAttribute(R, 'http.method', 'GET')
  s.setAttribute(R, 'status', 200)
  s.setAttribute(R, 'ok', true)
  s.setAttribute(R, 'ratio', 0.1 + 0.2)
  s.setAttribute(R, 'neg', -1e-7)
  s.setAttribute(R, 'huge', 1e300)
  s.setAttribute(R, 'negzero', -0)
  const a = s.startSegment(R, 'db.query', 505)
  s.setAttribute(a, 'sql', 'SELECT * FROM "t" WHERE x = \'\\n\'')
  const b = s.startSegment(a, 'net\tread', 506)
  s.endSegment(b, 520)
  s.endSegment(a, 530)
  const c = s.startSegment(R, 'late', 502) // out of order
  s.setAttribute(c, 'flag', false)
  s.startSegment(c, 'open child', 540) // truncated
  const d = s.startSegment(R, 'same start', 505) // tie with db.query
  s.endSegment(d, 504) // clamps
  for (let i = 0; i < 6; i++) s.startSegment(R, `filler ${i}`, 510 + i) // the last ones drop
  s.endSegment(R, 590)
  return R
}

const SPECIAL = [
  'plain',
  'with "double" and \'single\' quotes',
  'back\\slash\\\\ and \\u0041 literal',
  'controls \u0000\u0001\u0007\b\t\n\u000b\f\r\u000e\u001f\u007f end',
  'emoji 😀👍🏽 and 𝄞',
  '\ud800',
  'a\udc00b',
  '\udc00\ud800', // two lone surrogates in the wrong order
  'x\udbff', // ends with a lone high surrogate
  '\udfffy', // starts with a lone low surrogate
  '\udbff\udfff', // a valid pair: U+10FFFF
  'line\u2028sep\u2029para',
  '</script><!--',
  'ünïcödé €uro',
  '__proto__',
  'constructor',
  'toString',
  '0',
  '{"json":[1,2]}'
]

describe('SegmentStore', () => {
  describe('constructor', () => {
    it('is the class require(..) exports; a new store is empty and sound', () => {
      const mod = require('../..')
      assert.equal(typeof mod.SegmentStore, 'function')
      const s = new SegmentStore()
      assert.deepEqual(s.stats(), FRESH_STATS)
      assert.deepEqual(s.verify(), [])
    })

    describe('option maxSegmentsPerTransaction', () => {
      it('counts the root; drops are counted per trace and in stats', () => {
        const s = new SegmentStore({ maxSegmentsPerTransaction: 5 })
        const R = s.startTransaction('R', 0)
        const other = s.startTransaction('other', 0)
        const got = []
        for (let i = 0; i < 7; i++) got.push(s.startSegment(R, `s${i}`, i))
        assert.equal(got.slice(0, 4).every((h) => h !== null), true)
        assert.deepEqual(got.slice(4), [null, null, null])
        // Dropped through a child parent too.
        assert.equal(s.startSegment(got[0], 'deep', 9), null)
        // The other transaction has its own budget.
        for (let i = 0; i < 4; i++) assert.notEqual(s.startSegment(other, `o${i}`, i), null)
        assert.equal(s.startSegment(other, 'o4', 5), null)
        assert.equal(s.stats().droppedSegments, 5)
        assert.equal(s.stats().liveSegments, 10)
        const t = s.endTransaction(R, 10)
        assert.equal(t.segmentCount, 5)
        assert.equal(t.droppedSegments, 4)
        assert.equal(t.segments.length, 5)
        const o = JSON.parse(s.endTransactionJSON(other, 10))
        assert.equal(o.droppedSegments, 1)
        assert.equal(o.segmentCount, 5)
        const st = s.stats()
        assert.equal(st.droppedSegments, 5, 'the total stays after the transactions end')
        assert.equal(st.totalSegments, 10)
        assert.equal(st.liveSegments, 0)
        // A new transaction starts with a fresh budget.
        const R2 = s.startTransaction('R2', 0)
        assert.notEqual(s.startSegment(R2, 'x', 0), null)
        assert.equal(s.endTransaction(R2, 1).droppedSegments, 0)
        // Starting under a null or inactive parent is not a drop.
        assert.equal(s.startSegment(null, 'x', 0), null)
        assert.equal(s.startSegment(R, 'x', 0), null)
        assert.equal(s.stats().droppedSegments, 5)
        assert.deepEqual(s.verify(), [])
      })

      it('1 keeps only the root; the default is 900', () => {
        const one = new SegmentStore({ maxSegmentsPerTransaction: 1 })
        const R = one.startTransaction('R', 0)
        assert.equal(one.startSegment(R, 'a', 0), null)
        assert.deepEqual(rows(one.endTransaction(R, 1)), [['R', null, 0, 1, 1, false]])

        const s = new SegmentStore()
        const D = s.startTransaction('D', 0)
        let made = 0
        for (let i = 0; i < 1000; i++) if (s.startSegment(D, 's', i) !== null) made++
        assert.equal(made, 899)
        assert.equal(s.stats().droppedSegments, 101)
        const t = s.endTransaction(D, 2000)
        assert.equal(t.segmentCount, 900)
        assert.equal(t.droppedSegments, 101)
        assert.deepEqual(s.verify(), [])
      })
    })

    describe('option maxAttributeValueLength', () => {
      it('sets the cut', () => {
        const s = new SegmentStore({ maxAttributeValueLength: 5 })
        const R = s.startTransaction('abcdefgh', 0)
        assert.equal(s.nameOf(R), 'abcde')
        const a = s.startSegment(R, 'é€x', 0) // 2 + 3 = 5 bytes, x does not fit
        assert.equal(s.nameOf(a), 'é€')
        const b = s.startSegment(R, 'ab😀', 0) // 2 + 4 > 5
        assert.equal(s.nameOf(b), 'ab')
        s.setAttribute(R, 'keykeykey', 'valuevalue')
        s.setAttribute(R, 'n', 123456789) // numbers are not cut
        const t = JSON.parse(s.endTransactionJSON(R, 1))
        assert.deepEqual(t.segments[0].attributes, { keyke: 'value', n: 123456789 })
        const one = new SegmentStore({ maxAttributeValueLength: 1 })
        assert.equal(one.nameOf(one.startTransaction('ab', 0)), 'a')
        assert.equal(one.nameOf(one.startTransaction('éa', 0)), '')
      })
    })
  })

  describe('startTransaction', () => {
    it('returns an active root handle', () => {
      const s = new SegmentStore()
      const r = s.startTransaction('txn', 1000)
      assert.ok(isHandleValue(r), `handle ${r}`)
      assert.equal(s.isActive(r), true)
      assert.equal(s.transactionOf(r), r)
      assert.equal(s.parentOf(r), null)
      assert.equal(s.nameOf(r), 'txn')
      assert.deepEqual(s.stats(), { ...FRESH_STATS, liveTransactions: 1, liveSegments: 1, totalTransactions: 1, totalSegments: 1 })
      assert.deepEqual(s.verify(), [])
    })

    it('startTime and endTime default to performance.now()', () => {
      const s = new SegmentStore()
      const t0 = performance.now()
      const r = s.startTransaction('now')
      const a = s.startSegment(r, 'a')
      const t1 = performance.now()
      s.endSegment(a)
      const t2 = performance.now()
      const trace = s.endTransaction(r)
      const t3 = performance.now()
      const origin = performance.timeOrigin
      assert.ok(trace.startTime >= origin + t0 && trace.startTime <= origin + t1, 'root start is now')
      const seg = trace.segments[1]
      assert.ok(seg.start >= 0 && seg.start <= t1 - t0 + 1e-9)
      assert.ok(seg.duration >= 0 && seg.duration <= t2 - t0 + 1e-9)
      assert.ok(trace.duration >= t2 - t1 - 1e-9 && trace.duration <= t3 - t0 + 1e-9, `duration ${trace.duration}`)
      assert.equal(seg.truncated, false)
    })
  })

  describe('startSegment', () => {
    it('links children, grandchildren and their transaction', () => {
      const s = new SegmentStore()
      const r = s.startTransaction('root', 0)
      const a = s.startSegment(r, 'a', 1)
      const b = s.startSegment(a, 'b', 2)
      const c = s.startSegment(b, 'c', 3)
      const d = s.startSegment(r, 'd', 4)
      const all = [r, a, b, c, d]
      assert.equal(new Set(all).size, 5)
      for (const h of all) {
        assert.ok(isHandleValue(h))
        assert.equal(s.isActive(h), true)
        assert.equal(s.transactionOf(h), r)
      }
      assert.equal(s.parentOf(a), r)
      assert.equal(s.parentOf(b), a)
      assert.equal(s.parentOf(c), b)
      assert.equal(s.parentOf(d), r)
      assert.deepEqual([a, b, c, d].map((h) => s.nameOf(h)), ['a', 'b', 'c', 'd'])
      assert.equal(s.stats().liveSegments, 5)
      assert.equal(s.stats().totalSegments, 5)

      // A second transaction is separate.
      const r2 = s.startTransaction('other', 10)
      const x = s.startSegment(r2, 'x', 11)
      assert.equal(s.transactionOf(x), r2)
      assert.equal(s.transactionOf(c), r)
      assert.equal(s.stats().liveTransactions, 2)
      assert.deepEqual(s.verify(), [])

      const t = s.endTransaction(r, 100)
      assert.deepEqual(rows(t), [
        ['root', null, 0, 100, 1, false],
        ['a', 'root', 1, 99, 1, true],
        ['b', 'a', 2, 98, 1, true],
        ['c', 'b', 3, 97, 97, true],
        ['d', 'root', 4, 96, 96, true]
      ])
      assert.equal(s.isActive(x), true, 'ending one transaction leaves the other')
      assert.deepEqual(s.verify(), [])
    })

    it('works under an ended (but still active) segment', () => {
      const s = new SegmentStore()
      const r = s.startTransaction('r', 0)
      const a = s.startSegment(r, 'a', 0)
      s.endSegment(a, 5)
      const b = s.startSegment(a, 'b', 6)
      assert.notEqual(b, null)
      assert.equal(s.parentOf(b), a)
      s.endSegment(b, 8)
      assert.deepEqual(rows(s.endTransaction(r, 10)), [
        ['r', null, 0, 10, 5, false],
        ['a', 'r', 0, 5, 5, false],
        ['b', 'a', 6, 2, 2, false]
      ])
    })
  })

  describe('endSegment', () => {
    it('the first end counts, a second is a no-op, end before start clamps', () => {
      const s = new SegmentStore()
      const r = s.startTransaction('r', 100)
      const a = s.startSegment(r, 'a', 110)
      assert.equal(s.endSegment(a, 150), undefined)
      assert.equal(s.endSegment(a, 190), undefined) // ignored
      assert.equal(s.endSegment(a, 120), undefined) // ignored too
      const b = s.startSegment(r, 'b', 120)
      s.endSegment(b, 115) // before its start: taken as the start
      const c = s.startSegment(r, 'c', 130)
      s.endSegment(c, 130)
      s.endSegment(r, 180) // the root ends before the transaction does
      s.endSegment(r, 199) // ignored
      assert.equal(s.isActive(a), true, 'an ended segment stays active until its transaction ends')
      assert.equal(s.nameOf(a), 'a')
      const t = s.endTransaction(r, 200)
      assert.equal(t.duration, 80)
      assert.deepEqual(rows(t), [
        ['r', null, 0, 80, 40, false],
        ['a', 'r', 10, 40, 40, false],
        ['b', 'r', 20, 0, 0, false],
        ['c', 'r', 30, 0, 0, false]
      ])
    })

    it('is a no-op with null', () => {
      const s = new SegmentStore()
      assert.equal(s.endSegment(null, 5), undefined)
      assert.equal(s.endSegment(null), undefined)
      assert.deepEqual(s.stats(), FRESH_STATS)
    })
  })

  describe('setAttribute', () => {
    it('stores strings, numbers and booleans; same key replaces', () => {
      const s = new SegmentStore()
      const r = s.startTransaction('r', 0)
      const a = s.startSegment(r, 'a', 1)
      assert.equal(s.setAttribute(r, 'str', 'hello'), undefined)
      s.setAttribute(r, 'num', 1.5)
      s.setAttribute(r, 'neg', -42)
      s.setAttribute(r, 'big', Number.MAX_VALUE)
      s.setAttribute(r, 'tiny', Number.MIN_VALUE)
      s.setAttribute(r, 'yes', true)
      s.setAttribute(r, 'no', false)
      s.setAttribute(r, 'empty', '')
      s.setAttribute(a, 'k', 'first')
      s.setAttribute(a, 'k', 2)
      s.setAttribute(a, 'k', 'third') // replaced twice: last wins
      s.endSegment(a, 3)
      s.setAttribute(a, 'after', true) // ended but still active
      s.setAttribute(null, 'ignored', 1) // no context: no-op
      const t = s.endTransaction(r, 10)
      assert.deepEqual(attrsOf(t, 'r'), {
        str: 'hello',
        num: 1.5,
        neg: -42,
        big: Number.MAX_VALUE,
        tiny: Number.MIN_VALUE,
        yes: true,
        no: false,
        empty: ''
      })
      assert.deepEqual(attrsOf(t, 'a'), { k: 'third', after: true })
    })

    it('beyond maxAttributesPerSegment new keys are ignored, existing keys still replace', () => {
      const s = new SegmentStore()
      const r = s.startTransaction('r', 0)
      for (let i = 0; i < 70; i++) s.setAttribute(r, `k${i}`, i)
      s.setAttribute(r, 'k0', 'replaced at the limit')
      s.setAttribute(r, 'k63', true)
      s.setAttribute(r, 'late', 1)
      const attrs = s.endTransaction(r, 1).segments[0].attributes
      const expected = {}
      for (let i = 0; i < 64; i++) expected[`k${i}`] = i
      expected.k0 = 'replaced at the limit'
      expected.k63 = true
      assert.deepEqual(attrs, expected)

      const small = new SegmentStore({ maxAttributesPerSegment: 2 })
      const r2 = small.startTransaction('r', 0)
      small.setAttribute(r2, 'a', 1)
      small.setAttribute(r2, 'b', 2)
      small.setAttribute(r2, 'c', 3)
      small.setAttribute(r2, 'a', 'A')
      assert.deepEqual(JSON.parse(small.endTransactionJSON(r2, 1)).segments[0].attributes, { a: 'A', b: 2 })

      const none = new SegmentStore({ maxAttributesPerSegment: 0 })
      const r3 = none.startTransaction('r', 0)
      none.setAttribute(r3, 'a', 1)
      assert.deepEqual(none.endTransaction(r3, 1).segments[0].attributes, {})
      assert.deepEqual(none.verify(), [])
    })

    it('keys that agree on their first 255 bytes are one key after the cut', () => {
      const s = new SegmentStore()
      const R = s.startTransaction('r', 0)
      const base = 'k'.repeat(255)
      s.setAttribute(R, base + 'one', 1)
      s.setAttribute(R, base + 'two', 2)
      assert.deepEqual(s.endTransaction(R, 1).segments[0].attributes, { [base]: 2 })
    })
  })

  describe('endTransaction', () => {
    describe('times', () => {
      /** A root at t0 with one child; both ended. */
      const build = (s, t0, start, end, rootEnd) => {
        const R = s.startTransaction('R', t0)
        s.endSegment(s.startSegment(R, 'A', start), end)
        s.endSegment(R, rootEnd)
        return R
      }

      it('offsets, durations and exclusive times are rounded to the microsecond; startTime is not', () => {
        const s = new SegmentStore()
        const t0 = 1000.0001234
        const args = [t0, t0 + 0.0014999, t0 + 2.2225001, t0 + 10.0000004]
        const t = s.endTransaction(build(s, ...args))
        assert.deepEqual(rows(t), [
          ['R', null, 0, 10, 7.779, false],
          ['A', 'R', 0.001, 2.221, 2.221, false]
        ])
        assert.equal(t.duration, 10)
        assert.equal(t.startTime, performance.timeOrigin + t0)
        const json = s.endTransactionJSON(build(s, ...args))
        assert.match(json, /"start":0\.001,"duration":2\.221,"exclusive":2\.221,/)
        assert.match(json, /"start":0,"duration":10,"exclusive":7\.779,/)
      })

      it('a time halfway between two microseconds goes up', () => {
        // Exact binary fractions: 62.5 µs and 1062.5 µs.
        const s = new SegmentStore()
        const t = s.endTransaction(build(s, 1000, 1000.0625, 1001.125, 1002))
        assert.deepEqual(rows(t)[1], ['A', 'R', 0.063, 1.063, 1.063, false])
      })
    })

    describe('exclusive times', () => {
      it('overlapping, nested, out-of-order and clipped children', () => {
        const s = new SegmentStore()
        const R = s.startTransaction('R', 1000)
        const seg = (parent, name, start, end) => {
          const h = s.startSegment(parent, name, start)
          assert.notEqual(h, null)
          s.endSegment(h, end)
          return h
        }
        const A = seg(R, 'A', 1010, 1030)
        seg(R, 'B', 1020, 1050) // overlaps A
        seg(A, 'G', 1012, 1090) // grandchild, runs past A: counts for A only, clipped
        seg(R, 'C', 1060, 1070)
        seg(R, 'D', 1005, 1008) // created late, starts early
        seg(R, 'E', 990, 1003) // starts before the root: clipped to [1000, 1003]
        seg(R, 'F', 1095, 1120) // ends after the root: clipped to [1095, 1100]
        const B = s.startSegment(R, 'B2', 1040) // will be truncated? no: ended below
        s.endSegment(B, 1045)
        const t = s.endTransaction(R, 1100)
        // Root children union: [1000,1003] [1005,1008] [1010,1050] [1060,1070] [1095,1100] = 3+3+40+10+5 = 61
        assert.deepEqual(rows(t), [
          ['R', null, 0, 100, 39, false],
          ['E', 'R', -10, 13, 13, false],
          ['D', 'R', 5, 3, 3, false],
          ['A', 'R', 10, 20, 2, false],
          ['G', 'A', 12, 78, 78, false],
          ['B', 'R', 20, 30, 30, false],
          ['B2', 'R', 40, 5, 5, false],
          ['C', 'R', 60, 10, 10, false],
          ['F', 'R', 95, 25, 25, false]
        ])
        assert.equal(t.duration, 100)
        assert.equal(t.startTime, performance.timeOrigin + 1000)
      })

      it('touching, identical, contained and zero-length children', () => {
        const s = new SegmentStore()
        const R = s.startTransaction('R', 0)
        const seg = (parent, name, start, end) => {
          const h = s.startSegment(parent, name, start)
          s.endSegment(h, end)
          return h
        }
        const P = seg(R, 'P', 0, 100)
        seg(P, 'x', 0, 50)
        seg(P, 'y', 50, 100) // touches x: P fully covered
        const Q = seg(R, 'Q', 100, 200)
        seg(Q, 'q1', 110, 120)
        seg(Q, 'q2', 110, 120)
        seg(Q, 'q3', 110, 120) // three identical intervals count once
        seg(Q, 'q4', 130, 130) // zero length
        const S = seg(R, 'S', 200, 300)
        seg(S, 's1', 210, 280)
        seg(S, 's2', 220, 230) // inside s1
        seg(S, 's3', 150, 205) // starts before S: clipped to [200, 205]
        const t = s.endTransaction(R, 300)
        assert.deepEqual(rows(t), [
          ['R', null, 0, 300, 0, false],
          ['P', 'R', 0, 100, 0, false],
          ['x', 'P', 0, 50, 50, false],
          ['y', 'P', 50, 50, 50, false],
          ['Q', 'R', 100, 100, 90, false],
          ['q1', 'Q', 110, 10, 10, false],
          ['q2', 'Q', 110, 10, 10, false],
          ['q3', 'Q', 110, 10, 10, false],
          ['q4', 'Q', 130, 0, 0, false],
          ['s3', 'S', 150, 55, 55, false],
          ['S', 'R', 200, 100, 25, false],
          ['s1', 'S', 210, 70, 70, false],
          ['s2', 'S', 220, 10, 10, false]
        ])
      })

      it('are exact for fractional times', () => {
        const s = new SegmentStore()
        const R = s.startTransaction('R', 0.5)
        const a = s.startSegment(R, 'a', 0.75)
        s.endSegment(a, 1.25)
        const b = s.startSegment(R, 'b', 1)
        s.endSegment(b, 2.5)
        const t = s.endTransaction(R, 4)
        assert.deepEqual(rows(t), [
          ['R', null, 0, 3.5, 1.75, false],
          ['a', 'R', 0.25, 0.5, 0.5, false],
          ['b', 'R', 0.5, 1.5, 1.5, false]
        ])
      })
    })

    describe('truncation', () => {
      it('open segments close at the transaction end; an open root closes without truncation', () => {
        const s = new SegmentStore()
        const R = s.startTransaction('R', 0)
        const A = s.startSegment(R, 'A', 10) // left open
        const B = s.startSegment(R, 'B', 20)
        s.endSegment(B, 30)
        s.startSegment(A, 'C', 40) // left open
        s.startSegment(R, 'D', 150) // left open, starts after the end: zero length
        const t = s.endTransaction(R, 100)
        assert.equal(t.duration, 100)
        assert.deepEqual(rows(t), [
          ['R', null, 0, 100, 10, false],
          ['A', 'R', 10, 90, 30, true],
          ['B', 'R', 20, 10, 10, false],
          ['C', 'A', 40, 60, 60, true],
          ['D', 'R', 150, 0, 0, true]
        ])
        assert.equal(s.isActive(A), false)
      })

      it('a root ended early keeps its end; open children still close at the transaction end', () => {
        const s = new SegmentStore()
        const R = s.startTransaction('R', 0)
        const A = s.startSegment(R, 'A', 10)
        s.endSegment(R, 50)
        const t = s.endTransaction(A, 100) // ended through a segment, not the root
        assert.equal(t.duration, 50)
        assert.deepEqual(rows(t), [
          ['R', null, 0, 50, 10, false],
          ['A', 'R', 10, 90, 90, true]
        ])
      })

      it('an end time before the root start gives zero durations', () => {
        const s = new SegmentStore()
        const R = s.startTransaction('R', 100)
        s.startSegment(R, 'A', 120)
        const t = s.endTransaction(R, 50)
        assert.deepEqual(rows(t), [
          ['R', null, 0, 0, 0, false],
          ['A', 'R', 20, 0, 0, true]
        ])
      })
    })

    describe('ordering', () => {
      it('root first, then by start time, ties in creation order', () => {
        const s = new SegmentStore()
        const R = s.startTransaction('R', 10)
        s.startSegment(R, 'a', 15)
        s.startSegment(R, 'b', 15)
        const c = s.startSegment(R, 'c', 13)
        s.startSegment(c, 'c1', 15)
        s.startSegment(R, 'd', 15)
        s.startSegment(R, 'early', 5) // before the root: still after it in the list
        s.startSegment(R, 'e', 10)
        s.startSegment(R, 'f', 10)
        const t = s.endTransaction(R, 20)
        assert.deepEqual(t.segments.map((x) => x.name), ['R', 'early', 'e', 'f', 'c', 'a', 'b', 'c1', 'd'])
        assert.deepEqual(t.segments.map((x) => x.start), [0, -5, 0, 0, 3, 5, 5, 5, 5])
        const again = (() => {
          const R2 = s.startTransaction('R', 10)
          s.startSegment(R2, 'a', 15)
          s.startSegment(R2, 'b', 15)
          const c2 = s.startSegment(R2, 'c', 13)
          s.startSegment(c2, 'c1', 15)
          s.startSegment(R2, 'd', 15)
          s.startSegment(R2, 'early', 5)
          s.startSegment(R2, 'e', 10)
          s.startSegment(R2, 'f', 10)
          return JSON.parse(s.endTransactionJSON(R2, 20))
        })()
        assert.deepEqual(again.segments.map((x) => x.name), ['R', 'early', 'e', 'f', 'c', 'a', 'b', 'c1', 'd'])
      })

      it('start times 0 and -0 are equal, so the tie goes by creation order', () => {
        // -0 passes the time check (it is a number >= 0) and is the same time as 0.
        for (const json of [false, true]) {
          const s = new SegmentStore()
          const R = s.startTransaction('R', 0)
          s.startSegment(R, 'first', 0)
          s.startSegment(R, 'second', -0)
          const t = json ? JSON.parse(s.endTransactionJSON(R, 1)) : s.endTransaction(R, 1)
          assert.deepEqual(t.segments.map((x) => x.name), ['R', 'first', 'second'], json ? 'JSON form' : 'object form')
          assert.deepEqual(t.segments.map((x) => x.start === 0), [true, true, true])
        }
      })
    })

    it('ends the whole transaction through any of its segments and frees every record', () => {
      const s = new SegmentStore()
      const R = s.startTransaction('R', 0)
      const A = s.startSegment(R, 'A', 1)
      const B = s.startSegment(A, 'B', 2)
      const other = s.startTransaction('other', 0)
      const t = s.endTransaction(B, 10)
      assert.deepEqual(rows(t), [
        ['R', null, 0, 10, 1, false],
        ['A', 'R', 1, 9, 1, true],
        ['B', 'A', 2, 8, 8, true]
      ])
      for (const h of [R, A, B]) {
        assert.equal(s.isActive(h), false)
        assert.equal(s.endTransaction(h, 20), null)
        assert.equal(s.endTransactionJSON(h, 20), null)
      }
      assert.equal(s.isActive(other), true)
      const st = s.stats()
      assert.equal(st.liveTransactions, 1)
      assert.equal(st.liveSegments, 1)
      assert.equal(st.totalTransactions, 2)
      assert.equal(st.totalSegments, 4)
      assert.deepEqual(s.verify(), [])
    })

    it('returns null for null and for inactive handles (endTransactionJSON too)', () => {
      const s = new SegmentStore()
      assert.equal(s.endTransaction(null), null)
      assert.equal(s.endTransaction(null, 5), null)
      assert.equal(s.endTransactionJSON(null), null)
      assert.equal(s.endTransactionJSON(null, 5), null)
      const r = s.startTransaction('r', 0)
      const forged = (r + 1) & MAX_HANDLE // reserved or free, never issued yet
      assert.equal(s.isActive(forged), false)
      assert.equal(s.endTransaction(forged, 1), null)
      assert.equal(s.endTransactionJSON(forged, 1), null)
      assert.equal(s.isActive(r), true, 'a forged handle ended nothing')
      assert.notEqual(s.endTransactionJSON(r, 1), null)
      assert.equal(s.endTransaction(r, 1), null)
      assert.equal(s.endTransactionJSON(r, 1), null)
      assert.deepEqual(s.stats(), { ...FRESH_STATS, totalTransactions: 1, totalSegments: 1 })
    })

    it('trace header: startTime is timeOrigin + root start; counts', () => {
      const s = new SegmentStore({ maxSegmentsPerTransaction: 3 })
      const R = s.startTransaction('header', 1234.5)
      s.startSegment(R, 'a', 1235)
      s.startSegment(R, 'b', 1236)
      assert.equal(s.startSegment(R, 'c', 1237), null)
      const t = s.endTransaction(R, 1300)
      assert.equal(t.name, 'header')
      assert.equal(t.startTime, performance.timeOrigin + 1234.5)
      assert.equal(t.duration, 65.5)
      assert.equal(t.segmentCount, 3)
      assert.equal(t.droppedSegments, 1)
      assert.equal(t.segments.length, 3)
      assert.match(t.traceId, HEX32)
    })

    it('trace and segment ids: lowercase hex, never zero, unique over many traces', () => {
      const s = new SegmentStore()
      const seen = new Set()
      let segments = 0
      for (let i = 0; i < 2000; i++) {
        const R = s.startTransaction(`t${i}`, i)
        let parent = R
        for (let k = 0; k < 9; k++) {
          const h = s.startSegment(k % 3 === 0 ? R : parent, `s${k}`, i + k)
          parent = h
        }
        const t = i % 2 ? s.endTransaction(R, i + 20) : JSON.parse(s.endTransactionJSON(R, i + 20))
        const n = normalize(t, seen) // checks format, zero, uniqueness
        segments += n.segments.length
      }
      assert.equal(segments, 20000)
      assert.equal(seen.size, 2000 + 20000)
      for (const id of seen) assert.ok(HEX16.test(id) || HEX32.test(id))
    })
  })

  describe('endTransactionJSON', () => {
    it('gives the same trace as endTransaction', () => {
      const opts = { maxSegmentsPerTransaction: 8 }
      const s1 = new SegmentStore(opts)
      const s2 = new SegmentStore(opts)
      const obj = s1.endTransaction(buildRich(s1), 600)
      const json = s2.endTransactionJSON(buildRich(s2), 600)
      assert.equal(typeof json, 'string')
      const parsed = JSON.parse(json)
      const seen = new Set()
      const a = normalize(obj, seen)
      const b = normalize(parsed, seen) // ids differ between the two
      assert.deepEqual(b, a)
      assert.equal(a.segmentCount, 8)
      assert.equal(a.droppedSegments, 4)
      assert.equal(parsed.startTime, performance.timeOrigin + 500)
      assert.ok(Object.is(parsed.segments[0].attributes.negzero, -0))
      assert.equal(parsed.segments[0].attributes.ratio, 0.1 + 0.2)
      // And both match an independent computation.
      const recs = [
        { parent: null, name: 'rich "txn"', start: 500, end: 590, attrs: [['http.method', 'GET'], ['status', 200], ['ok', true], ['ratio', 0.1 + 0.2], ['neg', -1e-7], ['huge', 1e300], ['negzero', -0]] },
        { parent: 0, name: 'db.query', start: 505, end: 530, attrs: [['sql', 'SELECT * FROM "t" WHERE x = \'\\n\'']] },
        { parent: 1, name: 'net\tread', start: 506, end: 520 },
        { parent: 0, name: 'late', start: 502, end: NaN, attrs: [['flag', false]] },
        { parent: 3, name: 'open child', start: 540, end: NaN },
        { parent: 0, name: 'same start', start: 505, end: 505 },
        { parent: 0, name: 'filler 0', start: 510, end: NaN },
        { parent: 0, name: 'filler 1', start: 511, end: NaN }
      ]
      assert.deepEqual(a, expectedTrace(recs, 600, 4))
      assert.equal(s1.stats().droppedSegments, 4)
      assert.equal(s2.stats().droppedSegments, 4)
      assert.deepEqual(s1.verify(), [])
      assert.deepEqual(s2.verify(), [])
    })

    it('the segment key order and value types match the object form', () => {
      const s = new SegmentStore()
      const R = s.startTransaction('r', 0)
      s.startSegment(R, 'a', 1)
      const parsed = JSON.parse(s.endTransactionJSON(R, 2))
      assert.deepEqual(Object.keys(parsed), ['traceId', 'name', 'startTime', 'duration', 'segmentCount', 'droppedSegments', 'segments'])
      assert.deepEqual(Object.keys(parsed.segments[1]), ['id', 'parentId', 'name', 'start', 'duration', 'exclusive', 'attributes', 'truncated'])
      assert.equal(parsed.segments[1].parentId, parsed.segments[0].id)
      assert.equal(parsed.segments[1].truncated, true)
    })

    it('strings round-trip exactly through both forms: names, keys and values', () => {
      for (const json of [false, true]) {
        const s = new SegmentStore({ maxAttributesPerSegment: 100 })
        const R = s.startTransaction('root', 0)
        const handles = []
        for (const str of SPECIAL) {
          const h = s.startSegment(R, str, 1)
          handles.push(h)
          assert.equal(s.nameOf(h), str)
          s.setAttribute(h, str, str)
          s.setAttribute(h, 'v', str)
          s.setAttribute(R, str, str)
        }
        // Adjacent pieces whose halves would pair up if joined: name ends with a
        // high surrogate, the next key starts with a low one.
        const adj = s.startSegment(R, 'tail\ud83d', 2)
        s.setAttribute(adj, '\ude00head', 'v\ud83d')
        s.setAttribute(adj, 'k', '\ude00')
        const t = json ? JSON.parse(s.endTransactionJSON(R, 3)) : s.endTransaction(R, 3)
        const where = json ? 'JSON form' : 'object form'
        const segs = t.segments.slice(1)
        assert.equal(segs.length, SPECIAL.length + 1)
        SPECIAL.forEach((str, i) => {
          assert.equal(segs[i].name, str, `${where}: name ${JSON.stringify(str)}`)
          const keys = Object.keys(segs[i].attributes)
          assert.deepEqual(keys.slice().sort(), [str, 'v'].sort(), `${where}: keys of ${JSON.stringify(str)}`)
          assert.equal(Object.getOwnPropertyDescriptor(segs[i].attributes, str).value, str, `${where}: value under key ${JSON.stringify(str)}`)
          assert.equal(segs[i].attributes.v, str)
          assert.equal(Object.getPrototypeOf(segs[i].attributes), Object.prototype, `${where}: prototype untouched`)
        })
        const rootAttrs = t.segments[0].attributes
        assert.equal(Object.keys(rootAttrs).length, SPECIAL.length)
        for (const str of SPECIAL) assert.equal(Object.getOwnPropertyDescriptor(rootAttrs, str).value, str)
        assert.equal(Object.getPrototypeOf(rootAttrs), Object.prototype)
        const last = segs[SPECIAL.length]
        assert.equal(last.name, 'tail\ud83d')
        assert.equal(Object.getOwnPropertyDescriptor(last.attributes, '\ude00head').value, 'v\ud83d')
        assert.equal(last.attributes.k, '\ude00')
        assert.equal(t.name, 'root')
      }
    })

    it('a transaction name with special characters is the trace name in both forms', () => {
      for (const str of SPECIAL) {
        const s = new SegmentStore()
        assert.equal(s.endTransaction(s.startTransaction(str, 0), 1).name, str)
        assert.equal(JSON.parse(s.endTransactionJSON(s.startTransaction(str, 0), 1)).name, str)
      }
    })
  })

  describe('endTransactionJSONBytes', () => {
    // Span and trace ids are drawn at random: replace each by its order.
    const maskIds = (text) => {
      const seen = new Map()
      return text.replace(/"[0-9a-f]{16}(?:[0-9a-f]{16})?"/g, (id) => {
        if (!seen.has(id)) seen.set(id, seen.size)
        return `"#${seen.get(id)}"`
      })
    }
    const build = (s, names) => {
      const R = s.startTransaction(names[0], 10)
      let parent = R
      for (const [i, name] of names.slice(1).entries()) {
        const h = s.startSegment(parent, name, 11 + i * 0.1234567)
        s.setAttribute(h, name, name)
        s.setAttribute(h, 'n', i / 3)
        s.setAttribute(h, 'b', i % 2 === 0)
        if (i % 2) s.endSegment(h, 12 + i)
        parent = i % 3 ? parent : h
      }
      return R
    }

    for (const [label, names] of [
      ['ASCII', ['GET /users/:id', 'db.query', 'with "quotes" and \\ and \n', 'SELECT 1']],
      ['not ASCII', ['GET /café', 'Ünïcödé', '日本語のスパン', 'emoji 🚀 here', 'lone \ud800 high', 'lone \udc00 low', 'nul \u0000 and \u001f', 'latin1 ÿ']]
    ]) {
      it(`is a Buffer of the UTF-8 of endTransactionJSON's string (${label})`, () => {
        const a = new SegmentStore()
        const b = new SegmentStore()
        const text = a.endTransactionJSON(build(a, names), 50)
        const bytes = b.endTransactionJSONBytes(build(b, names), 50)
        assert.ok(Buffer.isBuffer(bytes), 'a Buffer')
        assert.ok(bytes instanceof Uint8Array)
        // Well-formed UTF-8 that decodes to the same JSON, byte for byte.
        const decoded = bytes.toString('utf8')
        assert.ok(Buffer.from(decoded, 'utf8').equals(bytes), 'well-formed UTF-8')
        assert.equal(maskIds(decoded), maskIds(text))
        assert.equal(bytes.length, Buffer.byteLength(text, 'utf8'))
        assert.deepEqual(JSON.parse(decoded).segments.map((s) => s.name), names)
        assert.deepEqual(a.verify(), [])
        assert.deepEqual(b.verify(), [])
        assert.equal(b.stats().liveSegments, 0)
      })
    }

    it('gives a new Buffer each time: a later end does not write over an earlier one', () => {
      const s = new SegmentStore()
      const first = s.endTransactionJSONBytes(build(s, ['one', 'a', 'b']), 20)
      const copy = Buffer.from(first)
      for (let i = 0; i < 20; i++) s.endTransactionJSONBytes(build(s, ['other ' + i, 'x'.repeat(i * 50 + 1), 'y']), 20)
      assert.ok(first.equals(copy), 'the first Buffer is unchanged')
      assert.equal(JSON.parse(first.toString('utf8')).name, 'one')
    })

    it('returns null for null and inactive handles, and ends the transaction once', () => {
      const s = new SegmentStore()
      assert.equal(s.endTransactionJSONBytes(null), null)
      const r = s.startTransaction('r', 0)
      const child = s.startSegment(r, 'c', 1)
      const bytes = s.endTransactionJSONBytes(child, 2) // any handle of the transaction ends it
      assert.equal(JSON.parse(bytes.toString('utf8')).segmentCount, 2)
      assert.equal(s.endTransactionJSONBytes(r, 3), null)
      assert.equal(s.endTransactionJSON(r, 3), null)
      assert.equal(s.isActive(child), false)
    })

    it('names itself in its errors', () => {
      const s = new SegmentStore()
      const r = s.startTransaction('r', 0)
      assert.throws(() => s.endTransactionJSONBytes(r, 'soon'), (e) => e instanceof TypeError && /^endTransactionJSONBytes: endTime/.test(e.message))
      assert.equal(s.isActive(r), true)
    })
  })

  describe('UTF-8 cutting of names, keys and string values', () => {
    it('cuts to 255 UTF-8 bytes at a character boundary', () => {
      const cases = [
        ['ascii', 'a'.repeat(300), 'a'.repeat(255)],
        ['exact 255', 'b'.repeat(255), 'b'.repeat(255)],
        ['2-byte é', 'é'.repeat(200), 'é'.repeat(127)], // 254 bytes: one more would be 256
        ['3-byte €', '€'.repeat(100), '€'.repeat(85)], // 255 bytes
        ['4-byte 😀', '😀'.repeat(70), '😀'.repeat(63)], // 252 bytes, pair never split
        ['😀 after 1 byte', 'a' + '😀'.repeat(70), 'a' + '😀'.repeat(63)], // 253
        ['😀 after 3 bytes', 'abc' + '😀'.repeat(70), 'abc' + '😀'.repeat(63)], // 255
        ['é at the edge', 'a'.repeat(254) + 'é', 'a'.repeat(254)],
        ['é fits', 'a'.repeat(253) + 'é', 'a'.repeat(253) + 'é'],
        ['€ at the edge', 'a'.repeat(253) + '€', 'a'.repeat(253)],
        ['lone high surrogates', '\ud800'.repeat(100), '\ud800'.repeat(85)], // 3 bytes each
        ['lone low surrogates', '\udc00'.repeat(100), '\udc00'.repeat(85)],
        ['lone surrogate at the edge', 'a'.repeat(253) + '\ud800', 'a'.repeat(253)],
        ['lone surrogate fits', 'a'.repeat(252) + '\ud800', 'a'.repeat(252) + '\ud800'],
        ['pair at the edge', 'a'.repeat(252) + '😀', 'a'.repeat(252)],
        ['mixed', ('aé€😀\ud800').repeat(40), refCut(('aé€😀\ud800').repeat(40), 255)],
        ['empty', '', '']
      ]
      for (const [what, input, want] of cases) {
        assert.ok(utf8Len(want) <= 255, what)
        assert.equal(refCut(input, 255), want, `reference cut: ${what}`)
        const s = new SegmentStore()
        const R = s.startTransaction(input, 0)
        const a = s.startSegment(R, input, 1)
        assert.equal(s.nameOf(R), want, `transaction name: ${what}`)
        assert.equal(s.nameOf(a), want, `segment name: ${what}`)
        s.setAttribute(a, 'v', input)
        if (input !== '') s.setAttribute(a, input, 1)
        const expectAttrs = input === '' ? { v: '' } : { v: want, [want]: 1 }
        const t = s.endTransaction(R, 2)
        assert.equal(t.name, want, what)
        assert.equal(t.segments[1].name, want)
        assert.deepEqual(t.segments[1].attributes, expectAttrs, `attributes: ${what}`)
        const R2 = s.startTransaction(input, 0)
        const a2 = s.startSegment(R2, input, 1)
        s.setAttribute(a2, 'v', input)
        if (input !== '') s.setAttribute(a2, input, 1)
        const j = JSON.parse(s.endTransactionJSON(R2, 2))
        assert.equal(j.name, want, `JSON: ${what}`)
        assert.equal(j.segments[1].name, want)
        assert.deepEqual(j.segments[1].attributes, expectAttrs, `JSON attributes: ${what}`)
      }
    })
  })

  describe('isActive and handles', () => {
    it('is false for non-handles and never throws', () => {
      const s = new SegmentStore()
      const r = s.startTransaction('r', 0)
      for (const v of [undefined, null, NaN, Infinity, -Infinity, -1, 0.5, r + 0.5, 2 ** 30, 2 ** 30 + r, 2 ** 31, 2 ** 32 + r, 2 ** 53, -r, '', String(r), [r], { valueOf: () => r }, Object(r), Symbol('h'), BigInt(r), () => r, true]) {
        assert.equal(s.isActive(v), false, `isActive(${typeof v === 'symbol' ? 'symbol' : String(v)})`)
      }
      assert.equal(s.isActive(), false)
      assert.equal(s.isActive(r), true)
    })

    it('handles are unique integers in range across 100k start/end cycles', () => {
      const s = new SegmentStore()
      const seen = new Set()
      for (let i = 0; i < 100000; i++) {
        const r = s.startTransaction('t', i)
        const a = s.startSegment(r, 's', i)
        assert.ok(isHandleValue(r) && isHandleValue(a), `cycle ${i}: ${r}, ${a}`)
        seen.add(r)
        seen.add(a)
        if (i % 2) s.endTransaction(a, i + 1)
        else s.endTransactionJSON(r, i + 1)
      }
      assert.equal(seen.size, 200000, 'no handle was issued twice')
      for (const h of seen) assert.equal(s.isActive(h), false)
      assert.deepEqual(s.stats(), { ...FRESH_STATS, totalTransactions: 100000, totalSegments: 200000 })
      assert.deepEqual(s.verify(), [])
    })

    it('stale handles are inactive, and every call on them is a no-op or null', () => {
      const s = new SegmentStore()
      const R = s.startTransaction('old', 0)
      const stale = [R]
      for (let i = 0; i < 9; i++) stale.push(s.startSegment(stale[i % 3], `old${i}`, i))
      s.endTransaction(R, 100)
      const staleSlots = new Set(stale.map((h) => h & 1023))
      let reused = 0
      for (let round = 0; round < 12; round++) {
        const N = s.startTransaction(`new${round}`, 0)
        const live = [N]
        for (let i = 0; i < 150; i++) live.push(s.startSegment(N, `n${i}`, 1))
        assert.equal(s.stats().capacity, 1024)
        for (const h of live) if (staleSlots.has(h & 1023)) reused++
        const before = s.stats()
        for (const h of stale) {
          assert.equal(s.isActive(h), false)
          assert.equal(s.transactionOf(h), null)
          assert.equal(s.parentOf(h), null)
          assert.equal(s.nameOf(h), null)
          assert.equal(s.endSegment(h, 0), undefined)
          assert.equal(s.setAttribute(h, 'stale', true), undefined)
          assert.equal(s.startSegment(h, 'child of stale', 0), null)
          assert.equal(s.endTransaction(h, 0), null)
          assert.equal(s.endTransactionJSON(h, 0), null)
        }
        assert.deepEqual(s.stats(), before, 'calls on stale handles changed nothing')
        const t = round % 2 ? s.endTransaction(N, 10) : JSON.parse(s.endTransactionJSON(N, 10))
        assert.equal(t.segmentCount, 151)
        for (const seg of t.segments) {
          assert.deepEqual(seg.attributes, {}, 'no attribute leaked in from a stale handle')
          assert.ok(!seg.name.includes('stale'))
          assert.equal(seg.duration, seg.name.startsWith('new') ? 10 : 9, 'no end leaked in from a stale handle')
        }
      }
      assert.ok(reused > 0, 'the stale handles\' slots were reused by live segments')
      assert.deepEqual(s.verify(), [])
      assert.equal(s.stats().droppedSegments, 0)
    })

    it('a handle of one store is not active in another', () => {
      const A = new SegmentStore()
      const B = new SegmentStore()
      const ha = []
      const hb = []
      for (let t = 0; t < 5; t++) {
        const ra = A.startTransaction('a', 0)
        const rb = B.startTransaction('b', 0)
        ha.push(ra)
        hb.push(rb)
        for (let i = 0; i < 60; i++) {
          ha.push(A.startSegment(ra, 'a', 1))
          hb.push(B.startSegment(rb, 'b', 1))
        }
      }
      const setB = new Set(hb)
      assert.equal(ha.filter((h) => setB.has(h)).length, 0, 'the two stores issued disjoint handles')
      for (const h of ha) {
        assert.equal(A.isActive(h), true)
        assert.equal(B.isActive(h), false)
        assert.equal(B.transactionOf(h), null)
        assert.equal(B.parentOf(h), null)
        assert.equal(B.nameOf(h), null)
        assert.equal(B.startSegment(h, 'x', 0), null)
        B.endSegment(h, 0)
        B.setAttribute(h, 'foreign', 1)
        assert.equal(B.endTransaction(h, 0), null)
        assert.equal(B.endTransactionJSON(h, 0), null)
      }
      for (const h of hb) assert.equal(A.isActive(h), false)
      assert.equal(B.stats().liveSegments, 305)
      assert.equal(B.stats().droppedSegments, 0)
      const t = B.endTransaction(hb[0], 5)
      assert.ok(t.segments.every((x) => Object.keys(x.attributes).length === 0 && x.duration === (x.name === 'b' && x.parentId === null ? 5 : 4)))
      assert.deepEqual(A.verify(), [])
      assert.deepEqual(B.verify(), [])
    })
  })

  describe('spanIdOf and traceIdOf', () => {
    it('hand out the ids the finished trace will carry, in both forms', () => {
      for (const form of ['object', 'json']) {
        const store = new SegmentStore()
        const root = store.startTransaction('T', 0)
        const late = store.startSegment(root, 'late', 5)
        const early = store.startSegment(late, 'early', 1) // sorts before its parent
        const quiet = store.startSegment(root, 'quiet', 2)
        const traceId = store.traceIdOf(early)
        const lateId = store.spanIdOf(late)
        const rootId = store.spanIdOf(root)
        assert.match(traceId, HEX32)
        assert.match(lateId, HEX16)
        assert.equal(store.traceIdOf(root), traceId, 'one trace id per transaction')
        assert.equal(store.spanIdOf(late), lateId, 'asking twice gives the same id')
        assert.notEqual(rootId, lateId)
        assert.deepEqual(store.verify(), [])
        const trace = form === 'object' ? store.endTransaction(quiet, 10) : JSON.parse(store.endTransactionJSON(quiet, 10))
        const byName = Object.fromEntries(trace.segments.map((s) => [s.name, s]))
        assert.equal(trace.traceId, traceId, form)
        assert.equal(byName.T.id, rootId, form)
        assert.equal(byName.late.id, lateId, form)
        assert.equal(byName.late.parentId, rootId, form)
        assert.equal(byName.early.parentId, lateId, `${form}: a child points at its parent's early id`)
        assert.equal(byName.quiet.parentId, rootId, form)
        assert.match(byName.early.id, HEX16)
        assert.notEqual(byName.early.id, lateId)
        assert.equal(store.spanIdOf(late), null, 'ended: null')
        assert.equal(store.traceIdOf(root), null, 'ended: null')
        assert.deepEqual(store.verify(), [], 'no early id left behind')
      }
    })

    it('null for null and inactive handles, TypeError for other types', () => {
      const store = new SegmentStore()
      assert.equal(store.spanIdOf(null), null)
      assert.equal(store.traceIdOf(null), null)
      assert.equal(store.spanIdOf(12345), null)
      for (const bad of [undefined, '1', {}, Symbol('s'), 1n]) {
        assert.throws(() => store.spanIdOf(bad), { name: 'TypeError', message: /spanIdOf: handle/ })
        assert.throws(() => store.traceIdOf(bad), { name: 'TypeError', message: /traceIdOf: handle/ })
      }
    })

    it('early ids survive the table growing', () => {
      const store = new SegmentStore()
      const roots = []
      const ids = new Map()
      for (let t = 0; t < 40; t++) {
        const root = store.startTransaction(`t${t}`, 0)
        roots.push(root)
        ids.set(root, [store.traceIdOf(root), store.spanIdOf(root)])
        for (let i = 0; i < 30; i++) store.startSegment(root, 's', 1)
      }
      assert.ok(store.stats().capacity > 1024, 'the table grew')
      assert.deepEqual(store.verify(), [])
      for (const root of roots) {
        const [traceId, spanId] = ids.get(root)
        const trace = store.endTransaction(root, 2)
        assert.equal(trace.traceId, traceId)
        assert.equal(trace.segments[0].id, spanId)
      }
      assert.deepEqual(store.verify(), [])
    })
  })

  describe('table growth', () => {
    it('the table fills to seven eighths before it doubles: 2048 slots hold 1,792 open transactions, the next one grows it', () => {
      const s = new SegmentStore()
      const open = []
      const start = () => { open.push(s.startTransaction('t', open.length)) }
      // 1024 slots: the batch reserved at 768 live gets only 128 handles
      // (896 is seven eighths), so the 769th transaction grows the table.
      while (open.length < 768) start()
      assert.equal(s.stats().capacity, 1024)
      start()
      assert.equal(s.stats().capacity, 2048)
      // 2048 slots: batches of 256 fill it to exactly 1,792 live.
      while (open.length < 1792) start()
      assert.equal(s.stats().capacity, 2048)
      assert.equal(s.stats().liveSegments, 1792)
      assert.deepEqual(s.verify(), [])
      start()
      assert.equal(s.stats().capacity, 4096)
      assert.deepEqual(s.verify(), [])
      for (const h of open) assert.equal(s.isActive(h), true)
      for (const h of open) s.endTransaction(h, 1e4)
      assert.equal(s.stats().liveSegments, 0)
    })

    it('5,000 live segments across 50 transactions stay active and intact', () => {
      const s = new SegmentStore()
      assert.equal(s.stats().capacity, 1024)
      const txns = []
      for (let t = 0; t < 50; t++) txns.push({ handles: [s.startTransaction(`t${t}`, t)], recs: [{ parent: null, name: `t${t}`, start: t, end: NaN, attrs: [] }] })
      const capacities = new Set([1024])
      for (let i = 1; i < 100; i++) {
        for (let t = 0; t < 50; t++) {
          const x = txns[t]
          const parentIndex = i === 1 ? 0 : (i * 7 + t) % i
          const h = s.startSegment(x.handles[parentIndex], `s${t}.${i}`, t + i)
          assert.notEqual(h, null)
          x.handles.push(h)
          s.setAttribute(h, 'i', i)
          s.setAttribute(h, 't', `txn ${t}`)
          const rec = { parent: parentIndex, name: `s${t}.${i}`, start: t + i, end: NaN, attrs: [['i', i], ['t', `txn ${t}`]] }
          if (i % 3 === 0) {
            s.endSegment(h, t + i + 5)
            rec.end = t + i + 5
          }
          x.recs.push(rec)
        }
        capacities.add(s.stats().capacity)
      }
      const st = s.stats()
      assert.equal(st.liveSegments, 5000)
      assert.equal(st.liveTransactions, 50)
      assert.ok(8 * 5000 <= 7 * st.capacity, `capacity ${st.capacity} holds 5000 live at load 7/8`)
      assert.ok(capacities.size >= 4, `capacity grew step by step: ${[...capacities]}`)
      for (const c of capacities) assert.equal(Math.log2(c) % 1, 0, `capacity ${c} is a power of two`)
      assert.deepEqual(s.verify(), [])
      const all = new Set()
      for (const x of txns) {
        x.handles.forEach((h, k) => {
          assert.ok(isHandleValue(h))
          all.add(h)
          assert.equal(s.isActive(h), true)
          assert.equal(s.transactionOf(h), x.handles[0])
          assert.equal(s.nameOf(h), x.recs[k].name)
          assert.equal(s.parentOf(h), k === 0 ? null : x.handles[x.recs[k].parent])
        })
      }
      assert.equal(all.size, 5000)
      txns.forEach((x, t) => {
        const end = 500
        const got = t % 2 ? s.endTransaction(x.handles[0], end) : JSON.parse(s.endTransactionJSON(x.handles[t % 100], end))
        assert.deepEqual(normalize(got), expectedTrace(x.recs, end, 0), `transaction ${t}`)
      })
      assert.deepEqual(s.stats(), { ...FRESH_STATS, capacity: st.capacity, totalTransactions: 50, totalSegments: 5000 })
      assert.deepEqual(s.verify(), [])
      for (const h of all) assert.equal(s.isActive(h), false)
    })
  })

  describe('stats and verify', () => {
    it('stats counts live and total transactions and segments', () => {
      const s = new SegmentStore({ maxSegmentsPerTransaction: 3 })
      const rng = xorshift32(7)
      const live = []
      let totalT = 0
      let totalS = 0
      let dropped = 0
      let liveSegs = 0
      for (let i = 0; i < 300; i++) {
        const r = s.startTransaction('t', i)
        totalT++
        totalS++
        let n = 1
        const want = rng.int(5)
        for (let k = 0; k < want; k++) {
          if (s.startSegment(r, 's', i) === null) dropped++
          else { n++; totalS++ }
        }
        live.push([r, n])
        liveSegs += n
        if (rng.chance(0.85)) {
          const [h, m] = live.splice(rng.int(live.length), 1)[0]
          if (rng.chance(0.5)) s.endTransaction(h, i)
          else s.endTransactionJSON(h, i)
          liveSegs -= m
        }
        if (i % 50 === 0) {
          assert.deepEqual(s.stats(), {
            liveTransactions: live.length,
            liveSegments: liveSegs,
            capacity: 1024,
            totalTransactions: totalT,
            totalSegments: totalS,
            droppedSegments: dropped
          })
          assert.deepEqual(s.verify(), [])
        }
      }
      assert.ok(dropped > 0)
      for (const [h] of live) s.endTransaction(h, 1000)
      assert.deepEqual(s.stats(), { liveTransactions: 0, liveSegments: 0, capacity: 1024, totalTransactions: totalT, totalSegments: totalS, droppedSegments: dropped })
      assert.deepEqual(s.verify(), [])
    })
  })

  describe('leakReport', () => {
    it('lists old open transactions and open segments, oldest first', () => {
      const store = new SegmentStore()
      const old = store.startTransaction('old', 0)
      const open = store.startSegment(old, 'open', 10)
      const closed = store.startSegment(old, 'closed', 5)
      store.endSegment(closed, 6)
      const older = store.startSegment(old, 'older', 2)
      const young = store.startTransaction('young', 900)
      store.startSegment(young, 'young open', 950)
      const r = store.leakReport({ now: 1000, segmentOlderThanMs: 500, transactionOlderThanMs: 500 })
      assert.equal(r.now, 1000)
      assert.deepEqual(r.transactions, [{ handle: old, name: 'old', ageMs: 1000, segments: 4 }])
      assert.deepEqual(r.segments, [
        { handle: older, name: 'older', transaction: old, transactionName: 'old', ageMs: 998 },
        { handle: open, name: 'open', transaction: old, transactionName: 'old', ageMs: 990 }
      ])
      assert.deepEqual(store.leakReport({ now: 1000, segmentOlderThanMs: 500, transactionOlderThanMs: 500, limit: 1 }).transactions.length, 1)
      const lim = store.leakReport({ now: 1000, segmentOlderThanMs: 0, transactionOlderThanMs: 0, limit: 2 })
      assert.equal(lim.transactions.length + lim.segments.length, 2, 'limit counts all records')
      store.endTransaction(old, 1000)
      store.endTransaction(young, 1000)
      const empty = store.leakReport({ now: 5000, segmentOlderThanMs: 0, transactionOlderThanMs: 0 })
      assert.deepEqual([empty.transactions, empty.segments], [[], []], 'nothing after every transaction ended')
    })

    it('checks its options', () => {
      const store = new SegmentStore()
      assert.deepEqual(store.leakReport().transactions, [], 'defaults work')
      assert.throws(() => store.leakReport(null), { name: 'TypeError', message: /leakReport: options/ })
      assert.throws(() => store.leakReport({ limit: 0 }), { name: 'RangeError', message: /limit/ })
      assert.throws(() => store.leakReport({ limit: '5' }), { name: 'TypeError', message: /limit/ })
      assert.throws(() => store.leakReport({ now: -1 }), { name: 'RangeError', message: /now/ })
      assert.throws(() => store.leakReport({ segmentOlderThanMs: NaN }), { name: 'RangeError', message: /segmentOlderThanMs/ })
    })
  })
})
