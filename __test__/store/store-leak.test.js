'use strict'

// Nothing is left behind: after many transactions, every record is freed,
// the JS-side names and attributes with it (verify() checks those), and the
// table does not grow past what the concurrency needed.

const test = require('node:test')
const assert = require('node:assert/strict')
const { SegmentStore } = require('../..')
const { xorshift32, isHandleValue } = require('../helpers/store-util')

test('100k transactions of 20 segments, ended half as objects and half as JSON, leave nothing behind', () => {
  const s = new SegmentStore()
  const N = 100000
  const SEGS = 20
  const handles = new Array(SEGS)
  let checked = 0
  for (let i = 0; i < N; i++) {
    const t0 = i * 10
    const r = s.startTransaction('txn', t0)
    handles[0] = r
    s.setAttribute(r, 'i', i)
    for (let k = 1; k < SEGS; k++) {
      const h = s.startSegment(handles[(k - 1) >> 1], 'seg', t0 + k)
      handles[k] = h
      s.setAttribute(h, 'k', k)
      s.setAttribute(h, 'label', 'value')
      s.setAttribute(h, 'ok', true)
      if (k % 2) s.endSegment(h, t0 + k + 1)
    }
    if (i % 2) {
      const t = s.endTransaction(handles[i % SEGS], t0 + 25)
      if (i % 5000 === 1) {
        // Spot checks of the content.
        assert.equal(t.segmentCount, SEGS)
        assert.deepEqual(t.segments[0].attributes, { i })
        assert.deepEqual(t.segments[1].attributes, { k: 1, label: 'value', ok: true })
        assert.equal(t.duration, 25)
        checked++
      }
    } else {
      const json = s.endTransactionJSON(handles[i % SEGS], t0 + 25)
      if (i % 5000 === 0) {
        const t = JSON.parse(json)
        assert.equal(t.segmentCount, SEGS)
        assert.deepEqual(t.segments[0].attributes, { i })
        assert.equal(t.segments.filter((x) => x.truncated).length, 9)
        checked++
      }
    }
    if (i % 25000 === 0) {
      const st = s.stats()
      assert.equal(st.liveTransactions, 0)
      assert.equal(st.liveSegments, 0)
      assert.equal(st.capacity, 1024)
    }
  }
  assert.equal(checked, 40)
  for (const h of handles) assert.equal(s.isActive(h), false)
  assert.deepEqual(s.stats(), {
    liveTransactions: 0,
    liveSegments: 0,
    capacity: 1024,
    totalTransactions: N,
    totalSegments: N * SEGS,
    droppedSegments: 0
  })
  assert.deepEqual(s.verify(), [])
})

test('with one live transaction of 121 segments at a time the capacity stays 1024', () => {
  const s = new SegmentStore()
  for (let i = 0; i < 200; i++) {
    const r = s.startTransaction('big', 0)
    for (let k = 0; k < 120; k++) {
      const h = s.startSegment(r, 's', k)
      s.setAttribute(h, 'k', 'v')
    }
    if (i % 2) s.endTransaction(r, 200)
    else s.endTransactionJSON(r, 200)
  }
  const st = s.stats()
  assert.equal(st.capacity, 1024)
  assert.equal(st.liveSegments, 0)
  assert.deepEqual(s.verify(), [])
})

test('1000 concurrent transactions ended in random order leave nothing behind', () => {
  for (const seed of [1, 2, 3]) {
    const rng = xorshift32(seed * 0x2545f491)
    const s = new SegmentStore()
    const txns = []
    let segments = 0
    for (let i = 0; i < 1000; i++) {
      const r = s.startTransaction(`t${i}`, i)
      const hs = [r]
      txns.push(hs)
      segments++
    }
    // Interleave segment starts across the live transactions.
    for (let round = 0; round < 8; round++) {
      for (const hs of txns) {
        const h = s.startSegment(hs[rng.int(hs.length)], `s${round}`, 1000 + round)
        assert.ok(isHandleValue(h))
        s.setAttribute(h, 'round', round)
        if (rng.chance(0.5)) s.endSegment(h, 1000 + round + rng.int(5))
        hs.push(h)
        segments++
      }
    }
    const mid = s.stats()
    assert.equal(mid.liveTransactions, 1000)
    assert.equal(mid.liveSegments, segments)
    assert.ok(8 * segments <= 7 * mid.capacity, `capacity ${mid.capacity} for ${segments} live at load 7/8`)
    assert.deepEqual(s.verify(), [])
    // End in random order, through random members, half as JSON.
    const order = txns.map((_, i) => i)
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1)
      ;[order[i], order[j]] = [order[j], order[i]]
    }
    let n = 0
    for (const i of order) {
      const hs = txns[i]
      const by = hs[rng.int(hs.length)]
      const t = rng.chance(0.5) ? s.endTransaction(by, 2000) : JSON.parse(s.endTransactionJSON(by, 2000))
      assert.equal(t.segmentCount, 9)
      assert.equal(t.name, `t${i}`)
      for (const h of hs) assert.equal(s.isActive(h), false)
      if (++n % 250 === 0) {
        const st = s.stats()
        assert.equal(st.liveTransactions, 1000 - n)
        assert.equal(st.liveSegments, (1000 - n) * 9)
        assert.deepEqual(s.verify(), [])
      }
    }
    const st = s.stats()
    assert.equal(st.liveTransactions, 0)
    assert.equal(st.liveSegments, 0)
    assert.equal(st.totalTransactions, 1000)
    assert.equal(st.totalSegments, 9000)
    assert.deepEqual(s.verify(), [])
    // The store is reusable after the wave, without growing again.
    const cap = st.capacity
    const r = s.startTransaction('after', 0)
    s.startSegment(r, 'a', 1)
    assert.equal(s.endTransaction(r, 2).segmentCount, 2)
    assert.equal(s.stats().capacity, cap)
  }
})

test('repeated waves of concurrency do not grow the table further', () => {
  const s = new SegmentStore()
  const rng = xorshift32(99)
  let cap = 0
  for (let wave = 0; wave < 20; wave++) {
    const roots = []
    for (let i = 0; i < 300; i++) {
      const r = s.startTransaction('w', 0)
      for (let k = 0; k < 5; k++) s.startSegment(r, 's', k)
      roots.push(r)
    }
    if (wave === 0) cap = s.stats().capacity
    assert.equal(s.stats().capacity, cap, `wave ${wave}`)
    while (roots.length) {
      const r = roots.splice(rng.int(roots.length), 1)[0]
      if (rng.chance(0.5)) s.endTransaction(r, 10)
      else s.endTransactionJSON(r, 10)
    }
    assert.equal(s.stats().liveSegments, 0)
  }
  assert.ok(cap >= 4096, `1800 live segments need at least 4096 slots, got ${cap}`)
  assert.deepEqual(s.verify(), [])
})

// The sizing policy (segment-store.js, "Sizing"): shrink after SHRINK_AFTER
// (256) ends in a row under a quarter occupied, to at most half full; the
// arena likewise. `_aKey.length` is the arena's size (internal: no public
// figure says it).
function openTransaction (s, segments, t) {
  const r = s.startTransaction('t', t)
  for (let k = 1; k < segments; k++) {
    const h = s.startSegment(r, 's', t)
    s.setAttribute(h, 'db.statement', 'SELECT 1')
    s.setAttribute(h, 'rows', k)
    s.setAttribute(h, 'ok', true)
  }
  return r
}

test('a steady load never resizes the table or the arena; after a burst both shrink back', () => {
  const s = new SegmentStore()
  const live = []
  let t = 0
  // Steady: 200 transactions of 31 segments open, the oldest ended and a new one started, 3000 times.
  while (live.length < 200) live.push(openTransaction(s, 31, t++))
  const capacity = s.stats().capacity
  const arena = s._aKey.length
  for (let i = 0; i < 3000; i++) {
    s.endTransactionJSON(live.shift(), t)
    live.push(openTransaction(s, 31, t++))
    assert.equal(s.stats().capacity, capacity, `end ${i}: the table resized under a steady load`)
    assert.equal(s._aKey.length, arena, `end ${i}: the arena resized under a steady load`)
  }
  while (live.length) s.endTransaction(live.shift(), t)
  // Burst: 1,000 transactions of 51 segments open at once, then all ended.
  for (let i = 0; i < 1000; i++) live.push(openTransaction(s, 51, t++))
  const peak = { capacity: s.stats().capacity, arena: s._aKey.length }
  assert.ok(8 * 51000 <= 7 * peak.capacity && peak.capacity >= 65536, `peak capacity ${peak.capacity}`)
  while (live.length) s.endTransactionJSON(live.shift(), t)
  const after = { capacity: s.stats().capacity, arena: s._aKey.length }
  assert.ok(after.capacity <= peak.capacity / 4, `the table shrank after the burst: ${peak.capacity} -> ${after.capacity}`)
  assert.ok(after.arena <= peak.arena / 4, `the arena shrank after the burst: ${peak.arena} -> ${after.arena}`)
  assert.deepEqual(s.verify(), [])
})

test('a lull shorter than 256 ends does not shrink the table; a longer one does, to at most half full', () => {
  const s = new SegmentStore()
  const live = []
  for (let i = 0; i < 600; i++) live.push(s.startTransaction('t', i))
  for (const r of live) for (let k = 0; k < 8; k++) s.startSegment(r, 's', 0)
  assert.equal(s.stats().capacity, 8192) // 5,400 live: over 7/8 of 4096
  // Ending all 600 in order: at most 2048 / 9 (about 228) of the ends come
  // under a quarter occupied, fewer than 256.
  while (live.length) s.endTransaction(live.shift(), 1)
  assert.equal(s.stats().capacity, 8192)
  // The lull goes on: 256 more ends in a row at low occupancy shrink it.
  for (let i = 0; i < 256; i++) s.endTransaction(s.startTransaction('quiet', 2), 3)
  assert.equal(s.stats().capacity, 1024)
  assert.deepEqual(s.verify(), [])
})

test('strings: new names and values per transaction are collected; nothing waits for a binding that is never asked for JSON', () => {
  const s = new SegmentStore()
  const strings = s._strings
  for (let i = 0; i < 20000; i++) {
    const r = s.startTransaction(`GET /users/${i}`, i)
    const h = s.startSegment(r, `SELECT ${i}`, i)
    s.setAttribute(h, `key ${i % 3000}`, `value ${i}`)
    s.endSegment(h, i + 1)
    const t = s.endTransaction(r, i + 2)
    assert.equal(t.segments[1].name, `SELECT ${i}`)
    assert.deepEqual(t.segments[1].attributes, { [`key ${i % 3000}`]: `value ${i}` })
  }
  // 80,000 strings were made; the store keeps about twice the live ones
  // (none) plus the first limit, and none waits for a sync.
  assert.ok(strings.text.length <= 2048, `${strings.text.length} string ids after 80,000 strings`)
  assert.equal(strings.table, null)
  assert.deepEqual([strings._set.length, strings._removed.length], [0, 0])
  assert.deepEqual(s.verify(), [])
})

test('strings: with JSON now and then, what waits stays bounded and the JSON names the right strings', () => {
  const s = new SegmentStore()
  const strings = s._strings
  let refills = 0
  let kept = 0
  let table = null
  for (let i = 0; i < 30000; i++) {
    const r = s.startTransaction(`txn ${i}`, i)
    const h = s.startSegment(r, `seg ${i}`, i)
    s.setAttribute(h, 'v', `value ${i}`)
    s.endSegment(h, i + 1)
    // JSON every 97 ends in the first half, every 1,999 in the second.
    if (i % (i < 15000 ? 97 : 1999) === 0) {
      const json = JSON.parse(s.endTransactionJSON(r, i + 2))
      assert.deepEqual(json.segments.map((x) => x.name), [`txn ${i}`, `seg ${i}`])
      assert.deepEqual(json.segments[1].attributes, { v: `value ${i}` })
      if (strings.table !== table) refills++
      else kept++
      table = strings.table
    } else {
      s.endTransaction(r, i + 2)
    }
    const waiting = strings._set.length + strings._removed.length
    assert.ok(waiting <= 4 * strings.limit, `${waiting} edits wait, the limit is ${strings.limit}`)
  }
  // 96 ends make about 300 strings: the table was kept up through
  // collections; 1,998 ends make 6,000, more edits than may wait: the
  // table was dropped and refilled.
  assert.ok(kept >= 100, `${kept} JSON ends on a kept-up table`)
  assert.ok(refills >= 5, `${refills} tables filled`)
  assert.deepEqual(s.verify(), [])
})
