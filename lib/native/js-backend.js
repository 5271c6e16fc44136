'use strict'

// The pure-JS backend: the native addon's functions (src/binding.rs over the
// Rust core in src/core/) written again in JavaScript, for platforms and
// runtimes where no binary loads. Same names, same arguments, same results,
// over the same Float64Array layout, so the store's JS code does not change:
// - the table (src/core/table.rs): its invariants, numbered as there, the
//   sweep counter, the reserve stack, growth, take_transaction, scans;
// - the trace (src/core/trace.rs): order, parent rows, exclusive times,
//   truncation, dropped counts, early ids;
// - the JSON (src/core/json.rs), byte for byte: numbers as Rust's `{}` prints
//   them (shortest round-trip digits, never an exponent, `-0`), strings as
//   JSON.stringify escapes them (which is what json.rs mirrors);
// - the string table (src/core/strings.rs): strings by id, kept as JSON
//   literals, and a transaction's names and attributes read from the store's
//   own arrays (`finishJsonStrings`);
// - errors: the same conditions and words, thrown as napi-rs throws them (a
//   plain Error whose `code` is the napi status name), argument conversions
//   included.
// Rust's `as` casts saturate (NaN to 0) and usize arithmetic wraps; where a
// corrupted buffer can reach one, the helpers below do the same.

const { randomFillSync } = require('node:crypto')

// ---------------------------------------------------------------------------
// Layout: a copy of src/core/layout.rs (a test compares it with `describe`).

const MAGIC = 0x53430001
const MAX_HANDLE = (1 << 30) - 1
const MIN_CAPACITY = 1 << 10
const MAX_CAPACITY = 1 << 24
const RESERVE_MAX = 256
const MAX_LOAD_EIGHTHS = 7
const MAX_STRINGS = 1 << 24
const H_MAGIC = 0
const H_CAPACITY = 1
const H_NEXT = 2
const H_LIVE_TXN = 3
const H_LIVE_SEG = 4
const H_TOTAL_TXN = 5
const H_TOTAL_SEG = 6
const H_DROPPED = 7
const H_RESERVED = 8
const H_OCCUPIED = 9
const H_RESERVE = 16
const HEADER_LEN = H_RESERVE + RESERVE_MAX
const C_HANDLE = 0
const C_ROOT = 1
const C_PARENT = 2
const C_NEXT = 3
const C_START = 4
const C_END = 5
const C_COUNT = 6
const C_DROPPED = 7
const C_TAIL = 8
const COLUMNS = 9
const OUT_COUNT = 0
const OUT_DROPPED = 1
const OUT_START = 2
const OUT_DURATION = 3
const OUT_HEADER = 4
const ROW_SLOT = 0
const ROW_PARENT = 1
const ROW_START = 2
const ROW_DURATION = 3
const ROW_EXCLUSIVE = 4
const ROW_TRUNCATED = 5
const OUT_ROW = 6
const LEAK_HANDLE = 0
const LEAK_ROOT = 1
const LEAK_START = 2
const LEAK_ROW = 3
const FREE = -1
const RESERVED = -2
const NONE = -1

const DESCRIBE = [
  ['MAGIC', MAGIC], ['MAX_HANDLE', MAX_HANDLE], ['MIN_CAPACITY', MIN_CAPACITY],
  ['MAX_CAPACITY', MAX_CAPACITY], ['RESERVE_MAX', RESERVE_MAX],
  ['MAX_LOAD_EIGHTHS', MAX_LOAD_EIGHTHS], ['MAX_STRINGS', MAX_STRINGS], ['H_MAGIC', H_MAGIC],
  ['H_CAPACITY', H_CAPACITY], ['H_NEXT', H_NEXT], ['H_LIVE_TXN', H_LIVE_TXN],
  ['H_LIVE_SEG', H_LIVE_SEG], ['H_TOTAL_TXN', H_TOTAL_TXN], ['H_TOTAL_SEG', H_TOTAL_SEG],
  ['H_DROPPED', H_DROPPED], ['H_RESERVED', H_RESERVED], ['H_OCCUPIED', H_OCCUPIED],
  ['H_RESERVE', H_RESERVE], ['HEADER_LEN', HEADER_LEN], ['C_HANDLE', C_HANDLE],
  ['C_ROOT', C_ROOT], ['C_PARENT', C_PARENT], ['C_NEXT', C_NEXT], ['C_START', C_START],
  ['C_END', C_END], ['C_COUNT', C_COUNT], ['C_DROPPED', C_DROPPED], ['C_TAIL', C_TAIL],
  ['COLUMNS', COLUMNS], ['FREE', FREE], ['RESERVED', RESERVED], ['NONE', NONE],
  ['OUT_COUNT', OUT_COUNT], ['OUT_DROPPED', OUT_DROPPED], ['OUT_START', OUT_START],
  ['OUT_DURATION', OUT_DURATION], ['OUT_HEADER', OUT_HEADER], ['ROW_SLOT', ROW_SLOT],
  ['ROW_PARENT', ROW_PARENT], ['ROW_START', ROW_START], ['ROW_DURATION', ROW_DURATION],
  ['ROW_EXCLUSIVE', ROW_EXCLUSIVE], ['ROW_TRUNCATED', ROW_TRUNCATED], ['OUT_ROW', OUT_ROW],
  ['LEAK_HANDLE', LEAK_HANDLE], ['LEAK_ROOT', LEAK_ROOT], ['LEAK_START', LEAK_START],
  ['LEAK_ROW', LEAK_ROW]
]

const bufferLen = (capacity) => HEADER_LEN + COLUMNS * capacity

/** The most occupied slots at `capacity` under the load bound (layout.rs `max_occupied`). */
const maxOccupied = (capacity) => Math.floor(MAX_LOAD_EIGHTHS * capacity / 8)

// ---------------------------------------------------------------------------
// Errors, as napi-rs throws them: a plain Error with the status as `code`.

function napiError (code, message) {
  const e = new Error(message)
  e.code = code
  return e
}

const badBuffer = (why) => napiError('InvalidArg', `not a segment store buffer: ${why}`)
const corruptMessage = (why) => `segment store is inconsistent: ${why}`
const corrupt = (why) => napiError('GenericFailure', corruptMessage(why))
const editError = (why) => napiError('InvalidArg', `bad string edits: ${why}`)
const arraysError = (why) => napiError('InvalidArg', `bad store arrays: ${why}`)

// ---------------------------------------------------------------------------
// Numbers as Rust prints them.

// 2^n for n in -1100..1100, built by exact doubling and halving.
const POW2 = new Float64Array(2201)
POW2[1100] = 1
for (let n = 1; n <= 1100; n++) {
  POW2[1100 + n] = POW2[1099 + n] * 2
  POW2[1100 - n] = POW2[1101 - n] / 2
}

/**
 * A finite f64 as Rust's `{}` prints it: the shortest decimal that reads back
 * as the same number, never in exponent form, `-0` for negative zero.
 * JS finds the same shortest digits but for two differences handled here:
 * the notation (JS switches to an exponent at 1e21 and below 1e-6, and
 * prints -0 as 0), and exact ties. When the number lies exactly halfway
 * between the two closest shortest decimals, JS takes the one whose last
 * digit is even and Rust (core::num::flt2dec, `2 * rest >= scale`) the
 * upper one.
 */
function rustFinite (v) {
  if (v === 0) return 1 / v < 0 ? '-0' : '0'
  const a = v < 0 ? -v : v
  if (a < 9007199254740992 && a % 1 === 0) return '' + v // integers print exactly
  const s = '' + a
  const plain = a >= 1e-6 && a < 1e21
  // A tie is broken to an even last digit: an odd one means no tie.
  if (plain && (s.charCodeAt(s.length - 1) & 1) === 1) return v < 0 ? '-' + s : s
  // The digits, without the point and trailing zeros, and the exponent k
  // of the last one: a = digits * 10^k.
  let digits
  let k
  const e = s.indexOf('e')
  if (e >= 0) {
    const mantissa = s.slice(0, e)
    digits = mantissa.length > 1 ? mantissa[0] + mantissa.slice(2) : mantissa
    k = +s.slice(e + 1) - (digits.length - 1)
  } else {
    const dot = s.indexOf('.')
    if (dot >= 0) {
      digits = s.slice(0, dot) + s.slice(dot + 1)
      k = dot + 1 - s.length
    } else {
      digits = s
      k = 0
    }
  }
  let z = digits.length
  while (z > 1 && digits.charCodeAt(z - 1) === 48) z--
  k += digits.length - z
  let lead = 0
  while (lead < z - 1 && digits.charCodeAt(lead) === 48) lead++
  digits = digits.slice(lead, z)
  // a is the midpoint (digits + 1/2) * 10^k of two shortest candidates iff
  // a * 2 / 10^k is an odd integer N, that is: a * 2^(1-k) is an odd integer
  // (then N is it), and 5^k divides N when k > 0. JS took the lower one when
  // (N - 1) / 2 is even, that is N % 4 === 1 (5^k is 1 mod 4).
  if ((digits.charCodeAt(digits.length - 1) & 1) === 0 && k > -1100 && k < 1100) {
    const n = a * POW2[1101 - k]
    if (n % 4 === 1 && (k <= 0 || (k <= 22 && n % 5 ** k === 0))) {
      digits = digits.slice(0, -1) + String.fromCharCode(digits.charCodeAt(digits.length - 1) + 1)
    }
  }
  let out
  if (k >= 0) {
    out = digits + '0'.repeat(k)
  } else {
    const point = digits.length + k // digits before the decimal point
    out = point > 0 ? digits.slice(0, point) + '.' + digits.slice(point) : '0.' + '0'.repeat(-point) + digits
  }
  return v < 0 ? '-' + out : out
}

/** An f64 as Rust's `{}` prints it (in messages): NaN, inf and -inf included. */
function rustDisplay (v) {
  if (v - v === 0) return rustFinite(v) // finite
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'inf' : '-inf'
}

/**
 * trace.rs `Time`: `v` ms rounded to the nearest microsecond, ties up, by
 * the same operations (so to the bit), `+0` for zero; `v` itself where
 * `v * 1000` is 2^53 or more in size, or not a number.
 */
function micros (v) {
  const y = v * 1000
  if (!(Math.abs(y) < 9007199254740992)) return v
  // The truncation, moved to the nearest integer: the fraction is exact.
  const t = Math.trunc(y)
  const r = y - t
  return (t + (r >= 0.5 ? 1 : 0) - (r < -0.5 ? 1 : 0)) / 1000
}

/** An f64 as json.rs's `push_num` writes it: non-finite numbers are null. */
function jsonNum (v) {
  if (v - v !== 0) return 'null'
  if (v === 0) return 1 / v < 0 ? '-0' : '0'
  return rustFinite(v)
}

const TWO64 = 18446744073709551616
const TWO32 = 4294967296

/** `v as u32` (saturating; NaN is 0). */
function asU32 (v) {
  if (!(v > 0)) return 0
  return v >= TWO32 ? 0xffffffff : Math.trunc(v)
}

/** `v as u64 as f64` (saturating; NaN is 0; u64::MAX reads back as 2^64). */
function asU64f (v) {
  if (!(v > 0)) return 0
  return v >= TWO64 ? TWO64 : Math.trunc(v)
}

/** `(v as usize) as u32` (saturating, then wrapping to 32 bits). */
function asUsizeU32 (v) {
  if (!(v > 0)) return 0
  return v >= TWO64 ? 0xffffffff : Math.trunc(v) % TWO32
}

/** `(v as usize) & mask` for a power-of-two mask below 2^32. */
function asUsizeMasked (v, mask) {
  if (!(v > 0)) return 0
  return v >= TWO64 ? mask : Math.trunc(v) % (mask + 1)
}

/** True if `h` is a number a handle can have (table.rs `is_handle_value`). */
const isHandleValue = (h) => (h & MAX_HANDLE) === h

// Raw bits of f64s, for the total order (`f64::total_cmp`) that Rust sorts
// with: NaNs have a sign and a payload there, which a JS number may not keep,
// so they are read off the buffer's memory.
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
const HI = LITTLE ? 1 : 0
const LO = 1 - HI
const bitsF64 = new Float64Array(1)
const bitsU32 = new Uint32Array(bitsF64.buffer)

/** The 32-bit words of the f64 at index `i` of `m`, into `into[0..2]` (hi, lo). */
function rawBits (m, i, into, at) {
  const u = new Uint32Array(m.buffer, m.byteOffset + 8 * i, 2)
  into[at] = u[HI]
  into[at + 1] = u[LO]
}

const keyWords = new Uint32Array(4)

/**
 * `a.total_cmp(b)` for a and b read from `m` at indices `ia` and `ib`
 * (`quiet`: as after `+ 0.0`, which quiets a signalling NaN and turns -0
 * into 0). Called only when a NaN or a zero makes plain `<` not enough.
 */
function totalCmpAt (m, ia, a, ib, b, quiet) {
  for (let k = 0; k < 2; k++) {
    const i = k === 0 ? ia : ib
    const v = k === 0 ? a : b
    if (Number.isNaN(v)) {
      rawBits(m, i, keyWords, 2 * k)
      if (quiet) keyWords[2 * k] |= 0x00080000
    } else {
      bitsF64[0] = quiet ? v + 0 : v
      keyWords[2 * k] = bitsU32[HI]
      keyWords[2 * k + 1] = bitsU32[LO]
    }
    // Negative: flip every bit but the sign, so signed order is total order.
    if (keyWords[2 * k] >= 0x80000000) {
      keyWords[2 * k] ^= 0x7fffffff
      keyWords[2 * k + 1] ^= 0xffffffff
    }
  }
  const ha = keyWords[0] | 0
  const hb = keyWords[2] | 0
  if (ha !== hb) return ha < hb ? -1 : 1
  if (keyWords[1] !== keyWords[3]) return keyWords[1] < keyWords[3] ? -1 : 1
  return 0
}

// ---------------------------------------------------------------------------
// Random ids (ids.rs: random, never all zeros), from a pool of random bytes.

let pool = Buffer.alloc(4096)
let poolAt = pool.length

/** `bytes` random bytes from the pool; returns their offset in `pool`. */
function takeRandom (bytes) {
  if (poolAt + bytes > pool.length) {
    if (bytes > pool.length) pool = Buffer.alloc(Math.max(2 * pool.length, 2 * bytes))
    randomFillSync(pool)
    poolAt = 0
  }
  const at = poolAt
  poolAt += bytes
  return at
}

/** True if the `n` bytes of the pool at `at` are all zero. */
function zeros (at, n) {
  for (let i = at; i < at + n; i++) if (pool[i] !== 0) return false
  return true
}

/** A non-zero id of `bytes` random bytes, as lowercase hex. */
function randomHex (bytes) {
  for (;;) {
    const at = takeRandom(bytes)
    if (!zeros(at, bytes)) return pool.toString('hex', at, at + bytes)
  }
}

/**
 * A trace id and `rows` span ids, as one hex string: the trace id's 32
 * digits, then 16 per row (what `finish` returns).
 */
function randomIds (rows) {
  const bytes = 16 + 8 * rows
  const at = takeRandom(bytes)
  let hex = pool.toString('hex', at, at + bytes)
  // An all-zero id (odds 2^-64 each) is drawn again. Every id is looked at
  // before any is redrawn: a redraw may refill the pool under `at`.
  let redraw = zeros(at, 16) ? [-1] : null
  for (let k = 0; k < rows; k++) {
    if (zeros(at + 16 + 8 * k, 8)) (redraw ??= []).push(k)
  }
  if (redraw !== null) {
    for (const k of redraw) {
      hex = k < 0
        ? randomHex(16) + hex.slice(32)
        : hex.slice(0, 32 + 16 * k) + randomHex(8) + hex.slice(48 + 16 * k)
    }
  }
  return hex
}

/** A draw in `0..=MAX_HANDLE`, for seeding the handle counter. */
function randomCounter () {
  const at = takeRandom(4)
  return pool.readUInt32LE(at) & MAX_HANDLE
}

// ---------------------------------------------------------------------------
// Arguments, converted as napi-rs converts them (in order, first failure wins).

const TypedArrayProto = Object.getPrototypeOf(Uint8Array.prototype)
const getter = (name) => Object.getOwnPropertyDescriptor(TypedArrayProto, name).get
const tagOf = getter(Symbol.toStringTag)
const lengthOf = getter('length')
const bufferOf = getter('buffer')
const byteOffsetOf = getter('byteOffset')

// napi_typedarray_type numbers, which napi-rs prints when the kind is wrong.
const NAPI_TYPED_ARRAY = {
  Int8Array: 0,
  Uint8Array: 1,
  Uint8ClampedArray: 2,
  Int16Array: 3,
  Uint16Array: 4,
  Int32Array: 5,
  Uint32Array: 6,
  Float32Array: 7,
  Float64Array: 8,
  BigInt64Array: 9,
  BigUint64Array: 10,
  Float16Array: 11
}

/** A typed-array slice argument (napi-rs `*ArraySlice`) of kind `want`: returns its length. */
function typedArray (v, want) {
  const tag = tagOf.call(v)
  if (tag === want) return lengthOf.call(v)
  if (tag === undefined) throw napiError('InvalidArg', 'Get TypedArray info failed')
  // Sic: napi-rs's message has the macro's `$name` unexpanded.
  throw napiError('InvalidArg', `Expected $name, got ${NAPI_TYPED_ARRAY[tag]}`)
}

/** A `Float64ArraySlice` argument: returns its length. */
const f64Array = (v) => typedArray(v, 'Float64Array')

/** An `Int32ArraySlice` argument: returns its length. */
const i32Array = (v) => typedArray(v, 'Int32Array')

/** napi-rs's name of a value's type (BigInt is `Unknown`: napi6 is off). */
function napiType (v) {
  switch (typeof v) {
    case 'undefined': return 'Undefined'
    case 'object': return v === null ? 'Null' : 'Object'
    case 'boolean': return 'Boolean'
    case 'number': return 'Number'
    case 'string': return 'String'
    case 'symbol': return 'Symbol'
    case 'function': return 'Function'
    default: return 'Unknown'
  }
}

function numberArg (v, rust) {
  if (typeof v !== 'number') {
    throw napiError('NumberExpected', `Failed to convert napi value ${napiType(v)} into rust type \`${rust}\``)
  }
}

/** A `u32` argument (napi_get_value_uint32: ToUint32). */
function u32Arg (v) {
  numberArg(v, 'u32')
  return v >>> 0
}

/** A `Utf16String` argument. */
function utf16Arg (v) {
  if (typeof v !== 'string') {
    throw napiError('StringExpected', 'Failed to convert napi `utf16 string` into rust type `String`')
  }
}

/** An `Option<String>` argument: undefined for undefined and null. */
/**
 * napi-rs's `Option<bool>`: undefined and null are `None` (false here).
 * @param {unknown} v
 * @returns {boolean}
 */
function optionalBoolArg (v) {
  if (v === undefined || v === null) return false
  if (typeof v === 'boolean') return v
  throw napiError('BooleanExpected', 'Failed to convert napi value into rust type `bool`')
}

function optionalStringArg (v) {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return v
  let what
  const type = napiType(v)
  if (type === 'Function') {
    what = `function ${typeof v.name === 'string' && v.name.length > 0 ? v.name : 'anonymous'}(..) `
  } else if (type === 'Object') {
    what = `Object ${JSON.stringify(v)}`
  } else if (type === 'Boolean' || type === 'Number') {
    what = `${type} ${String(v)} `
  } else {
    what = type
  }
  throw napiError('StringExpected', `Failed to convert JavaScript value \`${what}\` into rust type \`String\``)
}

/**
 * True when two typed arrays (of `aLen` and `bLen` elements; Float64Arrays
 * unless their element sizes are given) share no memory (binding.rs
 * `disjoint`).
 */
function disjoint (a, aLen, b, bLen, aSize = 8, bSize = 8) {
  if (aLen === 0 || bLen === 0) return true
  if (bufferOf.call(a) !== bufferOf.call(b)) return true
  const a0 = byteOffsetOf.call(a)
  const b0 = byteOffsetOf.call(b)
  return a0 + aSize * aLen <= b0 || b0 + bSize * bLen <= a0
}

const overlapError = (what, other = 'the store buffer') => napiError('InvalidArg', `${what} must not share memory with ${other}`)

// ---------------------------------------------------------------------------
// The table (table.rs).
//
// Invariants (numbered as in table.rs):
// 1. A slot `s` is free iff `HANDLE[s] == FREE`; otherwise `HANDLE[s] & (C-1) == s`.
// 2. An occupied slot is either reserved (`ROOT[s] == RESERVED`) or live
//    (`ROOT[s] >= 0`).
// 3. A live slot's `ROOT` is the handle of a live root (`PARENT == NONE`,
//    `ROOT == HANDLE`). Following `NEXT` from a root visits every live slot
//    of its transaction once, in creation order, and ends at `TAIL`; the
//    number visited is the root's `COUNT`.
// 4. A non-root's `PARENT` is a live handle of the same transaction that was
//    created before it.
// 5. Occupied slots never exceed seven eighths of the capacity
//    (`8 * OCCUPIED <= 7 * C`: MAX_LOAD_EIGHTHS and maxOccupied).
// 6. The header counters (`LIVE_*`, `OCCUPIED`, `RESERVED`) agree with the
//    columns. `check` verifies 1-6.

/** Checks that `m` (of `len` numbers) is a store buffer; returns its capacity. */
function capacityOf (m, len) {
  if (len < HEADER_LEN) throw badBuffer(`length ${len} is shorter than the header`)
  if (m[H_MAGIC] !== MAGIC) throw badBuffer('wrong magic number')
  const c = m[H_CAPACITY]
  if (!(c >= MIN_CAPACITY && c <= MAX_CAPACITY) || c % 1 !== 0) {
    throw badBuffer(`capacity ${rustDisplay(c)} out of range`)
  }
  if ((c & (c - 1)) !== 0 || len !== bufferLen(c)) {
    throw badBuffer(`capacity ${c} does not match length ${len}`)
  }
  return c
}

/** Lays out an empty table (table.rs `init`). */
function layOut (m, len, capacity, next) {
  if ((capacity & (capacity - 1)) !== 0 || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY) {
    throw badBuffer(`capacity ${capacity} is not a power of two in range`)
  }
  if (len !== bufferLen(capacity)) throw badBuffer(`length ${len} does not fit capacity ${capacity}`)
  m.fill(0)
  m[H_MAGIC] = MAGIC
  m[H_CAPACITY] = capacity
  m[H_NEXT] = next & MAX_HANDLE
  const col = (k) => HEADER_LEN + k * capacity
  m.fill(FREE, col(C_HANDLE), col(C_HANDLE) + capacity)
  m.fill(NONE, col(C_ROOT), col(C_ROOT) + capacity)
  m.fill(NONE, col(C_PARENT), col(C_PARENT) + capacity)
  m.fill(NONE, col(C_NEXT), col(C_NEXT) + capacity)
  m.fill(NaN, col(C_END), col(C_END) + capacity)
  m.fill(NONE, col(C_TAIL), col(C_TAIL) + capacity)
}

/** True while `h` is the handle of a segment whose transaction has not ended. */
function isActive (m, cap, h) {
  if (!isHandleValue(h)) return false
  const s = h & (cap - 1)
  return m[HEADER_LEN + C_HANDLE * cap + s] === h && m[HEADER_LEN + C_ROOT * cap + s] >= 0
}

/**
 * Takes one new handle from the sweep counter and marks its slot reserved.
 * -1 when the load bound would be passed.
 */
function alloc (m, cap) {
  // `header(H_OCCUPIED) as usize >= max_occupied(cap)`: saturating, NaN is 0
  // (a whole number of any size compares exactly).
  if (asU64f(m[H_OCCUPIED]) >= maxOccupied(cap)) return -1
  const mask = cap - 1
  const hb = HEADER_LEN + C_HANDLE * cap
  let h = asU32(m[H_NEXT]) & MAX_HANDLE
  // Invariant 5 guarantees a free slot among any C consecutive values.
  for (let i = 0; i < cap; i++) {
    if (m[hb + (h & mask)] === FREE) break
    h = (h + 1) & MAX_HANDLE
  }
  const s = h & mask
  if (m[hb + s] !== FREE) return -1
  m[H_NEXT] = (h + 1) & MAX_HANDLE
  m[hb + s] = h
  m[HEADER_LEN + C_ROOT * cap + s] = RESERVED
  m[H_OCCUPIED] = m[H_OCCUPIED] + 1
  return h
}

// Scratch space of `walk` and `assemble`, grown as needed and reused, so a
// finish allocates no per-segment objects.
let room = 0
let wSlots = new Int32Array(0) // slots in creation order
let wParents = new Int32Array(0) // list index of the parent, -1 for the root
let aStart = new Float64Array(0)
let aEnd = new Float64Array(0)
let aExcl = new Float64Array(0)
let aFirst = new Int32Array(0) // first direct child, -1 for none
let aSibling = new Int32Array(0) // next sibling, -1 for none
let aOrder = new Int32Array(0) // output order: creation index per row
let aRowOf = new Int32Array(0) // row per creation index
let spanA = new Float64Array(0)
let spanB = new Float64Array(0)
let spanOrder = new Int32Array(0)

function makeRoom (n) {
  if (n <= room) return
  room = Math.max(n, 2 * room, 64)
  wSlots = new Int32Array(room)
  wParents = new Int32Array(room)
  aStart = new Float64Array(room)
  aEnd = new Float64Array(room)
  aExcl = new Float64Array(room)
  aFirst = new Int32Array(room)
  aSibling = new Int32Array(room)
  aOrder = new Int32Array(room)
  aRowOf = new Int32Array(room)
  spanA = new Float64Array(room)
  spanB = new Float64Array(room)
  spanOrder = new Int32Array(room)
}

// The parent index of `walk`: per slot, the walk that last listed it and at
// which list index (table.rs keeps a list or a map of handles; a slot holds
// one handle, so the slot finds it in O(1) and allocates nothing).
let stampRoom = 0
let stamps = new Uint32Array(0)
let stampIndex = new Int32Array(0)
let stamp = 0

function nextStamp (cap) {
  if (cap > stampRoom) {
    stampRoom = cap
    stamps = new Uint32Array(cap)
    stampIndex = new Int32Array(cap)
  }
  if (stamp === 0xffffffff) {
    stamps.fill(0)
    stamp = 0
  }
  return ++stamp
}

/**
 * Follows the list of live root `root` (table.rs `walk`): fills `wSlots` and
 * `wParents` in creation order and returns their count, or returns a string
 * saying which of invariants 3 and 4 is broken.
 */
function walk (m, cap, root) {
  const mask = cap - 1
  const hb = HEADER_LEN + C_HANDLE * cap
  const rb = HEADER_LEN + C_ROOT * cap
  const pb = HEADER_LEN + C_PARENT * cap
  const nb = HEADER_LEN + C_NEXT * cap
  const rs = root & mask
  const count = m[HEADER_LEN + C_COUNT * cap + rs]
  if (!(count >= 1 && count <= cap) || count % 1 !== 0) {
    return `transaction ${rustDisplay(root)} counts ${rustDisplay(count)}`
  }
  const n = count
  makeRoom(n)
  const st = nextStamp(cap)
  let k = 0
  let cur = root
  while (cur !== NONE) {
    if (k >= n || !isHandleValue(cur)) {
      return `transaction ${rustDisplay(root)} lists more than its ${n} segments`
    }
    const s = cur & mask
    if (m[hb + s] !== cur || m[rb + s] !== root) {
      return `segment ${rustDisplay(cur)} is not in transaction ${rustDisplay(root)}`
    }
    const parent = m[pb + s]
    let parentIndex = -1
    if (k === 0) {
      if (parent !== NONE) return `root ${rustDisplay(root)} has parent ${rustDisplay(parent)}`
    } else {
      // Invariant 4: the parent was created, so listed, before.
      const ps = parent & mask
      if (!isHandleValue(parent) || stamps[ps] !== st || m[hb + ps] !== parent) {
        return `parent ${rustDisplay(parent)} of ${rustDisplay(cur)} precedes it nowhere`
      }
      parentIndex = stampIndex[ps]
    }
    stamps[s] = st
    stampIndex[s] = k
    wSlots[k] = s
    wParents[k] = parentIndex
    k++
    cur = m[nb + s]
  }
  if (k !== n) return `transaction ${rustDisplay(root)} lists ${k} segments, counts ${rustDisplay(count)}`
  const tail = m[HEADER_LEN + C_TAIL * cap + rs]
  const last = m[hb + wSlots[n - 1]]
  if (tail !== last) {
    return `transaction ${rustDisplay(root)} ends at ${rustDisplay(last)}, tail says ${rustDisplay(tail)}`
  }
  return n
}

// What `takeTransaction` took, beside wSlots/wParents.
let takenCount = 0
let takenDropped = 0

/**
 * Removes the transaction that `h` belongs to (table.rs `take_transaction`):
 * false when `h` is not active; otherwise its segments are in wSlots and
 * wParents (`takenCount` of them) and their records are freed.
 */
function takeTransaction (m, cap, h) {
  if (!isActive(m, cap, h)) return false
  const root = m[HEADER_LEN + C_ROOT * cap + (h & (cap - 1))]
  if (!isActive(m, cap, root)) throw corrupt(`root ${rustDisplay(root)} of ${rustDisplay(h)} is not live`)
  const dropped = asU64f(m[HEADER_LEN + C_DROPPED * cap + (root & (cap - 1))])
  const n = walk(m, cap, root)
  if (typeof n === 'string') throw corrupt(n)
  const hb = HEADER_LEN + C_HANDLE * cap
  const rb = HEADER_LEN + C_ROOT * cap
  for (let k = 0; k < n; k++) {
    const s = wSlots[k]
    m[hb + s] = FREE
    m[rb + s] = NONE
  }
  m[H_LIVE_TXN] = m[H_LIVE_TXN] + -1
  m[H_LIVE_SEG] = m[H_LIVE_SEG] + -n
  m[H_OCCUPIED] = m[H_OCCUPIED] + -n
  takenCount = n
  takenDropped = dropped
  return true
}

// ---------------------------------------------------------------------------
// The trace (trace.rs `assemble`).

/** Rust's `f64::max` / `f64::min`: a NaN operand gives the other one. */
const fmax = (a, b) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : a > b ? a : b)
const fmin = (a, b) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : a < b ? a : b)

/** Length of the union of spans `spanA/spanB[0..c]` (trace.rs `covered`). */
function covered (c) {
  if (c === 0) return 0
  // Sort by start. No start is NaN (a span needs b > a), and which of -0 and
  // 0 goes first does not change the union, so `<` is total_cmp here.
  for (let i = 0; i < c; i++) spanOrder[i] = i
  if (c > 1) {
    let sorted = true
    for (let i = 1; i < c; i++) {
      if (spanA[i] < spanA[i - 1]) {
        sorted = false
        break
      }
    }
    if (!sorted) {
      if (c <= 32) {
        for (let i = 1; i < c; i++) {
          const x = spanOrder[i]
          let j = i - 1
          while (j >= 0 && spanA[spanOrder[j]] > spanA[x]) {
            spanOrder[j + 1] = spanOrder[j]
            j--
          }
          spanOrder[j + 1] = x
        }
      } else {
        spanOrder.subarray(0, c).sort((x, y) => spanA[x] - spanA[y] || x - y)
      }
    }
  }
  let total = 0
  let a = spanA[spanOrder[0]]
  let b = spanB[spanOrder[0]]
  for (let i = 1; i < c; i++) {
    const x = spanA[spanOrder[i]]
    const y = spanB[spanOrder[i]]
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

// For the row order's comparator.
let sortM = null
let sortStartAt = 0

/** Row order: by start (after `+ 0.0`, in total_cmp order), then creation order. */
function byStart (x, y) {
  const a = aStart[x] + 0
  const b = aStart[y] + 0
  if (a < b) return -1
  if (a > b) return 1
  if (a === b) return x - y
  const c = totalCmpAt(sortM, sortStartAt + wSlots[x], aStart[x], sortStartAt + wSlots[y], aStart[y], true)
  return c !== 0 ? c : x - y
}

/**
 * Closes and orders the `n` segments just taken (wSlots/wParents, root
 * first) for a transaction ending at `end`. Fills aEnd (closed ends), aExcl,
 * aOrder (creation index per row) and aRowOf. Returns nothing; the
 * truncation of segment i is `i !== 0 && its end was NaN`.
 */
function assemble (m, cap, n, end) {
  const sb = HEADER_LEN + C_START * cap
  const eb = HEADER_LEN + C_END * cap
  for (let i = 0; i < n; i++) {
    const s = wSlots[i]
    const start = m[sb + s]
    const own = m[eb + s]
    const e = Number.isNaN(own) ? end : own
    aStart[i] = start
    aEnd[i] = e < start ? start : e
    aFirst[i] = -1
    aSibling[i] = -1
  }
  // Direct children's intervals, grouped by parent.
  for (let i = n - 1; i >= 1; i--) {
    const p = wParents[i]
    if (p >= 0) {
      aSibling[i] = aFirst[p]
      aFirst[p] = i
    }
  }
  for (let i = 0; i < n; i++) {
    const lo = aStart[i]
    const hi = aEnd[i]
    let spans = 0
    for (let c = aFirst[i]; c !== -1; c = aSibling[c]) {
      const a = fmax(aStart[c], lo)
      const b = fmin(aEnd[c], hi)
      if (b > a) {
        spanA[spans] = a
        spanB[spans] = b
        spans++
      }
    }
    let x = (hi - lo) - covered(spans)
    if (x < 0) x = 0
    aExcl[i] = x
  }
  // Output order: root, then by start, then creation order.
  aOrder[0] = 0
  for (let i = 1; i < n; i++) aOrder[i] = i
  let sorted = true
  for (let i = 2; i < n; i++) {
    const a = aStart[i - 1] + 0
    const b = aStart[i] + 0
    if (!(a <= b)) { // NaN too
      sorted = false
      break
    }
  }
  if (!sorted) {
    sortM = m
    sortStartAt = sb
    if (n <= 33) {
      for (let i = 2; i < n; i++) {
        const x = aOrder[i]
        let j = i - 1
        while (j >= 1 && byStart(aOrder[j], x) > 0) {
          aOrder[j + 1] = aOrder[j]
          j--
        }
        aOrder[j + 1] = x
      }
    } else {
      aOrder.subarray(1, n).sort(byStart)
    }
    sortM = null
  }
  for (let k = 0; k < n; k++) aRowOf[aOrder[k]] = k
}

// ---------------------------------------------------------------------------
// Early ids (trace.rs `EarlyIds`).

const HEX_DIGITS = /^[0-9a-fA-F]*$/
const ZERO_DIGITS = /^0*$/

// Early ids, parsed: the trace id (undefined: draw one) and span ids by
// creation index (undefined: draw one).
let earlyTrace
let earlySpans = []

/** Reads an early-ids string (trace.rs `EarlyIds::parse`) into earlyTrace/earlySpans. */
function parseEarlyIds (ids, count) {
  // Rust reads the UTF-8 bytes; a non-ASCII character is never a hex digit.
  let s = ids
  let bytes = s.length
  let ascii = true
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false
      break
    }
  }
  if (!ascii) {
    const b = Buffer.from(s, 'utf8')
    bytes = b.length
    s = b.toString('latin1') // one char per byte; bytes >= 0x80 stay non-hex
  }
  const want = 32 + 16 * count
  if (bytes !== want) {
    throw napiError('InvalidArg', `early ids: ${bytes} hex digits for ${count} segments, expected ${want}`)
  }
  const trace = s.slice(0, 32)
  if (!HEX_DIGITS.test(trace)) throw napiError('InvalidArg', 'early ids: bad trace id')
  if (!HEX_DIGITS.test(s.slice(32))) throw napiError('InvalidArg', 'early ids: bad span id')
  earlyTrace = ZERO_DIGITS.test(trace) ? undefined : trace.toLowerCase()
  if (earlySpans.length < count) earlySpans = new Array(count)
  for (let i = 0; i < count; i++) {
    const id = s.slice(32 + 16 * i, 48 + 16 * i)
    earlySpans[i] = ZERO_DIGITS.test(id) ? undefined : id.toLowerCase()
  }
}

// ---------------------------------------------------------------------------
// The binding's functions (binding.rs).

/**
 * The layout constants (src/core/layout.rs `describe`), which the JS side
 * reads instead of repeating them.
 * @returns {Record<string, number>}
 */
function layout () {
  const o = {}
  for (const [k, v] of DESCRIBE) o[k] = v
  return o
}

/**
 * Lays out an empty store of `capacity` slots in `m`, with the handle
 * counter at a random point.
 * @param {Float64Array} m
 * @param {number} capacity a power of two from MIN_CAPACITY to MAX_CAPACITY
 */
function initStore (m, capacity) {
  const len = f64Array(m)
  capacity = u32Arg(capacity)
  layOut(m, len, capacity, randomCounter())
}

/**
 * Fills the reserve stack up to `want` handles (at most RESERVE_MAX);
 * returns how many it holds. Fewer than asked means the store must grow.
 * @param {Float64Array} m
 * @param {number} want
 * @returns {number}
 */
function reserve (m, want) {
  const len = f64Array(m)
  want = u32Arg(want)
  const cap = capacityOf(m, len)
  if (want > RESERVE_MAX) want = RESERVE_MAX
  // `header(H_RESERVED) as usize`: saturating, NaN is 0.
  const held = m[H_RESERVED]
  let n = asU64f(held)
  if (n >= want) {
    m[H_RESERVED] = n // usize::MAX as f64 is 2^64, as asU64f gives
    return asUsizeU32(held)
  }
  while (n < want) {
    const h = alloc(m, cap)
    if (h < 0) break
    m[H_RESERVE + n] = h
    n++
  }
  m[H_RESERVED] = n
  return n
}

/**
 * The checks `grow` and `shrink` share (binding.rs, before `Table::new`):
 * disjoint buffers, a new length that fits a capacity, a valid old store.
 * Returns both lengths and capacities.
 */
function resizeArgs (old, m2) {
  const oldLen = f64Array(old)
  const len = f64Array(m2)
  if (!disjoint(old, oldLen, m2, len)) throw overlapError('the new buffer')
  const capacity = Math.floor(Math.max(len - HEADER_LEN, 0) / COLUMNS)
  if (bufferLen(capacity) !== len) throw napiError('InvalidArg', `a buffer of length ${len} fits no capacity`)
  return { oldLen, len, capacity, cap: capacityOf(old, oldLen) }
}

/**
 * Lays out `m2` at `capacity` and moves every occupied slot of `old` (at
 * `cap`) there, to its handle's slot, with the header (table.rs `grow_into`
 * and `shrink_into`). Word by word, so that every bit (NaN payloads too)
 * moves as in Rust.
 */
function moveSlots (old, oldLen, cap, m2, len, capacity) {
  layOut(m2, len, capacity, asU32(old[H_NEXT]))
  m2.set(old.subarray(0, HEADER_LEN))
  m2[H_CAPACITY] = capacity
  const newMask = capacity - 1
  const hb = HEADER_LEN + C_HANDLE * cap
  const from = new Uint32Array(old.buffer, old.byteOffset, 2 * oldLen)
  const to = new Uint32Array(m2.buffer, m2.byteOffset, 2 * len)
  for (let s = 0; s < cap; s++) {
    const h = old[hb + s]
    if (h === FREE) continue
    const t = isHandleValue(h) ? h & newMask : asUsizeMasked(h, newMask)
    for (let c = 0; c < COLUMNS; c++) {
      const i = 2 * (HEADER_LEN + c * cap + s)
      const o = 2 * (HEADER_LEN + c * capacity + t)
      to[o] = from[i]
      to[o + 1] = from[i + 1]
    }
  }
}

/**
 * Copies the store in `old` into `m2`, a buffer of larger (or equal)
 * capacity that it lays out; the counters and the reserve stack come along.
 * @param {Float64Array} old
 * @param {Float64Array} m2
 */
function grow (old, m2) {
  const { oldLen, len, capacity, cap } = resizeArgs(old, m2)
  if (capacity < cap) throw badBuffer('cannot shrink a store')
  moveSlots(old, oldLen, cap, m2, len, capacity)
}

/**
 * Copies the store in `old` into `next`, a buffer of smaller (or equal)
 * capacity that it lays out, if every occupied slot fits there in a slot of
 * its own with at most seven eighths of `next` occupied (the load bound;
 * table.rs `shrink_into`).
 * Returns whether it did; when false, `next` is untouched.
 * @param {Float64Array} old
 * @param {Float64Array} next
 * @returns {boolean}
 */
function shrink (old, next) {
  const { oldLen, len, capacity, cap } = resizeArgs(old, next)
  if (capacity > cap) throw badBuffer('cannot shrink to a larger store')
  if ((capacity & (capacity - 1)) !== 0 || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY) {
    throw badBuffer(`capacity ${capacity} is not a power of two in range`)
  }
  const mask = capacity - 1
  const hb = HEADER_LEN + C_HANDLE * cap
  const taken = new Uint8Array(capacity)
  let occupied = 0
  for (let s = 0; s < cap; s++) {
    const h = old[hb + s]
    if (h === FREE) continue
    if (!isHandleValue(h)) throw corrupt(`slot ${s} holds handle ${rustDisplay(h)}`)
    const t = h & mask
    occupied++
    if (taken[t] === 1 || occupied > maxOccupied(capacity)) return false
    taken[t] = 1
  }
  moveSlots(old, oldLen, cap, next, len, capacity)
  return true
}

/**
 * Ends the transaction that `handle` belongs to at `end` and frees its
 * records. Writes into `out` the header and the rows (OUT_*, ROW_*),
 * segments in trace order. Returns the ids as one hex string (the trace
 * id's 32 digits, then 16 per row), or null when `handle` is not active.
 * @param {Float64Array} m
 * @param {number} handle
 * @param {number} end
 * @param {Float64Array} out
 * @returns {string|null}
 */
function finish (m, handle, end, out) {
  const len = f64Array(m)
  numberArg(handle, 'f64')
  numberArg(end, 'f64')
  const outLen = f64Array(out)
  if (!disjoint(m, len, out, outLen)) throw overlapError('the output array')
  const cap = capacityOf(m, len)
  if (!takeTransaction(m, cap, handle)) return null
  const n = takenCount
  assemble(m, cap, n, end)
  const need = OUT_HEADER + OUT_ROW * n
  if (outLen < need) throw napiError('InvalidArg', `output array holds ${outLen}, needs ${need}`)
  const t0 = aStart[0]
  const eb = HEADER_LEN + C_END * cap
  out[OUT_COUNT] = n
  out[OUT_DROPPED] = takenDropped
  out[OUT_START] = t0
  out[OUT_DURATION] = micros(aEnd[0] - t0)
  for (let k = 0; k < n; k++) {
    const i = aOrder[k]
    const o = OUT_HEADER + OUT_ROW * k
    const p = wParents[i]
    out[o + ROW_SLOT] = wSlots[i]
    out[o + ROW_PARENT] = p < 0 ? -1 : aRowOf[p]
    out[o + ROW_START] = micros(aStart[i] - t0)
    out[o + ROW_DURATION] = micros(aEnd[i] - aStart[i])
    out[o + ROW_EXCLUSIVE] = micros(aExcl[i])
    out[o + ROW_TRUNCATED] = i !== 0 && Number.isNaN(m[eb + wSlots[i]]) ? 1 : 0
  }
  return randomIds(n)
}

// The ids of the rows being written, reused.
let rowIds = []

// Characters json.rs escapes (as JSON.stringify does), and surrogates: a
// piece cut from `setStrings`' text may split a pair, leaving a lone one to
// escape.
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

/**
 * The tail of `finishJsonStrings` once the names and attributes are checked
 * (into sName and sAttributes): reads `ids` (for `count` segments), takes
 * the transaction of `handle`, assembles it and writes its JSON (json.rs
 * `write_trace_json`), with segment i's name (a JSON string) and attributes
 * (JSON members) from sName[i] and sAttributes[i], i in creation order.
 * Null when `handle` is not active.
 */
function finishTrace (m, cap, handle, end, timeOrigin, ids, count) {
  if (ids !== undefined) parseEarlyIds(ids, count)
  if (!takeTransaction(m, cap, handle)) return null
  const n = takenCount
  assemble(m, cap, n, end)
  const hex = randomIds(n)
  let traceId = hex.slice(0, 32)
  if (rowIds.length < n) rowIds = new Array(n)
  for (let k = 0; k < n; k++) rowIds[k] = hex.slice(32 + 16 * k, 48 + 16 * k)
  if (ids !== undefined) {
    if (earlyTrace !== undefined) traceId = earlyTrace
    for (let k = 0; k < n; k++) {
      const early = earlySpans[aOrder[k]]
      if (early !== undefined) rowIds[k] = early
    }
  }
  const t0 = aStart[0]
  const eb = HEADER_LEN + C_END * cap
  let json = '{"traceId":"' + traceId + '","name":' + sName[0] +
    ',"startTime":' + jsonNum(timeOrigin + t0) +
    ',"duration":' + jsonNum(micros(aEnd[0] - t0)) +
    ',"segmentCount":' + n +
    ',"droppedSegments":' + jsonNum(takenDropped) +
    ',"segments":['
  for (let k = 0; k < n; k++) {
    const i = aOrder[k]
    const p = wParents[i]
    const own = m[eb + wSlots[i]]
    json += (k > 0 ? ',{"id":"' : '{"id":"') + rowIds[k] +
      (p < 0 ? '","parentId":null,"name":' : '","parentId":"' + rowIds[aRowOf[p]] + '","name":') +
      sName[i] +
      ',"start":' + jsonNum(micros(aStart[i] - t0)) +
      ',"duration":' + jsonNum(micros(aEnd[i] - aStart[i])) +
      ',"exclusive":' + jsonNum(micros(aExcl[i])) +
      ',"attributes":{' + sAttributes[i] +
      (i !== 0 && Number.isNaN(own) ? '},"truncated":true}' : '},"truncated":false}')
  }
  for (let k = 0; k < n; k++) rowIds[k] = undefined
  return json + ']}'
}

// ---------------------------------------------------------------------------
// The string table (strings.rs `Strings`) and `finishJsonStrings`.

// Kinds of attribute values: the low two bits of an arena entry's key word.
const KIND_STRING = 0
const KIND_NUMBER = 1
const KIND_BOOLEAN = 2

/** A string as json.rs `push_str` writes it: a JSON string literal, quotes included. */
const jsonString = (s) => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"')

/**
 * The store's strings by id, each held as its JSON literal (strings.rs
 * `Strings`). Opaque: the binding's functions alone read and change it.
 */
class StringTable {
  /** By id (a Map: ids may be sparse, up to MAX_STRINGS). */
  #json = new Map()

  /** The JSON literals of `v`, a table; else throws as the binding does. */
  static literals (v) {
    if (typeof v !== 'object' || v === null || !(#json in v)) {
      throw napiError('InvalidArg', 'not a string table')
    }
    return v.#json
  }
}

/** True when `v` is a whole number in `0..bound` (strings.rs `whole_below`). */
const wholeBelow = (v, bound) => v >= 0 && v < bound && v % 1 === 0

/** Largest length `setStrings` takes (strings.rs: whole below 2^53). */
const MAX_LENGTH = 9007199254740992

/**
 * A new, empty string table: an opaque value that only `setStrings` and
 * `finishJsonStrings` read.
 * @returns {object}
 */
function stringTable () {
  return new StringTable()
}

/**
 * Applies `edits`, pairs `(id, length)`, to `table` in order: a length
 * `>= 0` sets `id` to the next `length` UTF-16 units of `text` (pieces
 * follow one another from its start), -1 removes `id`. Every pair is
 * checked before any is applied, so a bad call leaves the table as it was.
 * @param {object} table
 * @param {Float64Array} edits
 * @param {string} text
 */
function setStrings (table, edits, text) {
  const json = StringTable.literals(table)
  const len = f64Array(edits)
  utf16Arg(text)
  if (len % 2 !== 0) throw editError(`${len} numbers, not pairs`)
  let pos = 0
  for (let k = 0; k < len; k += 2) {
    const id = edits[k]
    const n = edits[k + 1]
    if (!wholeBelow(id, MAX_STRINGS)) throw editError(`id ${rustDisplay(id)}`)
    if (n === -1) continue
    if (!wholeBelow(n, MAX_LENGTH)) throw editError(`length ${rustDisplay(n)}`)
    if (n > text.length - pos) throw editError('text ends early')
    pos += n
  }
  pos = 0
  for (let k = 0; k < len; k += 2) {
    const id = edits[k] + 0 // -0 is id 0
    const n = edits[k + 1]
    if (n === -1) {
      json.delete(id)
    } else {
      json.set(id, jsonString(text.slice(pos, pos + n)))
      pos += n
    }
  }
}

// Per segment of the transaction being written, in creation order: its name
// and its attributes (JSON members), as `finishJsonStrings` read them.
let sName = []
let sAttributes = []
// And where its attribute list starts and ends, and its length, for
// `freeRead`.
let sHead = new Int32Array(0)
let sLast = new Int32Array(0)
let sCount = new Int32Array(0)

/** Most entries one attribute list may have (strings.rs `MAX_LIST`). */
const MAX_LIST = 65536

/**
 * The literal of string `id` in `json`, or throws: "`who` names string
 * `id`, not in the table" (strings.rs `Arena::string`).
 */
function literalOf (json, id, who) {
  const lit = wholeBelow(id, MAX_STRINGS) ? json.get(id + 0) : undefined
  if (lit === undefined) throw arraysError(`${who} names string ${rustDisplay(id)}, not in the table`)
  return lit
}

/**
 * Checks the names and attributes of the `n` segments just walked (wSlots,
 * creation order) in the store's arrays against the table, and records
 * them in sName and sAttributes (strings.rs `read_arena_into`).
 */
function readArena (cap, n, side, arena, values, a, json) {
  if (sName.length < n) {
    sName = new Array(n)
    sAttributes = new Array(n)
    sHead = new Int32Array(n)
    sLast = new Int32Array(n)
    sCount = new Int32Array(n)
  }
  for (let i = 0; i < n; i++) {
    const s = wSlots[i]
    sName[i] = literalOf(json, side[s], `slot ${s}`)
    let out = ''
    let e = side[cap + s]
    let last = 0
    let k = 0
    sHead[i] = e
    for (; e !== 0; k++) {
      if (e < 1 || e >= a) throw arraysError(`slot ${s} lists entry ${e}`)
      if (k === MAX_LIST) throw arraysError(`the attribute list of slot ${s} does not end`)
      const word = arena[e]
      const kind = word & 3
      if (kind > KIND_BOOLEAN) throw arraysError(`entry ${e} has kind ${kind}`)
      const key = literalOf(json, word >> 2, `entry ${e}`)
      const v = values[e]
      const value = kind === KIND_STRING
        ? literalOf(json, v, `entry ${e}`)
        : kind === KIND_NUMBER ? jsonNum(v) : v !== 0 ? 'true' : 'false'
      out += (k > 0 ? ',' : '') + key + ':' + value
      last = e
      e = arena[a + e]
    }
    sAttributes[i] = out
    sLast[i] = last
    sCount[i] = k
  }
}

/**
 * Frees the names and attributes of the `n` segments `readArena` just
 * read, in the store's arrays (strings.rs `free_read`): each slot's name id
 * becomes -1 and its first entry 0, and its entries go, in list order, to
 * the front of the free list, whose first entry is `arena[a]` (entry 0's
 * next); `arena[0]` (entry 0's key word), the count in use, is lowered by
 * the entries freed.
 */
function freeRead (cap, n, side, arena, a) {
  let freed = 0
  for (let i = 0; i < n; i++) {
    const s = wSlots[i]
    side[s] = -1
    side[cap + s] = 0
    if (sCount[i] === 0) continue
    arena[a + sLast[i]] = arena[a]
    arena[a] = sHead[i]
    freed += sCount[i]
  }
  const live = arena[0] - Math.min(freed, 2147483647)
  arena[0] = live < -2147483648 ? -2147483648 : live
}

/**
 * Like `finish`, but returns the whole trace as JSON, with the names and
 * attributes read from the store's arrays and the string table
 * (docs/binding-contract.md): `side[s]` the name's string id of slot s,
 * `side[C + s]` its first attribute entry (0: none); per entry e (1..A,
 * A = values.length) `arena[e]` its key's string id << 2 | kind (0 string,
 * 1 number, 2 boolean), `arena[A + e]` the next entry (0: the end), and
 * `values[e]` its number, boolean or string id. `ids`, when given, holds
 * ids handed out before the end: the trace id's 32 hex digits, then 16 per
 * segment in creation order, all zeros where one is to be drawn.
 * @param {Float64Array} m
 * @param {number} handle
 * @param {number} end
 * @param {number} timeOrigin
 * @param {Int32Array} side
 * @param {Int32Array} arena
 * @param {Float64Array} values
 * @param {object} table
 * @param {string} [ids]
 * @param {boolean} [bytes] the JSON's UTF-8 in a Buffer instead of a string
 * @returns {string|Buffer|null}
 */
function finishJsonStrings (m, handle, end, timeOrigin, side, arena, values, table, ids, bytes) {
  const len = f64Array(m)
  numberArg(handle, 'f64')
  numberArg(end, 'f64')
  numberArg(timeOrigin, 'f64')
  const sideLen = i32Array(side)
  const arenaLen = i32Array(arena)
  const a = f64Array(values)
  const json = StringTable.literals(table)
  ids = optionalStringArg(ids)
  const asBytes = optionalBoolArg(bytes)
  if (!disjoint(m, len, side, sideLen, 8, 4)) throw overlapError('the side arrays')
  if (!disjoint(m, len, arena, arenaLen, 8, 4)) throw overlapError('the attribute arena')
  if (!disjoint(m, len, values, a)) throw overlapError('the attribute values')
  if (!disjoint(side, sideLen, arena, arenaLen, 4, 4)) throw overlapError('the side arrays', 'the attribute arena')
  if (!disjoint(side, sideLen, values, a, 4, 8)) throw overlapError('the side arrays', 'the attribute values')
  if (!disjoint(arena, arenaLen, values, a, 4, 8)) throw overlapError('the attribute arena', 'the attribute values')
  const cap = capacityOf(m, len)
  if (!isActive(m, cap, handle)) return null
  // Read the arrays before anything is freed, so a bad entry leaves the
  // transaction in place (table.rs `transaction_slots_into`, then
  // strings.rs `read_arena_into`). As in binding.rs, the walk comes before
  // the arrays' lengths are checked (docs/binding-contract.md lists the
  // lengths first; the two differ only for a corrupted transaction).
  const root = m[HEADER_LEN + C_ROOT * cap + (handle & (cap - 1))]
  if (!isActive(m, cap, root)) throw corrupt(`root ${rustDisplay(root)} of ${rustDisplay(handle)} is not live`)
  const n = walk(m, cap, root)
  if (typeof n === 'string') throw corrupt(n)
  if (sideLen !== 2 * cap) throw arraysError(`side arrays hold ${sideLen} numbers, need ${2 * cap}`)
  if (arenaLen !== 2 * a) throw arraysError(`arena holds ${arenaLen} numbers, needs ${2 * a}`)
  try {
    readArena(cap, n, side, arena, values, a, json)
    const out = finishTrace(m, cap, handle, end, timeOrigin, ids, n)
    if (out !== null) freeRead(cap, n, side, arena, a)
    return asBytes ? Buffer.from(out, 'utf8') : out
  } finally {
    for (let i = 0; i < n; i++) sName[i] = sAttributes[i] = undefined
  }
}

/**
 * Counts the live records by reading every slot (not the counters).
 * @param {Float64Array} m
 * @returns {{liveTransactions: number, liveSegments: number, reserved: number, capacity: number}}
 */
function scan (m) {
  const len = f64Array(m)
  const cap = capacityOf(m, len)
  return scanTable(m, cap)
}

function scanTable (m, cap) {
  const hb = HEADER_LEN + C_HANDLE * cap
  const rb = HEADER_LEN + C_ROOT * cap
  let liveTransactions = 0
  let liveSegments = 0
  let reserved = 0
  for (let s = 0; s < cap; s++) {
    const h = m[hb + s]
    if (h === FREE) continue
    const root = m[rb + s]
    if (root === RESERVED) {
      reserved++
    } else {
      liveSegments++
      if (root === h) liveTransactions++
    }
  }
  return { liveTransactions, liveSegments, reserved, capacity: cap }
}

/**
 * Writes the records that look leaked at `now` into `out` as rows of
 * LEAK_ROW numbers (LEAK_*), oldest first (ties: by handle), as many as
 * fit; returns how many. Leaked: transactions started more than
 * `transactionMs` ago and still live, and segments of live transactions
 * started more than `segmentMs` ago and still open.
 * @param {Float64Array} m
 * @param {number} now
 * @param {number} segmentMs
 * @param {number} transactionMs
 * @param {Float64Array} out
 * @returns {number}
 */
function leaks (m, now, segmentMs, transactionMs, out) {
  const len = f64Array(m)
  numberArg(now, 'f64')
  numberArg(segmentMs, 'f64')
  numberArg(transactionMs, 'f64')
  const outLen = f64Array(out)
  if (!disjoint(m, len, out, outLen)) throw overlapError('the output array')
  const cap = capacityOf(m, len)
  const limit = Math.floor(outLen / LEAK_ROW)
  const hb = HEADER_LEN + C_HANDLE * cap
  const rb = HEADER_LEN + C_ROOT * cap
  const sb = HEADER_LEN + C_START * cap
  const eb = HEADER_LEN + C_END * cap
  const found = [] // slots
  for (let s = 0; s < cap; s++) {
    const h = m[hb + s]
    const root = m[rb + s]
    if (h === FREE || root < 0) continue
    const start = m[sb + s]
    const age = now - start
    const end = m[eb + s]
    if (root === h ? age > transactionMs : age > segmentMs && Number.isNaN(end)) found.push(s)
  }
  found.sort((x, y) => {
    const a = m[sb + x]
    const b = m[sb + y]
    let c = a < b ? -1 : a > b ? 1 : 0
    if (c === 0 && !(a === b && a !== 0)) c = totalCmpAt(m, sb + x, a, sb + y, b, false)
    return c !== 0 ? c : asU32(m[hb + x]) - asU32(m[hb + y])
  })
  const k = Math.min(found.length, limit)
  for (let i = 0; i < k; i++) {
    const s = found[i]
    const o = LEAK_ROW * i
    out[o + LEAK_HANDLE] = asU32(m[hb + s])
    out[o + LEAK_ROOT] = asU32(m[rb + s])
    out[o + LEAK_START] = m[sb + s]
  }
  return k
}

/**
 * Lists every broken invariant of the store (empty when sound).
 * @param {Float64Array} m
 * @returns {string[]}
 */
function check (m) {
  const len = f64Array(m)
  const cap = capacityOf(m, len)
  const mask = cap - 1
  const hb = HEADER_LEN + C_HANDLE * cap
  const rb = HEADER_LEN + C_ROOT * cap
  const pb = HEADER_LEN + C_PARENT * cap
  const problems = []
  const counted = scanTable(m, cap)
  let listed = 0
  for (let s = 0; s < cap; s++) {
    const h = m[hb + s]
    if (h === FREE) continue
    // Invariant 1.
    if (!isHandleValue(h) || (h & mask) !== s) {
      problems.push(`slot ${s} holds handle ${rustDisplay(h)} of another slot`)
      continue
    }
    // Invariant 2.
    const root = m[rb + s]
    if (root === RESERVED) continue
    if (root < 0 || !isActive(m, cap, root) || m[rb + (root & mask)] !== root) {
      problems.push(`segment ${rustDisplay(h)} has no live root (${rustDisplay(root)})`)
      continue
    }
    const parent = m[pb + s]
    if (root === h) {
      if (parent !== NONE) problems.push(`root ${rustDisplay(h)} has parent ${rustDisplay(parent)}`)
      // Invariants 3 and 4, as take_transaction relies on them.
      const n = walk(m, cap, h)
      if (typeof n === 'string') problems.push(corruptMessage(n))
      else listed += n
    } else if (!isActive(m, cap, parent) || m[rb + (parent & mask)] !== root) {
      problems.push(`segment ${rustDisplay(h)} has parent ${rustDisplay(parent)} outside its transaction`)
    }
  }
  if (listed !== counted.liveSegments) {
    problems.push(`lists hold ${listed} segments, slots ${counted.liveSegments}`)
  }
  // Invariant 6.
  const header = [
    ['liveTransactions', H_LIVE_TXN, counted.liveTransactions],
    ['liveSegments', H_LIVE_SEG, counted.liveSegments],
    ['reserved', H_RESERVED, counted.reserved],
    ['occupied', H_OCCUPIED, counted.liveSegments + counted.reserved]
  ]
  for (const [name, field, n] of header) {
    if (m[field] !== n) problems.push(`header ${name} is ${rustDisplay(m[field])}, slots say ${n}`)
  }
  // Invariant 5.
  if (counted.liveSegments + counted.reserved > maxOccupied(cap)) problems.push('more than seven eighths of the slots are occupied')
  return problems
}

/**
 * Throws, standing for the native addon's test of a Rust panic that
 * surfaces as a JS exception.
 */
function _panicForTest () {
  throw napiError('GenericFailure', 'deliberate panic for the test suite')
}

module.exports = {
  layout,
  initStore,
  reserve,
  grow,
  finish,
  finishJsonStrings,
  stringTable,
  setStrings,
  shrink,
  scan,
  leaks,
  check,
  _panicForTest
}
