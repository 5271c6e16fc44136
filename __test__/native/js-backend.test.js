'use strict'

// The pure-JS backend (lib/native/js-backend.js) against the native addon:
// a property test drives both with the same random command lists over two
// buffers that start equal (the store's hot path emulated on the buffer,
// reserve, grow, shrink, finish, string tables and finishJsonStrings, scan,
// leaks, check, fields corrupted now and then), and compares after every
// command the whole buffer bit for bit, the results, the rows, the JSON (ids
// masked: they are random) and the errors; a good finishJsonStrings's JSON
// is also read back and compared with the trace `finish` gives and the
// names and attributes the program set. Unit tests cover the layout, JSON
// numbers and strings, ids and every error path; the JS backend's
// finishJsonStrings is also checked on its own, against `finish` and error
// by error.
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

  /** This side's string table, made on first use. */
  get table () { return (this._table ??= this.b.stringTable()) }

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
// test whose shrink never fits, or whose JSON finishes always fail, would
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
    weight: 10,
    arbitrary: fc.record({
      c: fc.constant('sjson'),
      p: pick,
      h: rarely(anyNumber),
      t: time,
      origin: fc.oneof(fc.constant(1.7e12 + 0.25), anyNumber),
      bad: rarely(fc.constantFrom('name', 'entry', 'cycle', 'kind', 'key', 'value', 'side-length', 'arena-length', 'overlap', 'types', 'table',
        'ids-length', 'ids-trace', 'ids-span', 'ids-unicode')),
      upper: fc.boolean(),
      spare: fc.integer({ min: 0, max: 4 }),
      shuffle: fc.nat(),
      k: fc.nat(),
      bytes: fc.boolean()
    })
  },
  {
    weight: 2,
    arbitrary: fc.record({
      c: fc.constant('strings'),
      how: fc.constantFrom('remove', 'remove', 'replace', 'replace', 'junk', 'absent', 'none', 'odd', 'id', 'length', 'short', 'types', 'table'),
      p: pick,
      s: text,
      k: fc.nat()
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

/**
 * The ids handed out early that `finishJsonStrings` takes for the
 * transaction of `handle` (`ids`, undefined for none: the trace id, then one
 * span id per segment, walking NEXT from the root, zeros where none was
 * handed out), as the store lists them (lib/store/payload.js `earlyIds`),
 * and the ones it must keep (`early`). Bounded, so a corrupted list still
 * gives some ids. `cmd.upper` writes them in upper case; `cmd.bad` (one of
 * the `ids-*`) breaks them.
 */
function earlyIdsFor (side, handle, early, cmd) {
  const m = side.m
  const cap = side.cap
  const mask = cap - 1
  const root = m[col(cap, L.C_ROOT) + (handle & mask)]
  let n = m[col(cap, L.C_COUNT) + (root & mask)]
  n = Number.isInteger(n) && n >= 1 && n <= 2000 ? n : 1
  const handles = []
  let cur = root
  for (let k = 0; k < n; k++) {
    handles.push(cur)
    cur = m[col(cap, L.C_NEXT) + (cur & mask)]
  }
  let ids
  const traceId = early.traces.get(root)
  if (traceId !== undefined || handles.some((h) => early.spans.has(h))) {
    ids = traceId ?? '0'.repeat(32)
    for (const h of handles) ids += early.spans.get(h) ?? '0'.repeat(16)
    if (cmd.upper) ids = ids.toUpperCase()
  }
  switch (cmd.bad) {
    case 'ids-length': ids = (ids ?? '0'.repeat(32)) + '0'; break
    case 'ids-trace': ids = 'g'.repeat(32) + '0'.repeat(16 * n); break
    case 'ids-span': ids = '1'.repeat(32) + 'x' + '0'.repeat(16 * n - 1); break
    case 'ids-unicode': ids = 'é'.repeat(16) + '0'.repeat(16 * n); break
  }
  return { ids, early: { traceId, spans: handles.map((h) => early.spans.get(h)).filter(Boolean) } }
}

/** A number as JSON.parse reads back what a JSON finish printed: non-finite ones are null. */
const parsedNumber = (v) => (Number.isFinite(v) ? v : null)

/** An attributes object from [key, value] pairs in order, as JSON.parse builds it: the last of a key wins. */
function attributesFrom (pairs) {
  const o = {}
  for (const [k, v] of pairs) {
    Object.defineProperty(o, k, { value: typeof v === 'number' ? parsedNumber(v) : v, writable: true, enumerable: true, configurable: true })
  }
  return o
}

/**
 * A trace's JSON as JSON.parse reads it, its ids replaced by row numbers
 * (they are random; checkJsonIds checks them) and without its trace id.
 */
function shapeOf (json) {
  const { traceId, ...trace } = JSON.parse(json)
  const row = new Map(trace.segments.map((g, k) => [g.id, k]))
  assert.equal(row.size, trace.segments.length, 'span ids are unique')
  trace.segments = trace.segments.map((g) => ({ ...g, id: row.get(g.id), parentId: g.parentId === null ? null : row.get(g.parentId) }))
  return trace
}

/**
 * What `shapeOf` should read from the JSON of the transaction of `handle`
 * in `m` ended at `end`: the rows `finish` (of binding `b`, which frees the
 * transaction) writes, with `textOf(slot)`'s name and attributes ({ name,
 * attrs: [[key, value]] }, values as the program gave them); null when
 * `handle` is not active.
 */
function traceShape (b, m, handle, end, origin, textOf) {
  const cap = m[H_CAPACITY]
  const out = new Float64Array(L.OUT_HEADER + L.OUT_ROW * cap)
  if (b.finish(m, handle, end, out) === null) return null
  const n = out[L.OUT_COUNT]
  const segments = []
  for (let k = 0; k < n; k++) {
    const o = L.OUT_HEADER + L.OUT_ROW * k
    const text = textOf(out[o + L.ROW_SLOT])
    segments.push({
      id: k,
      parentId: out[o + L.ROW_PARENT] < 0 ? null : out[o + L.ROW_PARENT],
      name: text.name,
      start: parsedNumber(out[o + L.ROW_START]),
      duration: parsedNumber(out[o + L.ROW_DURATION]),
      exclusive: parsedNumber(out[o + L.ROW_EXCLUSIVE]),
      attributes: attributesFrom(text.attrs),
      truncated: out[o + L.ROW_TRUNCATED] === 1
    })
  }
  return {
    name: segments[0].name,
    startTime: parsedNumber(origin + out[L.OUT_START]),
    duration: parsedNumber(out[L.OUT_DURATION]),
    segmentCount: n,
    droppedSegments: parsedNumber(out[L.OUT_DROPPED]),
    segments
  }
}

// The program's model of what the string tables hold (the same on both
// sides): `idOf` the id a string is interned at, `textOf` the string at an
// id; ids come from `free` (removed ones), else from `next`.
const stringModel = () => ({ idOf: new Map(), textOf: new Map(), free: [], next: 0 })

/** The id of `str`, interning it (and adding the edit that sets it) when new. */
function intern (strings, str, edits, pieces) {
  let id = strings.idOf.get(str)
  if (id === undefined) {
    do id = strings.free.length > 0 ? strings.free.pop() : strings.next++
    while (strings.textOf.has(id))
    strings.idOf.set(str, id)
    strings.textOf.set(id, str)
    edits.push(id, str.length)
    pieces.push(str)
  }
  return id
}

/** The model after `setStrings` set `id` to `str`. */
function modelSet (strings, id, str) {
  const old = strings.textOf.get(id)
  if (old !== undefined && strings.idOf.get(old) === id) strings.idOf.delete(old)
  strings.textOf.set(id, str)
  if (!strings.idOf.has(str)) strings.idOf.set(str, id)
}

/** The model after `setStrings` removed `id`. */
function modelRemove (strings, id) {
  const str = strings.textOf.get(id)
  if (str === undefined) return
  strings.textOf.delete(id)
  if (strings.idOf.get(str) === id) strings.idOf.delete(str)
  strings.free.push(id)
}

/** A string id the tables do not hold, one of several kinds (`k` picks); `word`: one that survives `<< 2`. */
function absentId (strings, k, word = false) {
  const candidates = [strings.next + 3, 2 ** 24 - 1, 2 ** 23 + 5, 2 ** 28 - 1, -1, word ? -(2 ** 29) : -(2 ** 31), word ? 2 ** 29 - 1 : 2 ** 31 - 1]
  for (let i = 0; i < candidates.length; i++) {
    const id = candidates[(k + i) % candidates.length]
    if (!strings.textOf.has(id)) return id
  }
  return -1
}

/** A permutation of 1..count, from `seed` (a small LCG: the same on both sides). */
function shuffled (count, seed) {
  const order = Array.from({ length: count }, (_, i) => i + 1)
  let x = seed % 2147483648
  for (let i = order.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648
    const j = x % (i + 1)
    const t = order[i]
    order[i] = order[j]
    order[j] = t
  }
  return order
}

/**
 * The store's arrays `finishJsonStrings` takes for the transaction of
 * `handle` (docs/binding-contract.md; lib/store/segment-store.js keeps them
 * so), from the names and attributes the program gave, walking NEXT from the
 * root as the store does: `side` (the name's id, then the first entry,
 * per slot; other slots junk), `arena` (per entry its key word, then the
 * next entry; entries in a shuffled order, spare ones junk) and `values`;
 * and the edits (and their text) that put the strings new to the model in
 * the tables, as the store syncs them before the call; and by slot the
 * texts they name (`texts`: { name, attrs: [[key, value]] }). `cmd.bad`
 * breaks one thing.
 */
function storeArraysFor (side, handle, names, attrs, strings, cmd) {
  const m = side.m
  const cap = (m.length - HEADER_LEN) / COLUMNS // the store's own size: the header's may be corrupted
  const mask = cap - 1
  const edits = []
  const pieces = []
  const id = (str) => intern(strings, str, edits, pieces)
  const root = m[col(cap, L.C_ROOT) + (handle & mask)]
  let n = m[col(cap, L.C_COUNT) + (root & mask)]
  n = Number.isInteger(n) && n >= 1 && n <= 2000 ? n : 1
  const truthy = [1, -1, 0.5, NaN, Infinity, 5e-324]
  const segs = []
  const texts = new Map()
  let total = 0
  let cur = root
  for (let k = 0; k < n; k++) {
    const list = attrs.get(cur) ?? []
    const entries = []
    const pairs = []
    for (let i = 0; i < list.length; i += 2) {
      pairs.push([list[i], list[i + 1]])
      const v = list[i + 1]
      const key = id(list[i])
      if (typeof v === 'string') entries.push([key, 0, id(v)])
      else if (typeof v === 'number') entries.push([key, 1, v])
      else entries.push([key, 2, v ? truthy[(cmd.k + i) % truthy.length] : (cmd.k + i) % 2 === 0 ? 0 : -0])
    }
    segs.push({ slot: cur & mask, name: id(names.get(cur) ?? 'unnamed'), entries, at: [] })
    texts.set(cur & mask, { name: names.get(cur) ?? 'unnamed', attrs: pairs })
    total += entries.length
    cur = m[col(cap, L.C_NEXT) + (cur & mask)]
  }
  // Something for an entry's breakage to break (the JSON is not compared then).
  if (['cycle', 'kind', 'key', 'value'].includes(cmd.bad) && total === 0) {
    segs[cmd.k % segs.length].entries.push([id('k'), 0, id('v')], [id('n'), 1, 2.5])
    total = 2
  }
  const A = total + 1 + cmd.spare
  const order = shuffled(A - 1, cmd.shuffle)
  let sideArray = new Int32Array(2 * cap).fill(-7)
  let arena = new Int32Array(2 * A).fill(-5) // unused entries: kind 3
  const values = new Float64Array(A).fill(NaN)
  let next = 0
  for (const seg of segs) {
    sideArray[seg.slot] = seg.name
    let prev = 0
    for (const [key, kind, v] of seg.entries) {
      const e = order[next++]
      arena[e] = (key << 2) | kind
      values[e] = v
      if (prev === 0) sideArray[cap + seg.slot] = e
      else arena[A + prev] = e
      seg.at.push(e)
      prev = e
    }
    if (prev === 0) sideArray[cap + seg.slot] = 0
    else arena[A + prev] = 0
  }
  const listed = segs.find((g) => g.at.length > 0)
  const any = segs[cmd.k % segs.length]
  const resized = (Type, a, len) => {
    const t = new Type(len)
    t.set(a.subarray(0, Math.min(len, a.length)))
    return t
  }
  switch (cmd.bad) {
    case 'name': sideArray[any.slot] = absentId(strings, cmd.k); break
    case 'entry': {
      const e = [A, -3, A + 7, 2 ** 31 - 1, -(2 ** 31)][cmd.k % 5]
      if (listed !== undefined && cmd.k % 2 === 1) arena[A + listed.at[listed.at.length - 1]] = e
      else sideArray[cap + (listed ?? any).slot] = e
      break
    }
    case 'cycle': if (listed !== undefined) arena[A + listed.at[listed.at.length - 1]] = listed.at[cmd.k % listed.at.length]; break
    case 'kind': if (listed !== undefined) arena[listed.at[0]] = [arena[listed.at[0]] | 3, -1, -(2 ** 31) + 3][cmd.k % 3]; break
    case 'key': if (listed !== undefined) arena[listed.at[0]] = (absentId(strings, cmd.k, true) << 2) | (arena[listed.at[0]] & 3); break
    case 'value': {
      const g = segs.find((x) => x.entries.some((en) => en[1] === 0))
      if (g !== undefined) {
        const e = g.at[g.entries.findIndex((en) => en[1] === 0)]
        values[e] = [absentId(strings, cmd.k), 1.5, NaN, Infinity, -0, 2 ** 28, -1][cmd.k % 7]
      }
      break
    }
    case 'side-length': sideArray = resized(Int32Array, sideArray, [2 * cap + 1, 2 * cap - 1, 0, cap][cmd.k % 4]); break
    case 'arena-length': arena = resized(Int32Array, arena, [2 * A + 1, 2 * A - 1, 0, A][cmd.k % 4]); break
  }
  return { side: sideArray, arena, values, edits: new Float64Array(edits), text: pieces.join(''), texts }
}

/**
 * The arguments `finishJsonStrings` gets on side `s` (`other` the other
 * side), for the arrays `st`: the breakages that depend on the side (a view
 * of its own buffer, a wrong type, another table) applied.
 */
function stringsArgs (s, other, st, cmd) {
  // Each backend its own copies: a JSON finish frees in the side arrays and
  // the arena.
  let side = st.side.slice()
  let arena = st.arena.slice()
  let values = st.values
  let table = s.table
  const k = cmd.k
  switch (cmd.bad) {
    case 'overlap': {
      const buf = s.m.buffer
      switch (k % 6) {
        case 0: side = new Int32Array(buf, 4 * (k % 5), Math.min(side.length, 2 * s.m.length - 5)); break
        case 1: arena = new Int32Array(buf, 8 * (s.m.length - 1), 2); break
        case 2: values = new Float64Array(buf, 8 * (s.m.length - Math.min(values.length, 3)), Math.min(values.length, 3)); break
        case 3: {
          // The side arrays and the arena in one buffer, sharing a number.
          const ints = new Int32Array(side.length + arena.length - 1)
          ints.set(side)
          ints.set(arena, side.length - 1)
          side = ints.subarray(0, side.length)
          arena = ints.subarray(side.length - 1)
          break
        }
        case 4: values = new Float64Array(side.buffer, 8 * (k % 3), 1); break
        default: values = new Float64Array(arena.buffer, 0, 1)
      }
      break
    }
    case 'types':
      switch (k % 6) {
        case 0: side = Float64Array.from(side); break
        case 1: arena = Uint32Array.from(arena); break
        case 2: values = Int32Array.from(values, (v) => v | 0); break
        case 3: side = Array.from(side); break
        case 4: arena = new DataView(arena.buffer); break
        default: values = Array.from(values)
      }
      break
    case 'table':
      table = [other.table, {}, null, undefined, Object.create(Object.getPrototypeOf(s.table)), s.m][k % 6]
      break
  }
  return { side, arena, values, table }
}

/** Runs one program of commands on both backends, comparing after each. */
function runProgram (next, program) {
  const pair = { n: new Side(N, MIN_CAPACITY, next), j: new Side(J, MIN_CAPACITY, next) }
  sameBits(pair.n.m, pair.j.m, 'init')
  const handles = [] // every handle handed out, live or not
  const names = new Map()
  const attrs = new Map()
  const early = { spans: new Map(), traces: new Map() }
  const strings = stringModel()
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
      case 'sjson': {
        const h = cmd.h ?? pickFrom(handles, cmd.p, pair.n)
        const idsBad = cmd.bad?.startsWith('ids-') ? cmd.bad : undefined
        const p = earlyIdsFor(pair.n, h, early, { bad: idsBad, upper: cmd.upper })
        const st = storeArraysFor(pair.n, h, names, attrs, strings, cmd)
        if (st.edits.length > 0) {
          const r = both(pair, `${what}: sync`, (s, b) => b.setStrings(s.table, st.edits, st.text))
          assert.equal(r.error, undefined, `${what}: sync`)
        }
        const copy = pair.n.m.slice()
        const given = {}
        const r = both(pair, what, (s, b) => {
          const a = stringsArgs(s, s === pair.n ? pair.j : pair.n, st, cmd)
          given[s === pair.n ? 'n' : 'j'] = a
          const json = b.finishJsonStrings(s.m, h, cmd.t, cmd.origin, a.side, a.arena, a.values, a.table, p.ids, cmd.bytes)
          if (json === null || !cmd.bytes) return json
          // With bytes: a Buffer of the JSON's UTF-8, compared as its text.
          assert.ok(Buffer.isBuffer(json), `${what}: a Buffer`)
          const text = json.toString('utf8')
          assert.ok(Buffer.from(text, 'utf8').equals(json), `${what}: well-formed UTF-8`)
          return text
        }, (a, b) => {
          assert.equal(a === null, b === null, `${what}: null`)
          if (a === null) return
          checkJsonIds(a, `${what}: native`)
          checkJsonIds(b, `${what}: js`)
          assert.equal(maskJson(b), maskJson(a), `${what}: JSON`)
          assert.doesNotThrow(() => JSON.parse(b), `${what}: JSON parses`)
          if (p.ids !== undefined) {
            for (const json of [a, b]) {
              if (p.early.traceId !== undefined) assert.ok(json.startsWith(`{"traceId":"${p.early.traceId}"`), `${what}: early trace id kept`)
              for (const id of p.early.spans) assert.ok(json.includes(`"id":"${id}"`), `${what}: early span id kept`)
            }
          }
        })
        tally('finishJsonStrings', r)
        // Both freed the same names and entries, or neither changed them.
        assert.deepStrictEqual(given.j.side, given.n.side, `${what}: side arrays after`)
        assert.deepStrictEqual(given.j.arena, given.n.arena, `${what}: arena after`)
        if (r.error !== undefined || r.value === null) {
          // (Bad types and overlaps give other arrays than these copies.)
          if (cmd.bad !== 'overlap' && cmd.bad !== 'types') {
            assert.deepStrictEqual(given.n.side, st.side, `${what}: side arrays unchanged`)
            assert.deepStrictEqual(given.n.arena, st.arena, `${what}: arena unchanged`)
          }
        }
        if (cmd.bad === null && typeof r.value === 'string') {
          // The same trace through finish, on a copy of the buffer as it
          // was, with the names and attributes the program set.
          const ref = outcome(N, (b) => traceShape(b, copy, h, cmd.t, cmd.origin, (slot) => st.texts.get(slot)))
          assert.equal(ref.error, undefined, `${what}: finish on the copy`)
          assert.deepStrictEqual(shapeOf(r.value), ref.value, `${what}: the trace finish gives`)
          tally('finishJsonStrings = finish', ref)
        }
        break
      }
      case 'strings': {
        const present = [...strings.textOf.keys()]
        const some = present.length > 0 ? present[cmd.p % present.length] : 0
        const edits = []
        let t = ''
        let after = () => {}
        const set = (id, str) => {
          edits.push(id, str.length)
          t += str
        }
        // The bad ones replace a string first: that must not be applied either.
        switch (cmd.how) {
          case 'remove': {
            const ids = present.length > 0 ? [some, present[(cmd.p + 1 + cmd.k) % present.length], some] : [5]
            for (const id of ids) edits.push(id, -1)
            after = () => { for (const id of ids) modelRemove(strings, id) }
            break
          }
          case 'replace':
            set(some, cmd.s)
            after = () => modelSet(strings, some, cmd.s)
            break
          case 'junk': {
            // Not near MAX_STRINGS: the native table is a Vec by id, so
            // setting id 2^24 - 1 would take 320 MiB.
            const id = [2 ** 17 - 1, 100000, strings.next + 1, 0, -0][cmd.k % 5]
            set(id, cmd.s)
            set(id, cmd.s + '!')
            after = () => modelSet(strings, id + 0, cmd.s + '!')
            break
          }
          case 'absent': {
            const id = [2 ** 24 - 2, strings.next + 50][cmd.k % 2]
            if (!strings.textOf.has(id)) edits.push(id, -1, id, -1)
            break
          }
          case 'none': t = cmd.s; break
          case 'odd': set(some, cmd.s + 'x'); edits.push(3); break
          case 'id': set(some, cmd.s + 'x'); edits.push([-1, 1.5, NaN, 2 ** 28, Infinity, -0.5, -Infinity, 2 ** 53][cmd.k % 8], 0); break
          case 'length': set(some, cmd.s + 'x'); edits.push(some, [-2, 0.5, NaN, 2 ** 53, Infinity, -Infinity, -1.5, 2 ** 64][cmd.k % 8]); break
          case 'short': set(some, cmd.s + 'x'); edits.push(some, 1); break
          default: set(some, cmd.s + 'x') // types, table
        }
        const r = both(pair, what, (s, b) => {
          let table = s.table
          let e = new Float64Array(edits)
          let tx = t
          if (cmd.how === 'types') {
            switch (cmd.k % 4) {
              case 0: e = new Int32Array(edits.length); break
              case 1: e = edits; break
              case 2: tx = 7; break
              default: tx = undefined
            }
          }
          if (cmd.how === 'table') table = [(s === pair.n ? pair.j : pair.n).table, {}, null, Object.create(Object.getPrototypeOf(s.table)), e][cmd.k % 5]
          return b.setStrings(table, e, tx)
        })
        tally('setStrings', r)
        if (r.error === undefined) after()
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
    for (const want of ['shrink: true', 'shrink: error',
      'finishJsonStrings: value', 'finishJsonStrings: null', 'finishJsonStrings: error', 'finishJsonStrings = finish: value',
      'setStrings: value', 'setStrings: error']) {
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

/**
 * finishJsonStrings on both sides of a fresh transaction with one segment per
 * name, the root holding `attributes` ([key, value]), every string in each
 * side's table; returns the two outputs.
 */
function jsonOf (names, attributes = [], opts = {}) {
  const { pair, handles } = transaction(names.map((_, i) => [i === 0 ? -1 : 0, opts.start?.[i] ?? i, opts.end?.[i]]))
  const strings = []
  const idOf = new Map()
  const id = (str) => {
    if (!idOf.has(str)) {
      idOf.set(str, strings.length)
      strings.push(str)
    }
    return idOf.get(str)
  }
  const segs = names.map((name, i) => ({
    h: handles[i],
    name: id(name),
    attrs: (i === 0 ? attributes : []).map(([key, v]) => [id(key), ...(typeof v === 'string' ? [0, id(v)] : typeof v === 'number' ? [1, v] : [2, v ? 1 : 0])])
  }))
  const end = opts.finish ?? 10
  const origin = opts.origin ?? 0
  const [a, b] = [pair.n, pair.j].map((side) => {
    const arrays = arraysOf(side, segs)
    return side.b.finishJsonStrings(side.m, handles[0], end, origin, arrays.side, arrays.arena, arrays.values, tableOf(side.b, strings), opts.ids)
  })
  sameBits(pair.n.m, pair.j.m, 'after finishJsonStrings')
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
      same(`setStrings(table=${label})`, (b) => b.setStrings(v, new Float64Array(2), 'x'))
      same(`setStrings(edits=${label})`, (b) => b.setStrings(b.stringTable(), v, 'x'), { expectError: false })
      same(`setStrings(text=${label})`, (b) => b.setStrings(b.stringTable(), new Float64Array(0), v), { expectError: false })
      const strings = (b, m, k) => {
        const args = [m, 1, 1, 0, new Int32Array(2048), new Int32Array(0), new Float64Array(0), b.stringTable(), undefined, undefined]
        args[k] = v
        return b.finishJsonStrings(...args)
      }
      for (const [k, name] of ['m', 'handle', 'end', 'timeOrigin', 'side', 'arena', 'values', 'table', 'ids', 'bytes'].entries()) {
        same(`finishJsonStrings(${name}=${label})`, (b, m) => strings(b, m, k), { expectError: false })
      }
      same(`scan(${label})`, (b) => b.scan(v))
      same(`check(${label})`, (b) => b.check(v))
      for (let k = 1; k <= 3; k++) {
        same(`leaks(arg ${k}=${label})`, (b, m) => b.leaks(m, ...[1, 2, 3].map((x, i) => (i === k - 1 ? v : x)), out()), { expectError: false })
      }
      same(`leaks(out=${label})`, (b, m) => b.leaks(m, 1, 1, 1, v))
    }
    same('first failing argument wins', (b) => b.finish('x', 'y', 'z', 'w'))
    same('setStrings: first failing argument wins', (b) => b.setStrings({}, 'x', 5))
    same('finishJsonStrings: first failing argument wins', (b, m) => b.finishJsonStrings(m, 1, 1, 0, [], {}, new Int32Array(1), {}, 5))
    same('finishJsonStrings: the table before ids', (b, m) => b.finishJsonStrings(m, 1, 1, 0, new Int32Array(2048), new Int32Array(0), new Float64Array(0), {}, 5))
    same('finishJsonStrings: missing arguments are undefined', (b, m) => b.finishJsonStrings(m, 1, 1, 0, new Int32Array(2048), new Int32Array(0), new Float64Array(0)))
    same('finishJsonStrings: ids before bytes', (b, m) => b.finishJsonStrings(m, 1, 1, 0, new Int32Array(2048), new Int32Array(0), new Float64Array(0), b.stringTable(), 5, 'yes'))
    same('finishJsonStrings: bad bytes', (b, m) => b.finishJsonStrings(m, 1, 1, 0, new Int32Array(2048), new Int32Array(0), new Float64Array(0), b.stringTable(), undefined, 1))
    same('finishJsonStrings: a missing ids is None', (b, m) => b.finishJsonStrings(m, 1, 1, 0, new Int32Array(2048), new Int32Array(0), new Float64Array(0), b.stringTable()), { expectError: false })
    same('a table of the other backend is not a table', (b) => b.setStrings((b === N ? J : N).stringTable(), new Float64Array(0), ''))
    same('a table of the other backend is not a table (finishJsonStrings)', (b, m) => b.finishJsonStrings(m, 1, 1, 0, new Int32Array(2048), new Int32Array(0), new Float64Array(0), (b === N ? J : N).stringTable()))
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
        scan: (b, m) => b.scan(m),
        leaks: (b, m) => b.leaks(m, 1, 1, 1, out()),
        check: (b, m) => b.check(m),
        grow: (b, m) => b.grow(m, new Float64Array(bufferLen(2048))),
        finishJsonStrings: (b, m) => b.finishJsonStrings(m, 1, 1, 0, new Int32Array(2048), new Int32Array(0), new Float64Array(0), b.stringTable())
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
    same('leaks into the store', (b, m) => b.leaks(m, 1, 1, 1, view(m, 0, 3)), { buffers: shared })
    const ints = (m, from, len) => new Int32Array(m.buffer, 4 * from, len)
    const strings = (b, m, side, arena, values) => b.finishJsonStrings(m, 1, 1, 0, side, arena, values, b.stringTable())
    const [side, arena, values] = [new Int32Array(2048), new Int32Array(2), new Float64Array(1)]
    same('finishJsonStrings with the side arrays in the store', (b, m) => strings(b, m, ints(m, 2 * bufferLen(1024) - 1, 2048), arena, values), { buffers: shared })
    same('finishJsonStrings with the side arrays just past the store', (b, m) => strings(b, m, ints(m, 2 * bufferLen(1024), 2048), arena, values), { buffers: shared, expectError: false })
    same('finishJsonStrings with the arena in the store', (b, m) => strings(b, m, side, ints(m, 1, 2), values), { buffers: shared })
    same('finishJsonStrings with the values in the store', (b, m) => strings(b, m, side, arena, view(m, 7, 1)), { buffers: shared })
    same('finishJsonStrings with an empty view of the store', (b, m) => strings(b, m, side, ints(m, 3, 0), view(m, 3, 0)), { buffers: shared, expectError: false })
    same('finishJsonStrings: the side arrays\' overlap first', (b, m) => strings(b, m, ints(m, 0, 2048), ints(m, 0, 2), view(m, 0, 1)), { buffers: shared })
    same('finishJsonStrings: the arena\'s before the values\'', (b, m) => strings(b, m, side, ints(m, 0, 2), view(m, 0, 1)), { buffers: shared })
    same('finishJsonStrings: an overlap before the store is checked', (b, m) => strings(b, view(m, 0, 10), side, ints(m, 0, 2), values), { buffers: shared })
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

  it('finishJsonStrings: each bad early ids throws and leaves the transaction in place', () => {
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
      const r = both(pair, `early ids: ${what}`, (s, b) => {
        const a = arraysOf(s, [{ h: handles[0], name: 0, attrs: [] }])
        return b.finishJsonStrings(s.m, handles[0], 5, 0, a.side, a.arena, a.values, tableOf(b, ['r']), ids)
      })
      assert.ok(r.error, `${what}: throws`)
      assert.equal(pair.j.isActive(handles[0]), true, `${what}: still active`)
    }
  })

  it('corrupted transactions: each broken invariant, in finish, finishJsonStrings and check', () => {
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
      for (const call of ['finish', 'finishJsonStrings', 'check', 'leaks']) {
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
            if (call === 'finishJsonStrings') {
              const a = arraysOf(s, handles.map((g, i) => ({ h: g, name: i, attrs: [] })))
              return maskJson(b.finishJsonStrings(s.m, h, 9, 0, a.side, a.arena, a.values, tableOf(b, ['a', 'b', 'c'])))
            }
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

// ---------------------------------------------------------------------------
// String tables and finishJsonStrings, case by case.

/** A store of `b` with one transaction of `segments` ([parentIndex, start, end]); its side and handles. */
function storeWith (b, segments, next = 1000) {
  const side = new Side(b, MIN_CAPACITY, next)
  const handles = []
  for (const [p, start, end] of segments) {
    const h = p < 0 ? side.startTransaction(start) : side.startSegment(handles[p], start, 1e9)
    handles.push(h)
    if (end !== undefined) side.endSegment(h, end)
  }
  return { side, handles }
}

/** A table of `b` holding `strings` at ids 0, 1, ... (undefined: none). */
function tableOf (b, strings) {
  const table = b.stringTable()
  const edits = []
  strings.forEach((str, id) => { if (str !== undefined) edits.push(id, str.length) })
  b.setStrings(table, new Float64Array(edits), strings.filter((x) => x !== undefined).join(''))
  return table
}

/**
 * What `table` (of `b`) holds at each of `ids`: the string, or undefined
 * (read back through finishJsonStrings on a store of its own, as a name).
 */
function namesOf (b, table, ids) {
  return ids.map((id) => {
    const { side, handles } = storeWith(b, [[-1, 0]])
    const s = handles[0] & (side.cap - 1)
    const names = new Int32Array(2 * side.cap)
    names[s] = id
    const r = outcome(b, () => b.finishJsonStrings(side.m, handles[0], 1, 0, names, new Int32Array(2), new Float64Array(1), table))
    if (r.error !== undefined) {
      assert.equal(r.error.message, `bad store arrays: slot ${s} names string ${id}, not in the table`)
      return undefined
    }
    return JSON.parse(r.value).name
  })
}

/**
 * The store's arrays for segments `segs` of `side` (each { h, name: id,
 * attrs: [[keyId, kind, value]] }): entries numbered from 1 in that order,
 * `spare` unused ones after them. `at[i]`: segment i's entries.
 */
function arraysOf (side, segs, spare = 0) {
  const cap = side.cap
  let A = 1 + spare
  for (const g of segs) A += g.attrs.length
  const names = new Int32Array(2 * cap).fill(-9)
  const arena = new Int32Array(2 * A).fill(-1)
  const values = new Float64Array(A).fill(NaN)
  const at = []
  let e = 1
  for (const g of segs) {
    const s = g.h & (cap - 1)
    names[s] = g.name
    names[cap + s] = 0
    const mine = []
    for (const [key, kind, v] of g.attrs) {
      arena[e] = (key << 2) | kind
      values[e] = v
      if (mine.length === 0) names[cap + s] = e
      else arena[A + mine[mine.length - 1]] = e
      arena[A + e] = 0
      mine.push(e++)
    }
    at.push(mine)
  }
  return { side: names, arena, values, A, at }
}

// The strings of the case-by-case tests, and the transaction they name:
// root (0) with key 3 = value 4, key 5 = 1.5, key 3 = true; child (1) with
// none; grandchild (2) with key 5 = value 4.
const STRINGS = ['root', 'child', 'grandchild', 'key', 'value', 'k"\\\ud800\n']
const TREE = [[-1, 0], [0, 1], [1, 2, 3]]
const treeSegs = (handles) => [
  { h: handles[0], name: 0, attrs: [[3, 0, 4], [5, 1, 1.5], [3, 2, 1]] },
  { h: handles[1], name: 1, attrs: [] },
  { h: handles[2], name: 2, attrs: [[5, 0, 4]] }
]

/**
 * The bad calls of finishJsonStrings on TREE: each breaks its arrays (or
 * the store, or ids) and says the error; `c` has the capacity, slots,
 * handles, entries (`at`) and entry count A.
 */
const arrayCases = {
  'side arrays one short': { edit: (a) => { a.side = a.side.slice(0, -1) }, error: (c) => `bad store arrays: side arrays hold ${2 * c.cap - 1} numbers, need ${2 * c.cap}` },
  'side arrays one long': { edit: (a) => { const t = new Int32Array(a.side.length + 1); t.set(a.side); a.side = t }, error: (c) => `bad store arrays: side arrays hold ${2 * c.cap + 1} numbers, need ${2 * c.cap}` },
  'side arrays empty': { edit: (a) => { a.side = new Int32Array(0) }, error: (c) => `bad store arrays: side arrays hold 0 numbers, need ${2 * c.cap}` },
  'arena one short': { edit: (a) => { a.arena = a.arena.slice(0, -1) }, error: (c) => `bad store arrays: arena holds ${2 * c.A - 1} numbers, needs ${2 * c.A}` },
  'values one long': { edit: (a) => { const t = new Float64Array(a.values.length + 1); t.set(a.values); a.values = t }, error: (c) => `bad store arrays: arena holds ${2 * c.A} numbers, needs ${2 * c.A + 2}` },
  'both lengths wrong: the side arrays first': { edit: (a) => { a.side = a.side.slice(1); a.arena = a.arena.slice(1) }, error: (c) => `bad store arrays: side arrays hold ${2 * c.cap - 1} numbers, need ${2 * c.cap}` },
  'root name not in the table': { edit: (a, c) => { a.side[c.slots[0]] = 9 }, error: (c) => `bad store arrays: slot ${c.slots[0]} names string 9, not in the table` },
  'name -1': { edit: (a, c) => { a.side[c.slots[1]] = -1 }, error: (c) => `bad store arrays: slot ${c.slots[1]} names string -1, not in the table` },
  'name MAX_STRINGS': { edit: (a, c) => { a.side[c.slots[2]] = 2 ** 24 }, error: (c) => `bad store arrays: slot ${c.slots[2]} names string 16777216, not in the table` },
  'name removed': { strings: STRINGS.map((x, i) => (i === 1 ? undefined : x)), error: (c) => `bad store arrays: slot ${c.slots[1]} names string 1, not in the table` },
  'first entry A': { edit: (a, c) => { a.side[c.cap + c.slots[0]] = c.A }, error: (c) => `bad store arrays: slot ${c.slots[0]} lists entry ${c.A}` },
  'first entry -1': { edit: (a, c) => { a.side[c.cap + c.slots[1]] = -1 }, error: (c) => `bad store arrays: slot ${c.slots[1]} lists entry -1` },
  'a next entry past the arena': { edit: (a, c) => { a.arena[c.A + c.at[0][1]] = c.A + 3 }, error: (c) => `bad store arrays: slot ${c.slots[0]} lists entry ${c.A + 3}` },
  'a list that loops': { edit: (a, c) => { a.arena[c.A + c.at[0][2]] = c.at[0][0] }, error: (c) => `bad store arrays: the attribute list of slot ${c.slots[0]} does not end` },
  'an entry that is its own next': { edit: (a, c) => { a.arena[c.A + c.at[2][0]] = c.at[2][0] }, error: (c) => `bad store arrays: the attribute list of slot ${c.slots[2]} does not end` },
  'kind 3': { edit: (a, c) => { a.arena[c.at[0][1]] |= 3 }, error: (c) => `bad store arrays: entry ${c.at[0][1]} has kind 3` },
  'a key word of -1': { edit: (a, c) => { a.arena[c.at[2][0]] = -1 }, error: (c) => `bad store arrays: entry ${c.at[2][0]} has kind 3` },
  'kind before key': { edit: (a, c) => { a.arena[c.at[0][0]] = (9 << 2) | 3 }, error: (c) => `bad store arrays: entry ${c.at[0][0]} has kind 3` },
  'key not in the table': { edit: (a, c) => { a.arena[c.at[0][0]] = (9 << 2) | 0 }, error: (c) => `bad store arrays: entry ${c.at[0][0]} names string 9, not in the table` },
  'key negative': { edit: (a, c) => { a.arena[c.at[0][1]] = -8 }, error: (c) => `bad store arrays: entry ${c.at[0][1]} names string -2, not in the table` },
  'key before value': { edit: (a, c) => { a.arena[c.at[0][0]] = 9 << 2; a.values[c.at[0][0]] = 9.5 }, error: (c) => `bad store arrays: entry ${c.at[0][0]} names string 9, not in the table` },
  'string value not in the table': { edit: (a, c) => { a.values[c.at[0][0]] = 9 }, error: (c) => `bad store arrays: entry ${c.at[0][0]} names string 9, not in the table` },
  'string value 1.5': { edit: (a, c) => { a.values[c.at[2][0]] = 1.5 }, error: (c) => `bad store arrays: entry ${c.at[2][0]} names string 1.5, not in the table` },
  'string value NaN': { edit: (a, c) => { a.values[c.at[0][0]] = NaN }, error: (c) => `bad store arrays: entry ${c.at[0][0]} names string NaN, not in the table` },
  'string value -1': { edit: (a, c) => { a.values[c.at[0][0]] = -1 }, error: (c) => `bad store arrays: entry ${c.at[0][0]} names string -1, not in the table` },
  'string value inf': { edit: (a, c) => { a.values[c.at[0][0]] = Infinity }, error: (c) => `bad store arrays: entry ${c.at[0][0]} names string inf, not in the table` },
  'string value MAX_STRINGS': { edit: (a, c) => { a.values[c.at[0][0]] = 2 ** 24 }, error: (c) => `bad store arrays: entry ${c.at[0][0]} names string 16777216, not in the table` },
  'string value -0, and no id 0': { strings: STRINGS.map((x, i) => (i === 0 ? undefined : x)), edit: (a, c) => { a.side[c.slots[0]] = 1; a.values[c.at[0][0]] = -0 }, error: (c) => `bad store arrays: entry ${c.at[0][0]} names string -0, not in the table` },
  'errors in creation order, not trace order': {
    tree: [[-1, 0], [0, 5], [0, 1]],
    edit: (a, c) => { a.side[c.slots[1]] = 9; a.side[c.slots[2]] = 10 },
    error: (c) => `bad store arrays: slot ${c.slots[1]} names string 9, not in the table`
  },
  'the walk before the lengths': {
    edit: (a, c) => { c.m[col(c.cap, L.C_COUNT) + c.slots[0]] = 5; a.side = a.side.slice(1) },
    code: 'GenericFailure',
    error: (c) => `segment store is inconsistent: transaction ${c.handles[0]} lists 3 segments, counts 5`
  },
  'the walk before the names': {
    edit: (a, c) => { c.m[col(c.cap, L.C_NEXT) + c.slots[1]] = L.NONE; a.side[c.slots[0]] = 9 },
    code: 'GenericFailure',
    error: (c) => `segment store is inconsistent: transaction ${c.handles[0]} lists 2 segments, counts 3`
  },
  'the arrays before ids': { ids: '0'.repeat(47), edit: (a, c) => { a.side[c.slots[2]] = 9 }, error: (c) => `bad store arrays: slot ${c.slots[2]} names string 9, not in the table` },
  'bad ids': { ids: '0'.repeat(47), error: () => 'early ids: 47 hex digits for 3 segments, expected 80' },
  'bad ids, in a span': { ids: '0'.repeat(32) + 'x'.repeat(48), error: () => 'early ids: bad span id' }
}

/**
 * Runs case `kase` of arrayCases on binding `b`: returns what the call gave
 * and the context; asserts that a failing call left the transaction, the
 * buffer (bit for bit) and the table as they were.
 */
function runArrayCase (b, kase, next = 1000) {
  const { side, handles } = storeWith(b, kase.tree ?? TREE, next)
  const strings = kase.strings ?? STRINGS
  const table = tableOf(b, strings)
  const a = arraysOf(side, treeSegs(handles), 2)
  const cap = side.cap
  const c = { cap, handles, slots: handles.map((h) => h & (cap - 1)), at: a.at, A: a.A, m: side.m }
  kase.edit?.(a, c)
  const before = Buffer.from(side.m.buffer).toString('hex')
  const r = outcome(b, () => b.finishJsonStrings(side.m, handles[0], 10, 0, a.side, a.arena, a.values, table, kase.ids))
  if (r.error !== undefined) {
    assert.equal(Buffer.from(side.m.buffer).toString('hex'), before, 'the buffer is untouched')
    assert.equal(side.isActive(handles[0]), true, 'the transaction is still there')
    assert.deepStrictEqual(namesOf(b, table, [0, 1, 2, 3, 4, 5, 9]), [...strings, undefined].slice(0, 7), 'the table is untouched')
  }
  return { r, c, m: side.m }
}

describe('the JS backend: string tables and finishJsonStrings', () => {
  it('stringTable: a new, empty, opaque table each call', () => {
    const a = J.stringTable()
    const b = J.stringTable()
    assert.notEqual(a, b)
    assert.equal(typeof a, 'object')
    assert.deepStrictEqual(Object.keys(a), [])
    assert.equal(JSON.stringify(a), '{}')
    assert.deepStrictEqual(namesOf(J, a, [0, 1, 2 ** 24 - 1]), [undefined, undefined, undefined])
  })

  it('setStrings: sets, replaces and removes in order, pieces following one another', () => {
    const t = J.stringTable()
    J.setStrings(t, new Float64Array([0, 2, 1, 0, 2, 3]), 'abcdeXYZ')
    assert.deepStrictEqual(namesOf(J, t, [0, 1, 2, 3]), ['ab', '', 'cde', undefined])
    // Removing takes no text; a later edit of the same id wins.
    J.setStrings(t, new Float64Array([0, -1, 7, -1, 2, 1, 2, 2]), 'xyz-ignored')
    assert.deepStrictEqual(namesOf(J, t, [0, 1, 2, 7]), [undefined, '', 'yz', undefined])
    // No edits: nothing, whatever the text.
    J.setStrings(t, new Float64Array(0), 'ignored')
    J.setStrings(t, new Float64Array([3, -1]), '')
    assert.deepStrictEqual(namesOf(J, t, [0, 1, 2, 3]), [undefined, '', 'yz', undefined])
    // -0 is id 0 and length 0; the last id there is; set, removed, set again.
    J.setStrings(t, new Float64Array([-0, 1, 2 ** 24 - 1, 2, 1, -0, 5, 1, 5, -1, 5, 1]), 'qrstu')
    assert.deepStrictEqual(namesOf(J, t, [0, 2 ** 24 - 1, 1, 5]), ['q', 'rs', '', 'u'])
    // Pieces may split a surrogate pair: each half is a lone surrogate.
    J.setStrings(t, new Float64Array([0, 1, 1, 1, 2, 2]), '\ud83d\ude00\ud83d\ude00')
    assert.deepStrictEqual(namesOf(J, t, [0, 1, 2]), ['\ud83d', '\ude00', '\ud83d\ude00'])
  })

  it('setStrings: each bad call throws its error and leaves the table as it was', () => {
    const NOT_TABLE = { code: 'InvalidArg', message: 'not a string table' }
    const typedArray = { code: 'InvalidArg', message: 'Get TypedArray info failed' }
    const textError = { code: 'StringExpected', message: 'Failed to convert napi `utf16 string` into rust type `String`' }
    const edits = (why) => ({ code: 'InvalidArg', message: `bad string edits: ${why}` })
    // Each replaces id 0 and removes id 1 first (not applied either).
    const prefix = [0, 1, 1, -1]
    const cases = [
      ...[{}, null, undefined, 1, 'x', [], new Float64Array(2), () => {}, Object.create(Object.getPrototypeOf(J.stringTable())), N.stringTable()]
        .map((v, i) => [`not a table (${i})`, () => v, prefix, 'Z', NOT_TABLE]),
      ['edits an array', null, [0, 1], 'Z', typedArray],
      ['edits an Int32Array', null, new Int32Array(2), 'Z', { code: 'InvalidArg', message: 'Expected $name, got 5' }],
      ['edits undefined', null, undefined, 'Z', typedArray],
      ['text a number', null, prefix, 5, textError],
      ['text undefined', null, prefix, undefined, textError],
      ['first failing argument wins', () => ({}), 'x', 5, NOT_TABLE],
      ['odd length', null, [...prefix, 2], 'Z', edits('5 numbers, not pairs')],
      ['one number', null, [2], 'Z', edits('1 numbers, not pairs')],
      ['odd before a bad id', null, [...prefix, 1.5, 1, 2], 'Z', edits('7 numbers, not pairs')],
      ...[[-1, '-1'], [1.5, '1.5'], [NaN, 'NaN'], [2 ** 24, '16777216'], [Infinity, 'inf'], [-Infinity, '-inf'], [-0.5, '-0.5'], [2 ** 53, '9007199254740992']]
        .map(([id, shown]) => [`id ${shown}`, null, [...prefix, id, 0], 'Z', edits(`id ${shown}`)]),
      ...[[-2, '-2'], [-1.5, '-1.5'], [0.5, '0.5'], [NaN, 'NaN'], [Infinity, 'inf'], [-Infinity, '-inf'], [2 ** 53, '9007199254740992'], [2 ** 64, '18446744073709552000']]
        .map(([len, shown]) => [`length ${shown}`, null, [...prefix, 2, len], 'Z', edits(`length ${shown}`)]),
      ['the id before the length', null, [...prefix, 1.5, 0.5], 'Z', edits('id 1.5')],
      ['pairs in order', null, [...prefix, 2, 0.5, 1.5, 1], 'Z', edits('length 0.5')],
      ['a piece past the text', null, [...prefix, 2, 3], 'Zab', edits('text ends early')],
      ['pieces past the text', null, [...prefix, 2, 1, 3, 2], 'Zab', edits('text ends early')],
      ['past the text before a bad id', null, [...prefix, 2, 5, 1.5, 1], 'Zab', edits('text ends early')]
    ]
    for (const [what, table, e, text, error] of cases) {
      const t = tableOf(J, ['old', 'one'])
      const r = outcome(J, () => J.setStrings(table === null ? t : table(), Array.isArray(e) && !what.includes('an array') ? new Float64Array(e) : e, text))
      assert.ok(r.error, `${what}: throws`)
      assert.deepStrictEqual({ code: r.error.code, message: r.error.message }, error, what)
      assert.deepStrictEqual(namesOf(J, t, [0, 1, 2]), ['old', 'one', undefined], `${what}: the table is untouched`)
    }
    // A removal takes no text.
    const t = tableOf(J, ['old', 'one'])
    J.setStrings(t, new Float64Array([0, 1, 5, -1, 1, 1]), 'ab')
    assert.deepStrictEqual(namesOf(J, t, [0, 1]), ['a', 'b'])
  })

  it('finishJsonStrings: argument errors in argument order, overlaps, a bad store, an inactive handle', () => {
    const { side, handles } = storeWith(J, TREE)
    const m = side.m
    const t = tableOf(J, STRINGS)
    const a = arraysOf(side, treeSegs(handles))
    const call = (...over) => {
      const args = [m, handles[0], 10, 0, a.side, a.arena, a.values, t, undefined]
      for (let i = 0; i < over.length; i += 2) args[over[i]] = over[i + 1]
      const r = outcome(J, () => J.finishJsonStrings(...args))
      return r.error === undefined ? r : { error: { code: r.error.code, message: r.error.message } }
    }
    const err = (code, message) => ({ error: { code, message } })
    const typed = err('InvalidArg', 'Get TypedArray info failed')
    const before = Buffer.from(m.buffer).toString('hex')
    assert.deepStrictEqual(call(0, {}, 4, {}), typed, 'm first')
    assert.deepStrictEqual(call(1, 'x'), err('NumberExpected', 'Failed to convert napi value String into rust type `f64`'))
    assert.deepStrictEqual(call(3, undefined), err('NumberExpected', 'Failed to convert napi value Undefined into rust type `f64`'))
    assert.deepStrictEqual(call(4, new Float64Array(2048)), err('InvalidArg', 'Expected $name, got 8'), 'side a Float64Array')
    assert.deepStrictEqual(call(4, [1, 2]), typed, 'side an array')
    assert.deepStrictEqual(call(5, new Uint32Array(2)), err('InvalidArg', 'Expected $name, got 6'), 'arena a Uint32Array')
    assert.deepStrictEqual(call(6, new Int32Array(2)), err('InvalidArg', 'Expected $name, got 5'), 'values an Int32Array')
    assert.deepStrictEqual(call(7, {}), err('InvalidArg', 'not a string table'))
    assert.deepStrictEqual(call(7, N.stringTable()), err('InvalidArg', 'not a string table'), "the native addon's table")
    assert.deepStrictEqual(call(8, 5), err('StringExpected', 'Failed to convert JavaScript value `Number 5 ` into rust type `String`'))
    assert.deepStrictEqual(call(5, {}, 7, {}), typed, 'the arena before the table')
    assert.deepStrictEqual(call(7, {}, 8, 5), err('InvalidArg', 'not a string table'), 'the table before ids')
    const ints = (from, len) => new Int32Array(m.buffer, 4 * from, len)
    const overlap = (what) => err('InvalidArg', `${what} must not share memory with the store buffer`)
    assert.deepStrictEqual(call(4, ints(0, 2048), 5, ints(0, 2)), overlap('the side arrays'))
    assert.deepStrictEqual(call(5, ints(2 * m.length - 1, 1), 6, new Float64Array(m.buffer, 0, 1)), overlap('the attribute arena'))
    assert.deepStrictEqual(call(6, new Float64Array(m.buffer, 8, 3)), overlap('the attribute values'))
    assert.deepStrictEqual(call(1, 12345.5, 6, new Float64Array(m.buffer, 8, 3)), overlap('the attribute values'), 'overlaps before the handle')
    assert.deepStrictEqual(call(0, new Float64Array(m.buffer, 0, 5), 6, new Float64Array(m.buffer, 8, 3)), overlap('the attribute values'), 'overlaps before the store')
    assert.deepStrictEqual(call(4, ints(0, 0), 6, new Float64Array(m.buffer, 8, 0)).error?.code, 'InvalidArg', 'empty views share nothing: the side arrays are too short')
    // The three arrays are written or read together: no two may overlap,
    // checked after each against the store buffer.
    const one = new ArrayBuffer(8 * 4096)
    const among = (what, other) => err('InvalidArg', `${what} must not share memory with ${other}`)
    assert.deepStrictEqual(call(4, new Int32Array(one, 0, 2048), 5, new Int32Array(one, 4 * 2047, 2)), among('the side arrays', 'the attribute arena'))
    assert.deepStrictEqual(call(4, new Int32Array(one, 0, 2048), 6, new Float64Array(one, 8 * 1023, 1)), among('the side arrays', 'the attribute values'))
    assert.deepStrictEqual(call(5, new Int32Array(one, 0, 2), 6, new Float64Array(one, 0, 1)), among('the attribute arena', 'the attribute values'))
    assert.deepStrictEqual(call(5, new Int32Array(one, 0, 2), 6, new Float64Array(one, 0, 1), 4, ints(0, 2048)), overlap('the side arrays'), 'the store buffer first')
    assert.deepStrictEqual(call(0, new Float64Array(bufferLen(1024))), err('InvalidArg', 'not a segment store buffer: wrong magic number'))
    assert.equal(Buffer.from(m.buffer).toString('hex'), before, 'nothing changed')
    // Not active: null, whatever the arrays and ids.
    const reserved = m[H_RESERVE + m[H_RESERVED] - 1]
    for (const h of [handles[0] + MIN_CAPACITY, reserved, 2 ** 30, -1, NaN, 1.5]) {
      assert.deepStrictEqual(call(1, h, 4, new Int32Array(0), 5, new Int32Array(1), 8, 'x'), { value: null }, `handle ${h}`)
    }
    assert.equal(Buffer.from(m.buffer).toString('hex'), before, 'nothing changed')
    // And once: the JSON; then the handle is not active.
    const json = call(1, handles[2]).value
    assert.equal(JSON.parse(json).segments.length, 3)
    assert.deepStrictEqual(call(1, handles[2]), { value: null })
    assert.deepStrictEqual(J.check(m), [])
    assert.deepStrictEqual(J.scan(m).liveSegments, 0)
  })

  it('finishJsonStrings: frees the names and attribute entries of the transaction in the arrays, on both backends', () => {
    for (const B of [J, N]) {
      const what = B === J ? 'js' : 'native'
      const { side, handles } = storeWith(B, TREE)
      const cap = side.cap
      // Entries 1-3 are the root's, 4 the grandchild's; 5 is free.
      const a = arraysOf(side, treeSegs(handles), 1)
      a.arena[0] = 4 // in use
      a.arena[a.A] = 5 // the first free entry
      a.arena[a.A + 5] = 0
      const json = B.finishJsonStrings(side.m, handles[1], 10, 0, a.side, a.arena, a.values, tableOf(B, STRINGS))
      assert.equal(JSON.parse(json).segments.length, 3, what)
      for (const h of handles) {
        const s = h & (cap - 1)
        assert.deepStrictEqual([a.side[s], a.side[cap + s]], [-1, 0], `${what}: slot ${s} freed`)
      }
      assert.equal(a.side.filter((x) => x === -9).length, 2 * cap - 2 * handles.length, `${what}: other slots untouched`)
      assert.equal(a.arena[0], 0, `${what}: none in use`)
      // The last segment's entries first, each list in its order, then what was free.
      const free = []
      for (let e = a.arena[a.A]; e !== 0 && free.length < 10; e = a.arena[a.A + e]) free.push(e)
      assert.deepStrictEqual(free, [4, 1, 2, 3, 5], `${what}: the free list`)
      // Keys and values are left as they were.
      assert.deepStrictEqual(Array.from(a.arena.subarray(1, 5)), [(3 << 2) | 0, (5 << 2) | 1, (3 << 2) | 2, (5 << 2) | 0], `${what}: keys`)
    }
  })

  it('finishJsonStrings: each bad store array, ids or store throws its error and leaves the transaction, the buffer and the table as they were', () => {
    for (const [what, kase] of Object.entries(arrayCases)) {
      const { r, c } = runArrayCase(J, kase)
      assert.ok(r.error, `${what}: throws`)
      assert.deepStrictEqual({ code: r.error.code, message: r.error.message }, { code: kase.code ?? 'InvalidArg', message: kase.error(c) }, what)
    }
  })

  it('finishJsonStrings: the trace of finish, for the values as the store keeps them; the native JSON', () => {
    const compare = (what, tree, segs, opts = {}) => {
      // Three equal stores: one ends with finish, the others with
      // finishJsonStrings, of this backend and of the native addon.
      const x = storeWith(J, tree, 77)
      const y = storeWith(J, tree, 77)
      const z = storeWith(N, tree, 77)
      sameBits(x.side.m, y.side.m, `${what}: set up`)
      sameBits(z.side.m, y.side.m, `${what}: set up (native)`)
      const strings = []
      const idOf = new Map()
      const id = (str) => {
        if (!idOf.has(str)) {
          idOf.set(str, strings.length + 3)
          strings[strings.length + 3] = str
        }
        return idOf.get(str)
      }
      const store = segs.map((g, i) => ({
        h: y.handles[i],
        name: id(g.name),
        attrs: g.attrs.map(([key, v, raw]) => [id(key), typeof v === 'string' ? 0 : typeof v === 'number' ? 1 : 2, typeof v === 'string' ? id(v) : raw ?? +v])
      }))
      const a = arraysOf(y.side, store, 3)
      const end = opts.end ?? 50
      const origin = opts.origin ?? 1.7e12
      const texts = new Map(segs.map((g, i) => [y.handles[i] & (y.side.cap - 1), { name: g.name, attrs: g.attrs.map(([key, v]) => [key, v]) }]))
      const want = traceShape(J, x.side.m, x.handles[0], end, origin, (slot) => texts.get(slot))
      const b = { side: a.side.slice(), arena: a.arena.slice() }
      const got = J.finishJsonStrings(y.side.m, y.handles[0], end, origin, a.side, a.arena, a.values, tableOf(J, strings), opts.ids)
      checkJsonIds(got, what)
      assert.deepStrictEqual(shapeOf(got), want, what)
      const native = N.finishJsonStrings(z.side.m, z.handles[0], end, origin, b.side, b.arena, a.values, tableOf(N, strings), opts.ids)
      assert.equal(maskJson(got), maskJson(native), `${what}: the native JSON`)
      assert.deepStrictEqual(a.side, b.side, `${what}: the side arrays after (native)`)
      assert.deepStrictEqual(a.arena, b.arena, `${what}: the arena after (native)`)
      sameBits(x.side.m, y.side.m, `${what}: after`)
      sameBits(z.side.m, y.side.m, `${what}: after (native)`)
      return got
    }
    compare('the root alone, no attributes', [[-1, 0]], [{ name: 'r', attrs: [] }])
    const json = compare('numbers and booleans as the store keeps them', [[-1, 0], [0, 1]], [
      { name: 'r', attrs: [['n', NaN], ['i', Infinity], ['z', -0], ['t', true, NaN], ['f', false, -0], ['u', true, 5e-324], ['e', 1e21]] },
      { name: '', attrs: [['k', 'v'], ['k', 'w'], ['', '']] }
    ])
    assert.match(json, /"attributes":\{"n":null,"i":null,"z":-0,"t":true,"f":false,"u":true,"e":1000000000000000000000\}/)
    assert.match(json, /"attributes":\{"k":"v","k":"w","":""\}/)
    compare('strings that need escapes', [[-1, 0], [0, 1], [1, 2]], [
      { name: '"\\\u0000\u001f', attrs: [['\ud800', '\udc00x'], ['\u2028', '\ud83d\ude00']] },
      { name: '\ud83d', attrs: [['é', 'é€']] },
      { name: 'plain', attrs: [] }
    ])
    const ids = 'ABCDEF0123456789abcdef0123456789' + '0'.repeat(16) + '00000000000000a1'
    const early = compare('early ids', [[-1, 0], [0, 1]], [{ name: 'r', attrs: [] }, { name: 'c', attrs: [] }], { ids })
    assert.ok(early.startsWith('{"traceId":"abcdef0123456789abcdef0123456789"'))
    assert.ok(early.includes('"id":"00000000000000a1"'))
    // The longest list there may be: 65,536 entries.
    const many = Array.from({ length: 65536 }, (_, i) => [`k${i % 100}`, i % 3 === 0 ? `v${i}` : i % 3 === 1 ? i / 7 : i % 2 === 0])
    compare('65,536 attributes', [[-1, 0]], [{ name: 'r', attrs: many }])
  })

  it('finishJsonStrings: a list of 65,537 entries does not end', () => {
    const { side, handles } = storeWith(J, [[-1, 0]])
    const t = tableOf(J, ['r', 'k'])
    const a = arraysOf(side, [{ h: handles[0], name: 0, attrs: Array.from({ length: 65537 }, () => [1, 1, 2]) }])
    const s = handles[0] & (side.cap - 1)
    assert.throws(() => J.finishJsonStrings(side.m, handles[0], 1, 0, a.side, a.arena, a.values, t), { code: 'InvalidArg', message: `bad store arrays: the attribute list of slot ${s} does not end` })
    assert.equal(side.isActive(handles[0]), true)
    // The 65,537th entry's own range is checked first.
    a.arena[a.A + 65536] = a.A
    assert.throws(() => J.finishJsonStrings(side.m, handles[0], 1, 0, a.side, a.arena, a.values, t), { code: 'InvalidArg', message: `bad store arrays: slot ${s} lists entry ${a.A}` })
  })

  it('finishJsonStrings: random trees give the trace of finish, with their names and attributes', () => {
    const attr = fc.tuple(text, attrValue, fc.constantFrom(1, -1, 0.5, NaN, Infinity, 5e-324))
    fc.assert(fc.property(
      fc.array(fc.record({ p: fc.nat(), start: time, end: fc.option(time, { nil: undefined }), name: text, attrs: fc.array(attr, { maxLength: 6 }) }), { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 0, max: 5 }),
      fc.nat(),
      fc.integer({ min: 0, max: 2 ** 30 - 1 }),
      (segments, spare, seed, next) => {
        const tree = segments.map((g, i) => [i === 0 ? -1 : g.p % i, g.start, g.end])
        const x = storeWith(J, tree, next)
        const y = storeWith(J, tree, next)
        // Interned from id 0 in order of first use, the store's way, some ids left free.
        const strings = []
        const idOf = new Map()
        const id = (str) => {
          if (!idOf.has(str)) {
            idOf.set(str, strings.length + (seed % 3))
            strings[strings.length + (seed % 3)] = str
          }
          return idOf.get(str)
        }
        const segs = segments.map((g, i) => ({
          h: y.handles[i],
          name: id(g.name),
          attrs: g.attrs.map(([key, v, truthy]) => [id(key), typeof v === 'string' ? 0 : typeof v === 'number' ? 1 : 2, typeof v === 'string' ? id(v) : typeof v === 'number' ? v : v ? truthy : 0])
        }))
        const table = tableOf(J, strings)
        // Entries in a shuffled order, spare ones junk.
        const count = segs.reduce((n, g) => n + g.attrs.length, 0)
        const A = count + 1 + spare
        const order = shuffled(A - 1, seed)
        const side = new Int32Array(2 * y.side.cap).fill(-3)
        const arena = new Int32Array(2 * A).fill(-1)
        const values = new Float64Array(A).fill(NaN)
        let k = 0
        for (const g of segs) {
          const s = g.h & (y.side.cap - 1)
          side[s] = g.name
          side[y.side.cap + s] = 0
          let prev = 0
          for (const [key, kind, v] of g.attrs) {
            const e = order[k++]
            arena[e] = (key << 2) | kind
            values[e] = v
            if (prev === 0) side[y.side.cap + s] = e
            else arena[A + prev] = e
            arena[A + e] = 0
            prev = e
          }
        }
        const texts = new Map(segments.map((g, i) => [y.handles[i] & (y.side.cap - 1), { name: g.name, attrs: g.attrs.map(([key, v]) => [key, v]) }]))
        const want = traceShape(J, x.side.m, x.handles[0], 3000, 1.7e12, (slot) => texts.get(slot))
        const got = J.finishJsonStrings(y.side.m, y.handles[0], 3000, 1.7e12, side, arena, values, table)
        checkJsonIds(got, 'random tree')
        assert.deepStrictEqual(shapeOf(got), want)
        sameBits(x.side.m, y.side.m, 'after')
      }
    ), fcParams(200))
  })
})

describe('string tables and finishJsonStrings: the native addon and the JS backend, case by case', () => {
  it('each bad store array, ids or store: the same error, the transaction, buffer and table left as they were', () => {
    for (const [what, kase] of Object.entries(arrayCases)) {
      const a = runArrayCase(N, kase, 4321)
      const b = runArrayCase(J, kase, 4321)
      assert.deepStrictEqual(b.r, a.r, what)
      sameBits(a.m, b.m, what)
    }
  })

  it('a good call: the same JSON, and the same buffer after', () => {
    const a = runArrayCase(N, {}, 99)
    const b = runArrayCase(J, {}, 99)
    assert.equal(typeof a.r.value, 'string')
    assert.equal(maskJson(b.r.value), maskJson(a.r.value))
    sameBits(a.m, b.m, 'after')
  })

  it('setStrings: the same errors, and the same table after', () => {
    const calls = [
      [[0, 1, 1, -1, 2], 'Z'], [[0, 1, 1.5, 0], 'Z'], [[0, 1, 2, 0.5], 'Z'], [[0, 1, 2, 3], 'Zab'], [[0, 1, 2, 2 ** 53], 'Z'],
      [[0, 1, NaN, 1], 'Z'], [[0, 1, 2 ** 28, 1], 'Z'], [[0, 1, 2, -2], 'Z'], [[0, 1, 2, Infinity], 'Z'], [[0, 1, 1, -1], 'Z'],
      [[-0, 2, 1, -0, 7, -1, 2, 1], 'pqr'], [[], 'x'], [[0, 1, 0, 1, 0, -1], 'ab']
    ]
    for (const [edits, text] of calls) {
      const what = JSON.stringify(edits.map(String)) + ' ' + JSON.stringify(text)
      const tables = { n: tableOf(N, STRINGS), j: tableOf(J, STRINGS) }
      const a = outcome(N, (b) => b.setStrings(tables.n, new Float64Array(edits), text))
      const b = outcome(J, (b) => b.setStrings(tables.j, new Float64Array(edits), text))
      assert.deepStrictEqual(b, a, what)
      const ids = [0, 1, 2, 3, 4, 5, 6, 7]
      assert.deepStrictEqual(namesOf(J, tables.j, ids), namesOf(N, tables.n, ids), `${what}: the tables after`)
    }
  })
})
