'use strict'

// The same random store programs on a SegmentStore over the native addon and
// one over the pure-JS backend (defineSegmentStore(binding) for each): start
// and end transactions and segments, attributes, spanIdOf/traceIdOf,
// endTransaction/endTransactionJSON, stats, leakReport, verify, growth past
// 1024 slots, bad arguments now and then. Every result is compared (ids
// masked: they are random) and so are the two stores' buffers, bit for bit.
// Both stores start with the same sweep counter, so they hand out the same
// handles.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fc = require('fast-check')
const { fcParams } = require('../helpers/long')
const { loadNative } = require('../helpers/native')

const native = loadNative()
const jsBackend = require('../../lib/native/js-backend')
const { defineSegmentStore } = require('../../lib/store/segment-store')

const NativeStore = defineSegmentStore(native)
const JsStore = defineSegmentStore(jsBackend)
const H_NEXT = native.layout().H_NEXT

/** Calls `f(store)` and says what happened: a value, or an error's class and message. */
function outcome (store, f) {
  try {
    return { value: f(store) }
  } catch (e) {
    return { error: { class: e?.constructor?.name, code: e?.code, message: e?.message } }
  }
}

/** Asserts the two stores' buffers hold the same bits. */
function sameBuffers (a, b, what) {
  const x = Buffer.from(a._buffer.buffer, a._buffer.byteOffset, a._buffer.byteLength)
  const y = Buffer.from(b._buffer.buffer, b._buffer.byteOffset, b._buffer.byteLength)
  if (x.equals(y)) return
  assert.equal(a._buffer.length, b._buffer.length, `${what}: buffer lengths`)
  for (let i = 0; i < a._buffer.length; i++) {
    if (!x.subarray(8 * i, 8 * i + 8).equals(y.subarray(8 * i, 8 * i + 8))) {
      assert.fail(`${what}: the buffers differ first at index ${i}: native ${a._buffer[i]}, js ${b._buffer[i]}`)
    }
  }
}

/**
 * Replaces ids (16 or 32 lowercase hex digits) by the order they first appear
 * in, in a value or a JSON string, so two stores' random ids compare.
 */
function maskIds (value, seen = new Map()) {
  const mask = (id) => {
    if (!seen.has(id)) seen.set(id, seen.size)
    return `#${seen.get(id)}`
  }
  if (typeof value === 'string') {
    if (/^([0-9a-f]{16}|[0-9a-f]{32})$/.test(value)) return mask(value)
    return value.replace(/"(traceId|id|parentId)":"([0-9a-f]*)"/g, (_, key, id) => `"${key}":"${mask(id)}"`)
  }
  if (Array.isArray(value)) return value.map((v) => maskIds(v, seen))
  if (value !== null && typeof value === 'object') {
    const out = {}
    for (const k of Object.keys(value)) {
      const v = value[k]
      out[k] = (k === 'id' || k === 'parentId' || k === 'traceId') && typeof v === 'string' ? mask(v) : maskIds(v, seen)
    }
    return out
  }
  return value
}

/** Every id a finished trace (object or JSON) holds, for the early ids handed out. */
function idsOf (trace) {
  if (trace === null || trace === undefined) return new Set()
  const t = typeof trace === 'string' ? JSON.parse(trace) : trace
  return new Set([t.traceId, ...t.segments.map((s) => s.id)])
}

// ---------------------------------------------------------------------------

const time = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 5000 }) },
  { weight: 3, arbitrary: fc.double({ min: 0, max: 1e7, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 1e21, 1e-7, 5e-324, 2 ** 53) }
)
const badTime = fc.constantFrom(NaN, -1, Infinity, '5', {}) // not null: leakReport takes it for "now"
const name = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 }), fc.constantFrom('"', '\\', '\ud800', '\u2028', 'x'.repeat(300)))
const value = fc.oneof(name, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constantFrom(-0, 1e21, 5e-324))
const pick = fc.nat()

const command = fc.oneof(
  { weight: 6, arbitrary: fc.record({ c: fc.constant('txn'), name, t: time }) },
  { weight: 12, arbitrary: fc.record({ c: fc.constant('seg'), p: pick, name, t: time }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('burst'), p: pick, k: fc.integer({ min: 1, max: 150 }), t: time }) },
  { weight: 8, arbitrary: fc.record({ c: fc.constant('end'), p: pick, t: time }) },
  { weight: 6, arbitrary: fc.record({ c: fc.constant('attr'), p: pick, key: name, v: value }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('spanId'), p: pick }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('traceId'), p: pick }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('lookup'), p: pick, what: fc.constantFrom('isActive', 'transactionOf', 'parentOf', 'nameOf') }) },
  { weight: 4, arbitrary: fc.record({ c: fc.constant('endTxn'), p: pick, t: time }) },
  { weight: 4, arbitrary: fc.record({ c: fc.constant('endJson'), p: pick, t: time }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('endBytes'), p: pick, t: time }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('stats') }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('leaks'), now: time, seg: time, txn: time, limit: fc.integer({ min: 1, max: 50 }) }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('verify') }) },
  {
    weight: 1,
    arbitrary: fc.record({
      c: fc.constant('bad'),
      p: pick,
      call: fc.constantFrom('startSegment', 'endSegment', 'endTransaction', 'endTransactionJSON', 'endTransactionJSONBytes', 'setAttribute', 'startTransaction', 'leakReport'),
      v: badTime
    })
  }
)

/** A handle the program has seen: mostly one still active, else any (ended ones too). */
function pickFrom (handles, p, store) {
  if (handles.length === 0) return null
  if (p % 10 < 7) {
    const live = handles.filter((h) => store.isActive(h))
    if (live.length > 0) return live[Math.floor(p / 10) % live.length]
  }
  return handles[p % handles.length]
}

/** Runs `program` on a native-backed and a JS-backed store, comparing after each command. */
function runProgram (next, options, program) {
  const stores = { n: new NativeStore(options), j: new JsStore(options) }
  stores.n._buffer[H_NEXT] = next
  stores.j._buffer[H_NEXT] = next
  sameBuffers(stores.n, stores.j, 'constructed')
  const handles = []
  const early = { n: new Map(), j: new Map() } // root handle -> ids handed out early
  const earlyOf = (key, h) => {
    const store = stores[key]
    const rootHandle = store.transactionOf(h)
    if (!early[key].has(rootHandle)) early[key].set(rootHandle, [])
    return early[key].get(rootHandle)
  }

  for (const [i, cmd] of program.entries()) {
    const what = `command ${i} ${JSON.stringify(cmd)}`
    const h = pickFrom(handles, cmd.p ?? 0, stores.n)
    const run = (f, compare = (a, b) => assert.deepStrictEqual(maskIds(b), maskIds(a), what)) => {
      const a = outcome(stores.n, (s) => f(s, 'n'))
      const b = outcome(stores.j, (s) => f(s, 'j'))
      assert.deepStrictEqual(b.error, a.error, `${what}: errors`)
      if (a.error === undefined) compare(a.value, b.value)
      sameBuffers(stores.n, stores.j, what)
      return a.value
    }
    switch (cmd.c) {
      case 'txn': {
        const made = run((s) => s.startTransaction(cmd.name, cmd.t), (a, b) => assert.equal(b, a, what))
        if (typeof made === 'number') handles.push(made)
        break
      }
      case 'seg': {
        const made = run((s) => s.startSegment(h, cmd.name, cmd.t), (a, b) => assert.equal(b, a, what))
        if (typeof made === 'number') handles.push(made)
        break
      }
      case 'burst': {
        const made = run((s) => {
          let parent = h
          if (!s.isActive(parent)) parent = s.startTransaction('burst', cmd.t)
          const list = [parent]
          for (let k = 0; k < cmd.k; k++) {
            const seg = s.startSegment(list[k % 3 === 0 ? 0 : list.length - 1], `b${k}`, cmd.t + k)
            if (seg === null) break
            list.push(seg)
          }
          return list
        })
        if (made !== undefined) handles.push(...made)
        break
      }
      case 'end':
        run((s) => s.endSegment(h, cmd.t))
        break
      case 'attr':
        run((s) => s.setAttribute(h, cmd.key, cmd.v))
        break
      case 'spanId':
      case 'traceId':
        run((s, key) => {
          const id = cmd.c === 'spanId' ? s.spanIdOf(h) : s.traceIdOf(h)
          if (id !== null) earlyOf(key, h).push(id)
          return id
        }, (a, b) => {
          assert.equal(b === null, a === null, what)
          if (a !== null) {
            assert.match(a, cmd.c === 'spanId' ? /^[0-9a-f]{16}$/ : /^[0-9a-f]{32}$/)
            assert.match(b, cmd.c === 'spanId' ? /^[0-9a-f]{16}$/ : /^[0-9a-f]{32}$/)
          }
        })
        break
      case 'lookup':
        run((s) => s[cmd.what](h))
        break
      case 'endTxn':
      case 'endJson':
      case 'endBytes':
        run((s, key) => {
          const rootHandle = s.transactionOf(h)
          const handed = early[key].get(rootHandle) ?? []
          let trace = cmd.c === 'endTxn'
            ? s.endTransaction(h, cmd.t)
            : cmd.c === 'endJson' ? s.endTransactionJSON(h, cmd.t) : s.endTransactionJSONBytes(h, cmd.t)
          // The bytes form holds the JSON's UTF-8; compared as its text.
          if (cmd.c === 'endBytes' && trace !== null) {
            assert.ok(Buffer.isBuffer(trace), `${what}: a Buffer (${key})`)
            trace = trace.toString('utf8')
          }
          // The ids handed out early are the trace's ids.
          const ids = idsOf(trace)
          for (const id of handed) assert.ok(ids.has(id), `${what}: early id ${id} kept (${key})`)
          early[key].delete(rootHandle)
          return trace
        }, (a, b) => {
          assert.equal(b === null, a === null, `${what}: null`)
          if (typeof a === 'string') assert.equal(maskIds(b), maskIds(a), what)
          else assert.deepStrictEqual(maskIds(b), maskIds(a), what)
        })
        break
      case 'stats':
        run((s) => s.stats())
        break
      case 'leaks':
        run((s) => s.leakReport({ now: cmd.now, segmentOlderThanMs: cmd.seg, transactionOlderThanMs: cmd.txn, limit: cmd.limit }))
        break
      case 'verify':
        run((s) => {
          const problems = s.verify()
          assert.deepStrictEqual(problems, [], 'a store driven through its API stays sound')
          return problems
        })
        break
      case 'bad':
        run((s) => {
          switch (cmd.call) {
            case 'startSegment': return s.startSegment(h, 'x', cmd.v)
            case 'endSegment': return s.endSegment(h, cmd.v)
            case 'endTransaction': return s.endTransaction(h, cmd.v)
            case 'endTransactionJSON': return s.endTransactionJSON(h, cmd.v)
            case 'endTransactionJSONBytes': return s.endTransactionJSONBytes(h, cmd.v)
            case 'setAttribute': return s.setAttribute(h, 'k', typeof cmd.v === 'number' ? cmd.v : undefined)
            case 'startTransaction': return s.startTransaction('t', cmd.v)
            case 'leakReport': return s.leakReport({ now: cmd.v })
          }
        })
        break
    }
  }
  // At the end: the same stats, the same problems (none), and finishing what
  // is left gives the same traces.
  run0(stores, 'final stats', (s) => s.stats())
  run0(stores, 'final verify', (s) => s.verify())
  for (const h of handles) {
    run0(stores, `final end of ${h}`, (s) => (s.isActive(h) ? s.endTransactionJSON(h, 1e7) : null))
  }
  return stores
}

/** One comparison outside a program's commands. */
function run0 (stores, what, f) {
  const a = outcome(stores.n, f)
  const b = outcome(stores.j, f)
  assert.deepStrictEqual(maskIds(b), maskIds(a), what)
  sameBuffers(stores.n, stores.j, what)
}

const options = fc.record({
  maxSegmentsPerTransaction: fc.constantFrom(undefined, 5, 50, 900),
  maxAttributesPerSegment: fc.constantFrom(undefined, 0, 2, 64),
  maxAttributeValueLength: fc.constantFrom(undefined, 1, 8, 255)
})

describe('a store over the JS backend behaves as one over the native addon', () => {
  it('random programs: same results (ids masked), same errors, same buffers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 30 - 1 }), options, fc.array(command, { minLength: 1, maxLength: 70, size: 'large' }),
        (next, opts, program) => { runProgram(next, opts, program) }),
      fcParams(200)
    )
  })

  it('programs that grow the table past 1024 slots', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 30 - 1 }), fc.array(command, { maxLength: 30 }), (next, tail) => {
        const program = []
        for (let i = 0; i < 8; i++) program.push({ c: 'burst', p: 1e6 + i, k: 140, t: i * 10 })
        program.push({ c: 'stats' }, { c: 'verify' }, ...tail, { c: 'leaks', now: 1e6, seg: 0, txn: 0, limit: 50 })
        const stores = runProgram(next, { maxSegmentsPerTransaction: 900 }, program)
        assert.ok(stores.j._capacity >= 2048, `grew to ${stores.j._capacity}`)
        assert.equal(stores.j._capacity, stores.n._capacity)
      }),
      fcParams(15)
    )
  })
})
