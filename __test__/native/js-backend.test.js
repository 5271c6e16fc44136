'use strict'

// The pure-JS backend (lib/native/js-backend.js) against the native addon:
// a property test drives both with the same random command lists over two
// buffers that start equal (the store's hot path emulated on the buffer,
// reserve, grow, finish, finishJson, scan, leaks, check, fields corrupted
// now and then), and compares after every command the whole buffer bit for
// bit, the results, the rows, the JSON (ids masked: they are random) and
// the errors. Unit tests cover the layout, JSON numbers and strings, ids and
// every error path.
//
// The native binary is loaded by path; a missing one is built first, and
// one that cannot be loaded fails the suite (nothing is skipped).
// SEGMENT_CONTEXT_NATIVE_PATH=<file> tests another build of the addon.

const { describe, it, before } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const crypto = require('node:crypto')
const fc = require('fast-check')
const { fcParams } = require('../helpers/long')

const root = path.join(__dirname, '..', '..')
const { nativePath, loadNative } = require('../helpers/native')
const backendPath = path.join(root, 'lib', 'native', 'js-backend.js')

const N = loadNative()
const J = require(backendPath)
const L = N.layout()
const { HEADER_LEN, COLUMNS, MIN_CAPACITY, RESERVE_MAX, H_NEXT, H_RESERVED, H_RESERVE, H_CAPACITY } = L

const bufferLen = (cap) => HEADER_LEN + COLUMNS * cap
const col = (cap, k) => HEADER_LEN + k * cap

/** Calls `f(binding)` and says what happened: a value or an error's class, code and message. */
function outcome (binding, f) {
  try {
    return { value: f(binding) }
  } catch (e) {
    return { error: { class: e?.constructor?.name, code: e?.code, message: e?.message, keys: Object.keys(e ?? {}) } }
  }
}

/** Asserts two Float64Arrays hold the same bits. */
function sameBits (a, b, what) {
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength)
  const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  if (x.equals(y)) return
  for (let i = 0; i < a.length; i++) {
    if (!x.subarray(8 * i, 8 * i + 8).equals(y.subarray(8 * i, 8 * i + 8))) {
      assert.fail(`${what}: the buffers differ first at index ${i}: native ${a[i]}, js ${b[i]} (length ${a.length})`)
    }
  }
  assert.fail(`${what}: the buffers differ in length`)
}

/** Asserts two arrays of numbers are equal element by element (NaN equals NaN, -0 is not 0). */
function sameNumbers (a, b, what) {
  assert.equal(a.length, b.length, `${what}: length`)
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: index ${i}: native ${a[i]}, js ${b[i]}`)
  }
}

/** Replaces every id in a trace's JSON by the order it first appears in, so random ids compare. */
function maskJson (json) {
  if (typeof json !== 'string') return json
  const seen = new Map()
  return json.replace(/"(traceId|id|parentId)":"([0-9a-f]*)"/g, (_, key, id) => {
    if (!seen.has(id)) seen.set(id, seen.size)
    return `"${key}":"#${seen.get(id)}"`
  })
}

/** Checks the ids string `finish` returns: 32 hex digits, then 16 per row, none all zeros. */
function checkIdString (ids, rows, what) {
  assert.equal(typeof ids, 'string', what)
  assert.match(ids, /^[0-9a-f]*$/, `${what}: lowercase hex`)
  assert.equal(ids.length, 32 + 16 * rows, `${what}: length`)
  assert.notEqual(ids.slice(0, 32), '0'.repeat(32), `${what}: trace id all zeros`)
  for (let k = 0; k < rows; k++) assert.notEqual(ids.slice(32 + 16 * k, 48 + 16 * k), '0'.repeat(16), `${what}: span id ${k} all zeros`)
}

/** Checks every id in a trace's JSON is lowercase hex of the right length and not all zeros. */
function checkJsonIds (json, what) {
  const trace = /^\{"traceId":"([^"]*)"/.exec(json)
  assert.ok(trace, `${what}: starts with a traceId`)
  assert.match(trace[1], /^[0-9a-f]{32}$/, `${what}: trace id`)
  assert.notEqual(trace[1], '0'.repeat(32), `${what}: trace id all zeros`)
  for (const [, id] of json.matchAll(/"id":"([^"]*)"/g)) {
    assert.match(id, /^[0-9a-f]{16}$/, `${what}: span id`)
    assert.notEqual(id, '0'.repeat(16), `${what}: span id all zeros`)
  }
}

/**
 * One side of the comparison: a binding and its buffer, with the store's hot
 * path (lib/store/segment-store.js: _pop, startTransaction, startSegment,
 * endSegment) emulated on the buffer as the store does it.
 */
class Side {
  constructor (binding, cap, next) {
    this.b = binding
    this.m = new Float64Array(bufferLen(cap))
    binding.initStore(this.m, cap)
    this.m[H_NEXT] = next
  }

  get cap () { return this.m[H_CAPACITY] }

  at (k, s) { return col(this.cap, k) + s }

  grow () {
    const cap = this.cap * 2
    if (cap > L.MAX_CAPACITY) throw new RangeError('full')
    const m = new Float64Array(bufferLen(cap))
    this.b.grow(this.m, m)
    this.m = m
  }

  pop () {
    let n = this.m[H_RESERVED]
    if (n === 0) {
      n = this.b.reserve(this.m, RESERVE_MAX)
      if (n < RESERVE_MAX && this.cap < L.MAX_CAPACITY) {
        this.grow()
        n = this.b.reserve(this.m, RESERVE_MAX)
      }
      if (n === 0) this.grow()
    }
    n -= 1
    this.m[H_RESERVED] = n
    return this.m[H_RESERVE + n]
  }

  isActive (h) {
    if (typeof h !== 'number' || (h & L.MAX_HANDLE) !== h) return false
    const s = h & (this.cap - 1)
    return this.m[this.at(L.C_HANDLE, s)] === h && this.m[this.at(L.C_ROOT, s)] >= 0
  }

  startTransaction (t) {
    const h = this.pop()
    const M = this.m
    const s = h & (this.cap - 1)
    M[this.at(L.C_ROOT, s)] = h
    M[this.at(L.C_PARENT, s)] = L.NONE
    M[this.at(L.C_NEXT, s)] = L.NONE
    M[this.at(L.C_START, s)] = t
    M[this.at(L.C_END, s)] = NaN
    M[this.at(L.C_COUNT, s)] = 1
    M[this.at(L.C_DROPPED, s)] = 0
    M[this.at(L.C_TAIL, s)] = h
    M[L.H_LIVE_TXN]++
    M[L.H_TOTAL_TXN]++
    M[L.H_LIVE_SEG]++
    M[L.H_TOTAL_SEG]++
    return h
  }

  startSegment (parent, t, maxSegments) {
    if (!this.isActive(parent)) return null
    const root = this.m[this.at(L.C_ROOT, parent & (this.cap - 1))]
    let rs = root & (this.cap - 1)
    if (this.m[this.at(L.C_COUNT, rs)] >= maxSegments) {
      this.m[this.at(L.C_DROPPED, rs)]++
      this.m[L.H_DROPPED]++
      return null
    }
    const h = this.pop()
    const mask = this.cap - 1
    const M = this.m
    rs = root & mask
    const s = h & mask
    M[this.at(L.C_ROOT, s)] = root
    M[this.at(L.C_PARENT, s)] = parent
    M[this.at(L.C_NEXT, s)] = L.NONE
    M[this.at(L.C_START, s)] = t
    M[this.at(L.C_END, s)] = NaN
    M[this.at(L.C_NEXT, M[this.at(L.C_TAIL, rs)] & mask)] = h
    M[this.at(L.C_TAIL, rs)] = h
    M[this.at(L.C_COUNT, rs)]++
    M[L.H_LIVE_SEG]++
    M[L.H_TOTAL_SEG]++
    return h
  }

  endSegment (h, t) {
    if (!this.isActive(h)) return
    const s = h & (this.cap - 1)
    const e = this.at(L.C_END, s)
    // eslint-disable-next-line no-self-compare -- the store's own test for "still open"
    if (this.m[e] !== this.m[e]) {
      const start = this.m[this.at(L.C_START, s)]
      this.m[e] = t < start ? start : t
    }
  }
}

// What the newer functions' commands gave, over all programs: a property
// test whose shrink never fits, or whose keyed payloads always fail, would
// compare little.
const outcomes = new Map()
function tally (what, r) {
  const key = `${what}: ${r.error !== undefined ? 'error' : r.value === null ? 'null' : typeof r.value === 'boolean' ? r.value : 'value'}`
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
}

/** Runs `f` on both sides and asserts the same outcome and the same buffers. */
function both (pair, what, f, compareValue = (a, b) => assert.deepStrictEqual(a, b, what)) {
  const a = outcome(pair.n.b, (b) => f(pair.n, b))
  const b = outcome(pair.j.b, (b) => f(pair.j, b))
  if (what.includes('"c":"shrink"')) tally('shrink', a)
  else if (what.includes('"keyed":true')) tally('finishJsonKeyed', a)
  assert.deepStrictEqual(a.error, b.error, `${what}: errors`)
  if (a.error === undefined) compareValue(a.value, b.value)
  sameBits(pair.n.m, pair.j.m, what)
  return a
}

// ---------------------------------------------------------------------------
// Generators of the property test.

const specials = [0, -0, 1, -1, -2, 0.5, 1.5, NaN, Infinity, -Infinity, 1e21, 1e-7, 5e-324, 2 ** 30, 2 ** 30 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e300, -1e300]
const time = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 2000 }) },
  { weight: 3, arbitrary: fc.double({ min: 0, max: 1e6, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1e21, 1e-7, 5e-324, 2 ** 53, 1e300) }
)
const anyNumber = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...specials) },
  { weight: 2, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.integer({ min: -5, max: 5000 }) }
)
const text = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('', '"', '\\', '\u0000\u001f\u007f', '\ud800', '\udc00x', '\ud83d\ude00', '\u2028\u2029', 'é')
)
const attrValue = fc.oneof(text, anyNumber.filter(Number.isFinite), fc.boolean())
const pick = fc.nat()
/** Mostly null (take a handle the program made), now and then `arb`. */
const rarely = (arb) => fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb })

const command = fc.oneof(
  { weight: 8, arbitrary: fc.record({ c: fc.constant('txn'), t: time, name: text }) },
  { weight: 14, arbitrary: fc.record({ c: fc.constant('seg'), p: pick, t: time, name: text }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('burst'), p: pick, k: fc.integer({ min: 1, max: 120 }), t: time }) },
  { weight: 8, arbitrary: fc.record({ c: fc.constant('end'), p: pick, t: time }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('attr'), p: pick, key: text, v: attrValue }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('early'), p: pick, which: fc.constantFrom('span', 'trace') }) },
  { weight: 5, arbitrary: fc.record({ c: fc.constant('finish'), p: pick, h: rarely(anyNumber), t: time, room: fc.constantFrom('fit', 'fit', 'fit', 'big', 'short', 'empty') }) },
  {
    weight: 5,
    arbitrary: fc.record({
      c: fc.constant('json'),
      p: pick,
      h: rarely(anyNumber),
      t: time,
      origin: fc.oneof(fc.constant(1.7e12 + 0.25), anyNumber),
      bad: rarely(fc.constantFrom('cut', 'kind', 'length', 'text', 'count', 'ids-length', 'ids-trace', 'ids-span', 'ids-unicode', 'key-count', 'key-at', 'key-length', 'key-index', 'key-short')),
      upper: fc.boolean(),
      keyed: fc.boolean()
    })
  },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('reserve'), want: fc.constantFrom(0, 1, 7, 256, 300, -1, 2.5, NaN, 2 ** 32 + 3) }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('grow'), how: fc.constantFrom('double', 'same', 'quad', 'misfit', 'shrink') }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('shrink'), how: fc.constantFrom('half', 'half', 'quarter', 'min', 'same', 'larger', 'misfit', 'odd', 'overlap') }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('scan') }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('leaks'), now: anyNumber, seg: anyNumber, txn: anyNumber, room: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('check') }) },
  {
    weight: 2,
    arbitrary: fc.record({
      c: fc.constant('corrupt'),
      where: fc.oneof(
        fc.record({ header: fc.integer({ min: 0, max: HEADER_LEN - 1 }) }),
        fc.record({ column: fc.integer({ min: 0, max: COLUMNS - 1 }), p: pick, live: fc.boolean() })
      ),
      v: fc.oneof(anyNumber, fc.record({ handleOf: pick }), fc.constant({ nanBits: true }))
    })
  },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('init'), cap: fc.constantFrom(1024, 2048, 1000), next: fc.oneof(fc.integer({ min: 0, max: 2 ** 30 - 1 }), fc.constantFrom(2 ** 30 - 3, 0)) }) }
)

/**
 * One of the handles the program has seen: seven times in ten one still
 * active in `side` (when there is one), else any, ended ones included.
 */
function pickFrom (list, p, side) {
  if (list.length === 0) return 0
  if (side !== undefined && p % 10 < 7) {
    const live = list.filter((h) => side.isActive(h))
    if (live.length > 0) return live[Math.floor(p / 10) % live.length]
  }
  return list[p % list.length]
}

/** Pushes an attribute value's kind and value onto a payload's meta; returns the text it adds. */
function pushValue (meta, v) {
  if (typeof v === 'string') {
    meta.push(0, v.length)
    return v
  }
  if (typeof v === 'number') meta.push(1, v)
  else meta.push(2, v ? 1 : 0)
  return ''
}

/**
 * The payload `finishJson` takes for the transaction of `handle`, built the
 * way lib/store/payload.js builds it (walking NEXT from the root) from the
 * names and attributes the program gave. Bounded, so a corrupted list still
 * gives some payload.
 */
function payloadFor (side, handle, names, attrs, early, cmd) {
  const m = side.m
  const cap = side.cap
  const mask = cap - 1
  const root = m[col(cap, L.C_ROOT) + (handle & mask)]
  let n = m[col(cap, L.C_COUNT) + (root & mask)]
  n = Number.isInteger(n) && n >= 1 && n <= 2000 ? n : 1
  // Keyed (finishJsonKeyed): meta starts with the key count and where the
  // key lengths start, keys are named by index, and their texts come first.
  const meta = cmd.keyed ? [0, 0] : []
  const keyIndex = new Map()
  let keyText = ''
  let textOut = ''
  const handles = []
  let cur = root
  for (let k = 0; k < n; k++) {
    handles.push(cur)
    const name = names.get(cur) ?? 'unnamed'
    textOut += name
    meta.push(name.length)
    const list = attrs.get(cur) ?? []
    meta.push(list.length / 2)
    for (let i = 0; i < list.length; i += 2) {
      const key = list[i]
      const v = list[i + 1]
      if (cmd.keyed) {
        if (!keyIndex.has(key)) {
          keyIndex.set(key, keyIndex.size)
          keyText += key
        }
        meta.push(keyIndex.get(key))
      } else {
        textOut += key
        meta.push(key.length)
      }
      textOut += pushValue(meta, v)
    }
    cur = m[col(cap, L.C_NEXT) + (cur & mask)]
  }
  if (cmd.keyed) {
    meta[0] = keyIndex.size
    meta[1] = meta.length
    for (const key of keyIndex.keys()) meta.push(key.length)
    textOut = keyText + textOut
  }
  let ids
  const traceId = early.traces.get(root)
  if (traceId !== undefined || handles.some((h) => early.spans.has(h))) {
    ids = traceId ?? '0'.repeat(32)
    for (const h of handles) ids += early.spans.get(h) ?? '0'.repeat(16)
    if (cmd.upper) ids = ids.toUpperCase()
  }
  switch (cmd.bad) {
    case 'cut': meta.length = Math.max(0, meta.length - 1); break
    case 'kind': meta.push(0); if (meta.length > 4) meta[3] = 7; break
    case 'length': meta[0] = -0.5; break
    case 'text': textOut = textOut.slice(0, -1); break
    case 'count': meta[1] = 65537; break
    case 'ids-length': ids = (ids ?? '0'.repeat(32)) + '0'; break
    case 'ids-trace': ids = 'g'.repeat(32) + '0'.repeat(16 * n); break
    case 'ids-span': ids = '1'.repeat(32) + 'x' + '0'.repeat(16 * n - 1); break
    case 'ids-unicode': ids = 'é'.repeat(16) + '0'.repeat(16 * n); break
    case 'key-count': meta[0] = cmd.keyed ? [2 ** 24 + 1, -1, 0.5, NaN][n % 4] : meta[0]; break
    case 'key-at': meta[1] = [0, 1, meta.length + 1, 2.5, 2 ** 53][n % 5]; break
    case 'key-length': if (cmd.keyed && meta[0] > 0) meta[meta[1]] = [-1, 0.5, 1e9][n % 3]; break
    case 'key-index': if (cmd.keyed && meta.length > 4 && meta[3] > 0) meta[4] = [meta[0], -1, 0.5, NaN][n % 4]; break
    case 'key-short': meta.length = Math.min(meta.length, n % 3); break
  }
  return { meta: new Float64Array(meta), text: textOut, ids, early: { traceId, spans: handles.map((h) => early.spans.get(h)).filter(Boolean) } }
}

/** Runs one program of commands on both backends, comparing after each. */
function runProgram (next, program) {
  const pair = { n: new Side(N, MIN_CAPACITY, next), j: new Side(J, MIN_CAPACITY, next) }
  sameBits(pair.n.m, pair.j.m, 'init')
  const handles = [] // every handle handed out, live or not
  const names = new Map()
  const attrs = new Map()
  const early = { spans: new Map(), traces: new Map() }
  const maxSegments = 40
  for (const [i, cmd] of program.entries()) {
    const what = `command ${i} ${JSON.stringify(cmd)}`
    switch (cmd.c) {
      case 'txn': {
        const r = both(pair, what, (side) => side.startTransaction(cmd.t))
        if (r.value !== undefined) {
          handles.push(r.value)
          names.set(r.value, cmd.name)
        }
        break
      }
      case 'seg': {
        const parent = pickFrom(handles, cmd.p, pair.n)
        const r = both(pair, what, (side) => side.startSegment(parent, cmd.t, maxSegments))
        if (typeof r.value === 'number') {
          handles.push(r.value)
          names.set(r.value, cmd.name)
        }
        break
      }
      case 'burst': {
        const parent = pickFrom(handles, cmd.p, pair.n)
        const r = both(pair, what, (side) => {
          let p = parent
          const made = []
          if (!side.isActive(p)) p = side.startTransaction(cmd.t)
          made.push(p)
          for (let k = 0; k < cmd.k; k++) {
            const h = side.startSegment(p, cmd.t + k, 1e9)
            if (h === null) break
            made.push(h)
          }
          return made
        })
        if (r.value !== undefined) for (const h of r.value) handles.push(h)
        break
      }
      case 'end': {
        const h = pickFrom(handles, cmd.p, pair.n)
        both(pair, what, (side) => side.endSegment(h, cmd.t))
        break
      }
      case 'attr': {
        const h = pickFrom(handles, cmd.p, pair.n)
        const list = attrs.get(h) ?? []
        if (cmd.key !== '') list.push(cmd.key, cmd.v)
        attrs.set(h, list)
        break
      }
      case 'early': {
        const h = pickFrom(handles, cmd.p, pair.n)
        if (cmd.which === 'span') {
          early.spans.set(h, crypto.randomBytes(8).toString('hex'))
        } else if (pair.n.isActive(h)) {
          const rootHandle = pair.n.m[pair.n.at(L.C_ROOT, h & (pair.n.cap - 1))]
          early.traces.set(rootHandle, crypto.randomBytes(16).toString('hex'))
        }
        break
      }
      case 'finish': {
        const h = cmd.h ?? pickFrom(handles, cmd.p, pair.n)
        const side = pair.n
        let need = L.OUT_HEADER + L.OUT_ROW * 4
        if (side.isActive(h)) {
          const rootHandle = side.m[side.at(L.C_ROOT, h & (side.cap - 1))]
          const count = side.m[side.at(L.C_COUNT, rootHandle & (side.cap - 1))]
          if (Number.isInteger(count) && count >= 1 && count <= side.cap) need = L.OUT_HEADER + L.OUT_ROW * count
        }
        const room = { fit: need, short: need - 1, big: need + 13, empty: 0 }[cmd.room]
        const outs = { n: new Float64Array(room).fill(-7), j: new Float64Array(room).fill(-7) }
        both(pair, what, (s, b) => b.finish(s.m, h, cmd.t, s === pair.n ? outs.n : outs.j), (a, b) => {
          assert.equal(a === null, b === null, `${what}: null`)
          if (a !== null) {
            const rows = outs.n[L.OUT_COUNT]
            checkIdString(a, rows, `${what}: native ids`)
            checkIdString(b, rows, `${what}: js ids`)
          }
        })
        sameNumbers(outs.n, outs.j, `${what}: rows`)
        break
      }
      case 'json': {
        const h = cmd.h ?? pickFrom(handles, cmd.p, pair.n)
        const p = payloadFor(pair.n, h, names, attrs, early, cmd)
        const finishJson = cmd.keyed ? 'finishJsonKeyed' : 'finishJson'
        both(pair, what, (s, b) => b[finishJson](s.m, h, cmd.t, cmd.origin, p.meta, p.text, p.ids), (a, b) => {
          assert.equal(a === null, b === null, `${what}: null`)
          if (a === null) return
          checkJsonIds(a, `${what}: native`)
          checkJsonIds(b, `${what}: js`)
          assert.equal(maskJson(b), maskJson(a), `${what}: JSON`)
          if (p.ids !== undefined) {
            for (const json of [a, b]) {
              if (p.early.traceId !== undefined) assert.ok(json.startsWith(`{"traceId":"${p.early.traceId}"`), `${what}: early trace id kept`)
              for (const id of p.early.spans) assert.ok(json.includes(`"id":"${id}"`), `${what}: early span id kept`)
            }
          }
          assert.doesNotThrow(() => JSON.parse(b), `${what}: JSON parses`)
        })
        break
      }
      case 'reserve':
        both(pair, what, (s, b) => b.reserve(s.m, cmd.want))
        break
      case 'grow': {
        both(pair, what, (s, b) => {
          const cap = s.cap
          const len = { double: bufferLen(2 * cap), same: bufferLen(cap), quad: bufferLen(4 * cap), misfit: bufferLen(2 * cap) + 1, shrink: bufferLen(cap / 2) }[cmd.how]
          const m = new Float64Array(len)
          b.grow(s.m, m)
          s.m = m
        })
        break
      }
      case 'shrink': {
        both(pair, what, (s, b) => {
          const cap = s.cap
          const size = { half: cap / 2, quarter: cap / 4, min: MIN_CAPACITY, same: cap, larger: 2 * cap, misfit: cap / 2, odd: 3 * MIN_CAPACITY / 2, overlap: cap }[cmd.how]
          const len = Math.max(0, bufferLen(size) + (cmd.how === 'misfit' ? 1 : 0))
          const m = cmd.how === 'overlap' ? s.m.subarray(0, len) : new Float64Array(len)
          const before = Buffer.from(m.buffer, m.byteOffset, m.byteLength).toString('hex')
          const done = b.shrink(s.m, m)
          if (done) {
            s.m = m
          } else {
            assert.equal(Buffer.from(m.buffer, m.byteOffset, m.byteLength).toString('hex'), before, `${what}: untouched when it does not fit`)
          }
          return done
        })
        break
      }
      case 'scan':
        both(pair, what, (s, b) => b.scan(s.m))
        break
      case 'leaks': {
        const outs = { n: new Float64Array(cmd.room), j: new Float64Array(cmd.room) }
        both(pair, what, (s, b) => b.leaks(s.m, cmd.now, cmd.seg, cmd.txn, s === pair.n ? outs.n : outs.j))
        sameNumbers(outs.n, outs.j, `${what}: leak rows`)
        break
      }
      case 'check':
        both(pair, what, (s, b) => b.check(s.m))
        break
      case 'corrupt': {
        for (const s of [pair.n, pair.j]) {
          const cap = (s.m.length - HEADER_LEN) / COLUMNS // the header's may be corrupted already
          let index
          if (cmd.where.header !== undefined) {
            index = cmd.where.header
          } else {
            const slot = cmd.where.live ? pickFrom(handles, cmd.where.p) & (cap - 1) : cmd.where.p % cap
            index = col(cap, cmd.where.column) + slot
          }
          if (cmd.v.nanBits) {
            const u = new Uint32Array(s.m.buffer, 8 * index, 2)
            u[0] = 0x1234
            u[1] = 0xfff00000 // a negative signalling NaN
          } else {
            s.m[index] = cmd.v.handleOf !== undefined ? pickFrom(handles, cmd.v.handleOf) : cmd.v
          }
        }
        sameBits(pair.n.m, pair.j.m, what)
        break
      }
      case 'init':
        both(pair, what, (s, b) => {
          const m = new Float64Array(bufferLen(1024))
          b.initStore(m, cmd.cap)
          m[H_NEXT] = cmd.next
          s.m = m
        })
        break
    }
  }
  return pair
}

// ---------------------------------------------------------------------------

describe('the JS backend matches the native addon', () => {
  before(() => {
    assert.equal(typeof N.finish, 'function', `the native addon at ${nativePath} loaded`)
  })

  it('exports exactly the native binding\'s functions', () => {
    assert.deepStrictEqual(Object.keys(J).sort(), Object.keys(N).sort())
    for (const k of Object.keys(N)) assert.equal(typeof J[k], typeof N[k], k)
  })

  it('layout() gives the same constants', () => {
    assert.deepStrictEqual(J.layout(), N.layout())
    assert.notEqual(J.layout(), J.layout(), 'a fresh object each call')
  })

  it('random programs: same buffers, results, rows, JSON and errors after every command', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 30 - 1 }),
        fc.array(command, { minLength: 1, maxLength: 80, size: 'large' }),
        (next, program) => { runProgram(next, program) }
      ),
      fcParams(800)
    )
    for (const want of ['shrink: true', 'shrink: error', 'finishJsonKeyed: value', 'finishJsonKeyed: null', 'finishJsonKeyed: error']) {
      assert.ok(outcomes.get(want) > 0, `some command gave ${want} (${JSON.stringify([...outcomes])})`)
    }
  })

  it('shrink: false with the buffer untouched when the live records collide or crowd the smaller table; true once they fit', () => {
    const pair = { n: new Side(N, MIN_CAPACITY, 5), j: new Side(J, MIN_CAPACITY, 5) }
    const tryShrink = (what, cap) => {
      const r = both(pair, what, (s, b) => {
        const m = new Float64Array(bufferLen(cap)).fill(3)
        const done = b.shrink(s.m, m)
        if (done) s.m = m
        else assert.ok(m.every((x) => x === 3), `${what}: untouched`)
        return done
      })
      return r.value
    }
    // 1,800 transactions: past 1,792 (7/8 of 2048), so the table grows to 4096 slots.
    const open = []
    for (let i = 0; i < 1800; i++) open.push(both(pair, `start ${i}`, (s) => s.startTransaction(i)).value)
    assert.equal(pair.n.cap, 4096)
    assert.equal(tryShrink('crowded: 1,800 live in 2048', 2048), false)
    // Keep two whose handles collide in 1024 slots, end the rest.
    const a = open[0]
    const b = open.find((h) => h !== a && (h & 1023) === (a & 1023))
    assert.notEqual(b, undefined, 'two handles share a slot of 1024')
    for (const h of open) {
      if (h === a || h === b) continue
      both(pair, `finish ${h}`, (s, bd) => bd.finish(s.m, h, 2000, new Float64Array(64)) !== null)
    }
    const reserved = pair.n.m[L.H_RESERVED]
    assert.ok(reserved <= L.RESERVE_MAX)
    assert.equal(tryShrink('collision in 1024', 1024), false)
    assert.equal(tryShrink('no collision in 2048', 2048), true)
    assert.equal(pair.n.cap, 2048)
    both(pair, 'check after shrinking', (s, bd) => bd.check(s.m))
    both(pair, `finish ${b}`, (s, bd) => bd.finish(s.m, b, 2000, new Float64Array(64)) !== null)
    assert.equal(tryShrink('fits in 1024', 1024), true)
    assert.equal(pair.n.cap, 1024)
    assert.equal(pair.n.isActive(a), true, 'the survivor is still active at its handle')
    both(pair, 'check at the end', (s, bd) => bd.check(s.m))
  })

  it('shrink and check: seven eighths of the smaller table occupied fit, one more slot does not', () => {
    const pair = { n: new Side(N, 2048, 9), j: new Side(J, 2048, 9) }
    const tryShrink = (what) => both(pair, what, (s, b) => {
      const m = new Float64Array(bufferLen(MIN_CAPACITY)).fill(3)
      const done = b.shrink(s.m, m)
      if (done) s.m = m
      else assert.ok(m.every((x) => x === 3), `${what}: untouched`)
      return done
    }).value
    // 768 transactions with consecutive handles (no two share a slot of
    // 1024), the reserve stack empty; then 129 more reserved: 897 occupied.
    const open = []
    for (let i = 0; i < 768; i++) open.push(both(pair, `start ${i}`, (s) => s.startTransaction(i)).value)
    assert.equal(pair.n.m[H_RESERVED], 0)
    assert.equal(both(pair, 'reserve 129', (s, b) => b.reserve(s.m, 129)).value, 129)
    assert.equal(pair.n.m[L.H_OCCUPIED], 897)
    assert.equal(tryShrink('897 occupied in 1024'), false)
    both(pair, `finish ${open[0]}`, (s, bd) => bd.finish(s.m, open[0], 2000, new Float64Array(64)) !== null)
    assert.equal(pair.n.m[L.H_OCCUPIED], 896)
    assert.equal(tryShrink('896 occupied in 1024'), true)
    assert.equal(pair.n.cap, MIN_CAPACITY)
    assert.deepStrictEqual(both(pair, 'check at 896 of 1024', (s, bd) => bd.check(s.m)).value, [])
    // Full: the reserve gives nothing more, and one more occupied slot
    // (written by hand, the header kept consistent) is reported.
    assert.equal(both(pair, 'reserve at the bound', (s, b) => b.reserve(s.m, 130)).value, 129)
    for (const side of [pair.n, pair.j]) {
      const s = 1000 // past the 897 consecutive handles from 9
      assert.equal(side.m[side.at(L.C_HANDLE, s)], L.FREE, 'a free slot')
      side.m[side.at(L.C_HANDLE, s)] = s
      side.m[side.at(L.C_ROOT, s)] = L.RESERVED
      side.m[L.H_OCCUPIED] += 1
      side.m[H_RESERVED] += 1
    }
    assert.deepStrictEqual(both(pair, 'check at 897 of 1024', (s, bd) => bd.check(s.m)).value, ['more than seven eighths of the slots are occupied'])
  })

  it('programs that grow past 1024 slots, with wide and deep transactions', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 30 - 1 }),
        fc.array(fc.record({ p: pick, k: fc.integer({ min: 1, max: 150 }), t: time, deep: fc.boolean() }), { minLength: 3, maxLength: 8 }),
        fc.array(command, { maxLength: 20 }),
        (next, bursts, tail) => {
          const program = []
          for (const b of bursts) {
            program.push({ c: 'burst', p: b.p, k: b.k, t: b.t })
            if (b.deep) for (let i = 0; i < 10; i++) program.push({ c: 'seg', p: b.p + i, t: b.t + i, name: 's' })
          }
          program.push({ c: 'check' }, ...tail, { c: 'scan' })
          const pair = runProgram(next, program)
          // Both ended at the same size; a grown store is compared like any other.
          assert.equal(pair.n.cap, pair.j.cap)
        }
      ),
      fcParams(25)
    )
    // And one that surely grows.
    const pair = runProgram(5, Array.from({ length: 12 }, (_, i) => ({ c: 'burst', p: 1e9 + i, k: 100, t: i })))
    assert.ok(pair.j.cap >= 2048, `grew to ${pair.j.cap}`)
    runProgram(2 ** 30 - 40, Array.from({ length: 12 }, (_, i) => ({ c: 'burst', p: 1e9 + i, k: 100, t: i })).concat([{ c: 'check' }, { c: 'finish', p: 0, t: 1e4, room: 'fit' }]))
  })
})

// ---------------------------------------------------------------------------

/** A fresh pair of sides with one transaction holding `segments` (as [parentIndex, start, end]). */
function transaction (segments, next = 1000) {
  const pair = { n: new Side(N, MIN_CAPACITY, next), j: new Side(J, MIN_CAPACITY, next) }
  const made = { n: [], j: [] }
  for (const key of ['n', 'j']) {
    const side = pair[key]
    const list = made[key]
    for (const [p, start, end] of segments) {
      const h = p < 0 ? side.startTransaction(start) : side.startSegment(list[p], start, 1e9)
      list.push(h)
      if (end !== undefined) side.endSegment(h, end)
    }
  }
  assert.deepStrictEqual(made.n, made.j)
  sameBits(pair.n.m, pair.j.m, 'set up')
  return { pair, handles: made.n }
}

/** finishJson on both sides with one segment per name, as a payload; returns the two outputs. */
function jsonOf (names, attributes = [], opts = {}) {
  const { pair, handles } = transaction(names.map((_, i) => [i === 0 ? -1 : 0, opts.start?.[i] ?? i, opts.end?.[i]]))
  const meta = []
  let t = ''
  names.forEach((name, i) => {
    t += name
    meta.push(name.length)
    const list = i === 0 ? attributes : []
    meta.push(list.length)
    for (const [key, v] of list) {
      t += key
      meta.push(key.length)
      t += pushValue(meta, v)
    }
  })
  const end = opts.finish ?? 10
  const origin = opts.origin ?? 0
  const a = N.finishJson(pair.n.m, handles[0], end, origin, new Float64Array(meta), t, opts.ids)
  const b = J.finishJson(pair.j.m, handles[0], end, origin, new Float64Array(meta), t, opts.ids)
  sameBits(pair.n.m, pair.j.m, 'after finishJson')
  return [a, b]
}

describe('JSON numbers and strings', () => {
  const edge = [0, -0, 1e21, 1e-7, 5e-324, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e300, 1.7976931348623157e308, 1e-300, 2.2250738585072014e-308,
    0.1, 1 / 3, 123.456, 1e-6, 9.999999999999999e20, 1e20, -1e21, -1e-7, 2039910312648861.25, 1152921504606846976, 4.35, 0.000123]

  it('edge numbers as attribute values print as Rust prints them, and parse back', () => {
    const [a, b] = jsonOf(['root'], edge.map((v, i) => [`k${i}`, v]))
    assert.equal(maskJson(b), maskJson(a))
    const attrs = JSON.parse(b).segments[0].attributes
    edge.forEach((v, i) => assert.ok(Object.is(attrs[`k${i}`], v), `k${i}: ${v} read back as ${attrs[`k${i}`]}`))
    assert.match(b, /"k1":-0[,}]/)
    assert.match(b, /"k2":1000000000000000000000[,}]/)
    assert.doesNotMatch(maskJson(b), /\d[eE][+-]?\d/, 'no exponent anywhere')
  })

  it('large and tiny times, and a time origin, print the same', () => {
    for (const [start, end, origin] of [[0, 1e21, 1.7e12], [1e-7, 2e-7, 0], [5e-324, 1e-300, -0], [2 ** 53, 2 ** 53 + 4, 1e300], [1e300, 1.5e300, 0.1]]) {
      const [a, b] = jsonOf(['t', 'child'], [], { start: [start, start], end: [undefined, end], finish: end, origin })
      assert.equal(maskJson(b), maskJson(a), `${start}..${end} at ${origin}`)
    }
  })

  it('random doubles print the same (bit patterns and tie-prone values)', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: -40, max: 60 })).map(([m, e]) => m * 2 ** e)), { minLength: 1, maxLength: 200 }), (values) => {
      const [a, b] = jsonOf(['n'], values.map((v, i) => [String(i), v]))
      assert.equal(maskJson(b), maskJson(a))
    }), fcParams(60))
  })

  it('strings are escaped as JSON.stringify escapes them, lone surrogates included', () => {
    const all = []
    for (let c = 0; c < 0x10000; c += 1) all.push(String.fromCharCode(c))
    const tricky = ['"', '\\', '\u0000', '\b\f\n\r\t', '\u001f\u007f', '\ud800', '\udfff', '\udc00\ud800', 'a\ud800b', '\ud83d\ude00', '\u2028\u2029', 'é€', '\ud800\ud800\udc00']
    for (const names of [tricky, all.slice(0, 0x2000), all.slice(0xd000, 0xe100), all.slice(0xe100)]) {
      const [a, b] = jsonOf(['root', ...names], [['k"\\', '\ud800\n'], ['\u2028', 'v']])
      assert.equal(maskJson(b), maskJson(a))
      const parsed = JSON.parse(b)
      assert.deepStrictEqual(parsed.segments.slice(1).map((s) => s.name), names, 'names read back exactly')
      assert.deepStrictEqual(parsed.segments[0].attributes, { 'k"\\': '\ud800\n', '\u2028': 'v' })
    }
  })
})

describe('ids', () => {
  it('random ids are lowercase hex, unique and never all zeros', () => {
    const seen = new Set()
    for (let i = 0; i < 300; i++) {
      const { pair, handles } = transaction([[-1, 0], [0, 1], [0, 2]])
      const out = new Float64Array(100)
      const ids = J.finish(pair.j.m, handles[0], 5, out)
      checkIdString(ids, 3, 'finish')
      for (let k = 0; k < 4; k++) seen.add(ids.slice(k === 0 ? 0 : 16 + 16 * k, 32 + 16 * k))
    }
    assert.equal(seen.size, 1200, 'no id repeats')
  })

  it('an all-zero draw is drawn again, for trace and span ids alike', () => {
    const realFill = crypto.randomFillSync
    let fills = 0
    // The backend's first pool of random bytes is all zeros.
    crypto.randomFillSync = (buf) => (++fills === 1 ? buf.fill(0) : realFill(buf))
    delete require.cache[backendPath]
    let fresh
    try {
      fresh = require(backendPath)
    } finally {
      crypto.randomFillSync = realFill
      delete require.cache[backendPath]
    }
    const m = new Float64Array(bufferLen(1024))
    fresh.initStore(m, 1024)
    assert.equal(m[H_NEXT], 0, 'the counter came from the zero pool')
    const side = Object.assign(Object.create(Side.prototype), { b: fresh, m })
    const t = side.startTransaction(0)
    side.startSegment(t, 1, 10)
    const ids = fresh.finish(m, t, 3, new Float64Array(100))
    checkIdString(ids, 2, 'after a zero pool')
    assert.ok(fills >= 2, 'the pool was refilled')
  })

  it('early ids are kept (lowercased), zeros are drawn, and JSON has no zero id', () => {
    const trace = 'ABCDEF0123456789abcdef0123456789'
    const span = '00000000000000a1'
    const ids = trace + '0'.repeat(16) + span
    const [a, b] = jsonOf(['root', 'child'], [], { ids })
    for (const json of [a, b]) {
      assert.ok(json.startsWith(`{"traceId":"${trace.toLowerCase()}"`), json)
      assert.ok(json.includes(`"id":"${span}"`))
      checkJsonIds(json, 'early')
    }
    assert.equal(maskJson(b), maskJson(a))
    const [c, d] = jsonOf(['root'], [], { ids: '0'.repeat(48) })
    checkJsonIds(d, 'all zeros')
    assert.equal(maskJson(d), maskJson(c))
  })
})

describe('errors: same conditions, classes, codes and words', () => {
  const fresh = (cap = 1024) => {
    const n = new Float64Array(bufferLen(cap))
    const j = new Float64Array(bufferLen(cap))
    N.initStore(n, cap)
    J.initStore(j, cap)
    n[H_NEXT] = j[H_NEXT] = 77
    return { n, j }
  }

  /** Runs `f(binding, buffer)` on both with fresh equal buffers; asserts the same outcome; returns it. */
  function same (what, f, { expectError = true, buffers = fresh() } = {}) {
    const a = outcome(N, (b) => f(b, buffers.n))
    const b = outcome(J, (b) => f(b, buffers.j))
    assert.deepStrictEqual(b, a, what)
    sameBits(buffers.n, buffers.j, what)
    if (expectError) assert.ok(a.error, `${what}: throws`)
    return a
  }

  const hostile = [undefined, null, true, 'x', 1, 1.5, -1, NaN, 2 ** 33, 10n, {}, [], { a: 1 }, Symbol('s'), function named () {}, () => {},
    new Float32Array(2), new Uint8Array(3), new BigInt64Array(1), new Int32Array(1), new DataView(new ArrayBuffer(8)), new ArrayBuffer(8),
    Object(3), Object('s'), Buffer.from('ab')]
  const out = () => new Float64Array(30)

  it('argument conversions, in order, for every function', () => {
    for (const v of hostile) {
      const label = typeof v === 'symbol' ? 'symbol' : typeof v === 'bigint' ? 'bigint' : Object.prototype.toString.call(v)
      same(`initStore(m=${label})`, (b) => b.initStore(v, 1024))
      same(`initStore(capacity=${label})`, (b) => b.initStore(new Float64Array(bufferLen(1024)), v), { expectError: false })
      same(`reserve(m=${label})`, (b) => b.reserve(v, 1))
      same(`reserve(want=${label})`, (b, m) => b.reserve(m, v), { expectError: false })
      same(`grow(old=${label})`, (b, m) => b.grow(v, new Float64Array(bufferLen(2048))))
      same(`grow(new=${label})`, (b, m) => b.grow(m, v))
      same(`finish(m=${label})`, (b) => b.finish(v, 1, 1, out()))
      same(`finish(handle=${label})`, (b, m) => b.finish(m, v, 1, out()), { expectError: false })
      same(`finish(end=${label})`, (b, m) => b.finish(m, 1, v, out()), { expectError: false })
      same(`finish(out=${label})`, (b, m) => b.finish(m, 1, 1, v))
      same(`finishJson(m=${label})`, (b) => b.finishJson(v, 1, 1, 0, out(), '', undefined))
      same(`finishJson(handle=${label})`, (b, m) => b.finishJson(m, v, 1, 0, out(), '', undefined), { expectError: false })
      same(`finishJson(end=${label})`, (b, m) => b.finishJson(m, 1, v, 0, out(), '', undefined), { expectError: false })
      same(`finishJson(timeOrigin=${label})`, (b, m) => b.finishJson(m, 1, 1, v, out(), '', undefined), { expectError: false })
      same(`finishJson(meta=${label})`, (b, m) => b.finishJson(m, 1, 1, 0, v, '', undefined))
      same(`finishJson(text=${label})`, (b, m) => b.finishJson(m, 1, 1, 0, out(), v, undefined), { expectError: false })
      same(`finishJson(ids=${label})`, (b, m) => b.finishJson(m, 1, 1, 0, out(), '', v), { expectError: false })
      same(`scan(${label})`, (b) => b.scan(v))
      same(`check(${label})`, (b) => b.check(v))
      for (let k = 1; k <= 3; k++) {
        same(`leaks(arg ${k}=${label})`, (b, m) => b.leaks(m, ...[1, 2, 3].map((x, i) => (i === k - 1 ? v : x)), out()), { expectError: false })
      }
      same(`leaks(out=${label})`, (b, m) => b.leaks(m, 1, 1, 1, v))
    }
    same('first failing argument wins', (b) => b.finish('x', 'y', 'z', 'w'))
    same('missing arguments are undefined', (b, m) => b.finishJson(m, 1, 1, 0, out()))
    same('a missing ids is None', (b, m) => b.finishJson(m, 1, 1, 0, out(), ''), { expectError: false })
  })

  it('buffers that are not store buffers', () => {
    const { n } = fresh()
    const variants = {
      empty: () => new Float64Array(0),
      short: () => new Float64Array(HEADER_LEN - 1),
      zeros: () => new Float64Array(bufferLen(1024)),
      'capacity NaN': () => { const m = Float64Array.from(n); m[H_CAPACITY] = NaN; return m },
      'capacity 1.5k': () => { const m = Float64Array.from(n); m[H_CAPACITY] = 1536; return m },
      'capacity 2^25': () => { const m = Float64Array.from(n); m[H_CAPACITY] = 2 ** 25; return m },
      'capacity 1024.5': () => { const m = Float64Array.from(n); m[H_CAPACITY] = 1024.5; return m },
      'capacity -0': () => { const m = Float64Array.from(n); m[H_CAPACITY] = -0; return m },
      'capacity Infinity': () => { const m = Float64Array.from(n); m[H_CAPACITY] = Infinity; return m },
      'capacity 2048, length of 1024': () => { const m = Float64Array.from(n); m[H_CAPACITY] = 2048; return m },
      'one short': () => n.slice(0, -1),
      detached: () => { const m = new Float64Array(8); structuredClone(m.buffer, { transfer: [m.buffer] }); return m }
    }
    for (const [name, make] of Object.entries(variants)) {
      for (const [fn, call] of Object.entries({
        reserve: (b, m) => b.reserve(m, 1),
        finish: (b, m) => b.finish(m, 1, 1, out()),
        finishJson: (b, m) => b.finishJson(m, 1, 1, 0, out(), ''),
        scan: (b, m) => b.scan(m),
        leaks: (b, m) => b.leaks(m, 1, 1, 1, out()),
        check: (b, m) => b.check(m),
        grow: (b, m) => b.grow(m, new Float64Array(bufferLen(2048)))
      })) {
        same(`${fn} of ${name}`, (b) => call(b, make()))
      }
    }
    for (const [cap, len] of [[1000, bufferLen(1000)], [512, bufferLen(512)], [2 ** 25, 10], [1024, 10], [0, HEADER_LEN], [2 ** 32 - 1, 10], [2 ** 31, 10]]) {
      same(`initStore(${cap}) of length ${len}`, (b) => b.initStore(new Float64Array(len), cap))
    }
  })

  it('overlapping arrays and bad growth', () => {
    const ab = new ArrayBuffer(8 * bufferLen(1024) * 3)
    const shared = { n: new Float64Array(ab, 0, bufferLen(1024)), j: new Float64Array(new ArrayBuffer(ab.byteLength), 0, bufferLen(1024)) }
    N.initStore(shared.n, 1024)
    J.initStore(shared.j, 1024)
    shared.n[H_NEXT] = shared.j[H_NEXT] = 5
    const view = (m, from, len) => new Float64Array(m.buffer, 8 * from, len)
    same('finish into the store', (b, m) => b.finish(m, 1, 1, m), { buffers: shared })
    same('finish into the store\'s last number', (b, m) => b.finish(m, 1, 1, view(m, bufferLen(1024) - 1, 10)), { buffers: shared })
    same('finish just past the store', (b, m) => b.finish(m, 1, 1, view(m, bufferLen(1024), 10)), { buffers: shared, expectError: false })
    same('finish into an empty view of the store', (b, m) => b.finish(m, 1, 1, view(m, 3, 0)), { buffers: shared, expectError: false })
    same('finishJson with meta in the store', (b, m) => b.finishJson(m, 1, 1, 0, view(m, 5, 2), 'ab'), { buffers: shared })
    same('leaks into the store', (b, m) => b.leaks(m, 1, 1, 1, view(m, 0, 3)), { buffers: shared })
    same('grow into itself', (b, m) => b.grow(m, m), { buffers: shared })
    same('grow into an overlapping buffer', (b, m) => b.grow(m, view(m, 100, bufferLen(2048) - 100 > bufferLen(1024) * 2 ? 10 : bufferLen(1024))), { buffers: shared })
    for (const len of [0, 5, HEADER_LEN, bufferLen(1024) + 1, bufferLen(512), bufferLen(3072), bufferLen(2 ** 25)]) {
      same(`grow into length ${len}`, (b, m) => b.grow(m, new Float64Array(len)))
    }
    same('grow into the same size', (b, m) => b.grow(m, new Float64Array(bufferLen(1024))), { expectError: false })
  })

  it('finish: output too small frees the transaction all the same', () => {
    const { pair, handles } = transaction([[-1, 0], [0, 1], [1, 2, 3]])
    const what = 'short output'
    both(pair, what, (s, b) => b.finish(s.m, handles[1], 4, new Float64Array(L.OUT_HEADER + 2 * L.OUT_ROW)))
    assert.equal(pair.j.isActive(handles[0]), false, 'freed')
    both(pair, 'check after', (s, b) => b.check(s.m))
  })

  it('finishJson: every payload error leaves the transaction in place', () => {
    const cases = {
      'meta ends before a name length': [[], ''],
      'meta ends before an attribute count': [[1], 'r'],
      'meta ends before a key length': [[1, 1], 'r'],
      'meta ends before a kind': [[1, 1, 1], 'rk'],
      'meta ends before a value': [[1, 1, 1, 1], 'rk'],
      'length NaN': [[NaN, 0], 'r'],
      'length -1': [[-1, 0], 'r'],
      'length 0.5': [[0.5, 0], 'r'],
      'length inf': [[Infinity, 0], 'r'],
      'text ends early': [[5, 0], 'r'],
      'huge length': [[2 ** 64, 0], 'r'],
      'attribute count 65537': [[1, 65537], 'r'],
      'attribute count -1': [[1, -1], 'r'],
      'attribute count 1.5': [[1, 1.5], 'r'],
      'attribute count NaN': [[1, NaN], 'r'],
      'kind 3': [[1, 1, 1, 3, 0], 'rk'],
      'kind 0.5': [[1, 1, 1, 0.5, 0], 'rk'],
      'kind -0 is a string': [[1, 1, 1, -0, 1], 'rkv'],
      'string value too long': [[1, 1, 1, 0, 9], 'rk'],
      'a second segment missing': [[1, 0], 'r', 2]
    }
    for (const [what, [meta, t, segments = 1]] of Object.entries(cases)) {
      const { pair, handles } = transaction([[-1, 0], ...(segments > 1 ? [[0, 1]] : [])])
      const r = both(pair, what, (s, b) => b.finishJson(s.m, handles[0], 5, 0, new Float64Array(meta), t), (a, b) => assert.equal(maskJson(b), maskJson(a), what))
      if (r.error) assert.equal(pair.j.isActive(handles[0]), true, `${what}: still active`)
    }
    const bad = {
      'too few digits': '0'.repeat(47),
      'too many digits': '0'.repeat(49),
      'bad trace id': 'x' + '0'.repeat(47),
      'bad span id': '0'.repeat(32) + '000000000000000g',
      'non-ASCII (UTF-8 bytes count)': 'é'.repeat(24),
      'non-ASCII in a span id, right length in bytes': '0'.repeat(32) + 'é' + '0'.repeat(14),
      'lone surrogate': '\ud800' + '0'.repeat(45),
      'a sign': '+' + '0'.repeat(47),
      spaces: ' '.repeat(48),
      empty: ''
    }
    for (const [what, ids] of Object.entries(bad)) {
      const { pair, handles } = transaction([[-1, 0]])
      const r = both(pair, `early ids: ${what}`, (s, b) => b.finishJson(s.m, handles[0], 5, 0, new Float64Array([1, 0]), 'r', ids))
      assert.ok(r.error, `${what}: throws`)
      assert.equal(pair.j.isActive(handles[0]), true, `${what}: still active`)
    }
  })

  it('corrupted transactions: each broken invariant, in finish, finishJson and check', () => {
    const C = (pair, k, h) => col(pair.n.cap, k) + (h & (pair.n.cap - 1))
    const breakages = {
      'count 2^40': (p, h) => [[C(p, L.C_COUNT, h[0]), 2 ** 40]],
      'count 2.5': (p, h) => [[C(p, L.C_COUNT, h[0]), 2.5]],
      'count NaN': (p, h) => [[C(p, L.C_COUNT, h[0]), NaN]],
      'count too low': (p, h) => [[C(p, L.C_COUNT, h[0]), 2]],
      'count too high': (p, h) => [[C(p, L.C_COUNT, h[0]), 4]],
      'a cycle': (p, h) => [[C(p, L.C_NEXT, h[2]), h[1]]],
      'next to a free slot': (p, h) => [[C(p, L.C_NEXT, h[1]), h[2] + 1]],
      'next not a handle': (p, h) => [[C(p, L.C_NEXT, h[1]), 1.5]],
      'next -0': (p, h) => [[C(p, L.C_NEXT, h[1]), -0]],
      'tail wrong': (p, h) => [[C(p, L.C_TAIL, h[0]), h[1]]],
      'root with a parent': (p, h) => [[C(p, L.C_PARENT, h[0]), h[1]]],
      'parent later': (p, h) => [[C(p, L.C_PARENT, h[1]), h[2]]],
      'parent itself': (p, h) => [[C(p, L.C_PARENT, h[1]), h[1]]],
      'parent NaN': (p, h) => [[C(p, L.C_PARENT, h[2]), NaN]],
      'root of a segment elsewhere': (p, h) => [[C(p, L.C_ROOT, h[1]), h[2]]],
      'root of a segment freed': (p, h) => [[C(p, L.C_HANDLE, h[0]), L.FREE]],
      'root reserved': (p, h) => [[C(p, L.C_ROOT, h[0]), L.RESERVED]],
      'handle in the wrong slot': (p, h) => [[C(p, L.C_HANDLE, h[2]), h[2] + 1]],
      'handle NaN': (p, h) => [[C(p, L.C_HANDLE, h[2]), NaN]],
      'dropped huge': (p, h) => [[C(p, L.C_DROPPED, h[0]), 1e300]],
      'dropped NaN': (p, h) => [[C(p, L.C_DROPPED, h[0]), NaN]],
      'dropped -3.5': (p, h) => [[C(p, L.C_DROPPED, h[0]), -3.5]],
      'header counts': () => [[L.H_LIVE_TXN, 7], [L.H_LIVE_SEG, NaN], [L.H_RESERVED, -0.5], [L.H_OCCUPIED, 1e300]],
      overfull: () => [[L.H_OCCUPIED, 897]],
      'start NaN and -0': (p, h) => [[C(p, L.C_START, h[1]), NaN], [C(p, L.C_START, h[2]), -0]],
      'end before start': (p, h) => [[C(p, L.C_END, h[2]), -5]]
    }
    for (const [what, edits] of Object.entries(breakages)) {
      for (const call of ['finish', 'finishJson', 'check', 'leaks']) {
        const { pair, handles } = transaction([[-1, 0], [0, 1], [1, 2]])
        for (const [i, v] of edits(pair, handles)) {
          pair.n.m[i] = v
          pair.j.m[i] = v
        }
        for (const h of [handles[2], handles[0]]) {
          both(pair, `${what}: ${call}(${h})`, (s, b) => {
            if (call === 'finish') {
              const o = new Float64Array(100)
              const ids = b.finish(s.m, h, 9, o)
              return [ids === null ? null : ids.length, Array.from(o)]
            }
            if (call === 'finishJson') return maskJson(b.finishJson(s.m, h, 9, 0, new Float64Array([1, 0, 1, 0, 1, 0]), 'abc'))
            if (call === 'leaks') {
              const o = new Float64Array(30)
              return [b.leaks(s.m, 1e6, 0, 0, o), Array.from(o)]
            }
            return b.check(s.m)
          })
        }
      }
    }
  })

  it('a reserve that cannot fill, and counters that saturate', () => {
    for (const [held, occupied] of [[0, 895], [0, 896], [NaN, 0], [-3, 0], [2.7, 0], [1e300, 0], [2 ** 40, 0], [0, 2 ** 63], [0, 2 ** 64], [0, 2 ** 53 + 2], [0, -5], [0, NaN]]) {
      const b = fresh()
      for (const m of [b.n, b.j]) {
        m[H_RESERVED] = held
        m[L.H_OCCUPIED] = occupied
      }
      same(`reserve with ${held} held, ${occupied} occupied`, (bd, m) => bd.reserve(m, 300), { buffers: b, expectError: false })
    }
    const b = fresh()
    for (const m of [b.n, b.j]) m[H_NEXT] = NaN
    same('reserve with the counter NaN', (bd, m) => bd.reserve(m, 10), { buffers: b, expectError: false })
    for (const m of [b.n, b.j]) m[H_NEXT] = 2 ** 40
    same('reserve with the counter past u32', (bd, m) => bd.reserve(m, 10), { buffers: b, expectError: false })
  })

  it('_panicForTest throws the same error', () => {
    same('_panicForTest', (b) => b._panicForTest())
  })
})
