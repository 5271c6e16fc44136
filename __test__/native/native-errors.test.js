'use strict'

// The N-API surface never aborts the process: a Rust panic and every
// malformed call come back as JS exceptions.

const test = require('node:test')
const assert = require('node:assert/strict')
const native = require('../../lib/native').binding
const { SegmentStore } = require('../..')

test('a Rust panic surfaces as a JS exception, and the addon keeps working', () => {
  assert.throws(() => native._panicForTest(), (err) => err instanceof Error && /deliberate panic/.test(err.message))
  const store = new SegmentStore()
  const t = store.startTransaction('after the panic', 0)
  assert.equal(store.endTransaction(t, 1).name, 'after the panic')
})

test('native calls with malformed buffers throw clear errors instead of crashing', () => {
  const L = native.layout()
  const good = new Float64Array(L.HEADER_LEN + L.COLUMNS * L.MIN_CAPACITY)
  native.initStore(good, L.MIN_CAPACITY)
  const cases = [
    ['empty buffer', () => native.reserve(new Float64Array(0), 1), /not a segment store buffer/],
    ['wrong magic', () => native.scan(new Float64Array(good.length)), /wrong magic/],
    ['wrong length', () => native.check(good.subarray(0, good.length - 1)), /does not match length/],
    ['not a typed array', () => native.scan({}), /TypedArray|Float64Array|expect/i],
    ['init with a bad capacity', () => native.initStore(new Float64Array(100), 1000), /capacity/],
    ['grow into itself', () => native.grow(good, good), /must not share memory/],
    ['grow into a misfit', () => native.grow(good, new Float64Array(5)), /fits no capacity/],
    ['finish into the store itself', () => native.finish(good, 0, 0, good), /must not share memory/],
    ['leaks into the store itself', () => native.leaks(good, 0, 0, 0, good), /must not share memory/]
  ]
  for (const [what, call, message] of cases) assert.throws(call, message, what)

  // A corrupted transaction is refused, not followed.
  const store = new SegmentStore()
  const t = store.startTransaction('t', 0)
  store.startSegment(t, 's', 1)
  const m = store._buffer
  const slot = t & (m[L.H_CAPACITY] - 1)
  m[L.HEADER_LEN + L.C_COUNT * m[L.H_CAPACITY] + slot] = 2 ** 40
  assert.throws(() => store.endTransaction(t, 2), /segment store is inconsistent/)
  assert.ok(store.verify().length > 0, 'verify reports the corruption')
})

test('bad store arrays or early ids leave the transaction in place', () => {
  const store = new SegmentStore()
  const t = store.startTransaction('t', 0)
  store._strings.sync()
  const finish = (side, ids) => native.finishJsonStrings(store._buffer, t, 1, 0, side, store._aInts, store._aNum, store._strings.table, ids)
  assert.throws(() => finish(new Int32Array(3)), /bad store arrays/)
  assert.equal(store.isActive(t), true)
  assert.throws(() => finish(store._side, 'xyz'), /early ids/)
  assert.equal(store.isActive(t), true)
  assert.equal(store.endTransaction(t, 1).name, 't')
  assert.deepEqual(store.verify(), [])
})
