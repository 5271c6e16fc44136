'use strict'

// SegmentStore: transactions and segments behind 30-bit integer handles.
//
// The records live in one Float64Array laid out by the Rust core
// (src/core/layout.rs). The hot path below (start/end a segment, set an
// attribute, isActive and the other look-ups) reads and writes that array
// directly and never crosses into Rust. Rust is called for bulk work only:
// reserving 256 handles at a time, growing the table, finishing a
// transaction (ordering, exclusive times, ids, JSON), and scanning for stats.
// Names and attribute values stay in JS arrays beside the columns, indexed by
// slot, so no string crosses until a transaction is finished as JSON.

const { randomFillSync } = require('node:crypto')
const { performance } = require('node:perf_hooks')
const native = require('./loader')
const { describe } = require('./describe')

const L = native.layout()
const MAX_HANDLE = L.MAX_HANDLE
const FREE = L.FREE
const NONE = L.NONE
const HEADER_LEN = L.HEADER_LEN
const COLUMNS = L.COLUMNS
const RESERVE_MAX = L.RESERVE_MAX
const H_RESERVED = L.H_RESERVED
const H_RESERVE = L.H_RESERVE
const H_LIVE_TXN = L.H_LIVE_TXN
const H_LIVE_SEG = L.H_LIVE_SEG
const H_TOTAL_TXN = L.H_TOTAL_TXN
const H_TOTAL_SEG = L.H_TOTAL_SEG
const H_DROPPED = L.H_DROPPED
const OUT_HEADER = 4
const ZERO_SPAN_ID = '0'.repeat(16)
const ZERO_TRACE_ID = '0'.repeat(32)
const OUT_ROW = 6

const DEFAULTS = Object.freeze({
  maxSegmentsPerTransaction: 900,
  maxAttributesPerSegment: 64,
  maxAttributeValueLength: 255
})
const OPTION_LIMITS = {
  maxSegmentsPerTransaction: [1, L.MAX_CAPACITY / 2],
  maxAttributesPerSegment: [0, 65536],
  maxAttributeValueLength: [1, 1 << 20]
}

const timeOrigin = performance.timeOrigin

// The JS arrays that sit beside the columns, indexed by slot: names,
// attribute lists, and ids handed out early by spanIdOf/traceIdOf (the
// latter on root slots only). They move with their records when the table
// grows and are cleared when the transaction ends.
const SIDE = ['_names', '_attrs', '_spanIds', '_traceIds']

const idPool = Buffer.alloc(4096)
let idPoolAt = idPool.length

/** `bytes` random bytes as lowercase hex, never all zeros. */
function randomHex (bytes) {
  for (;;) {
    if (idPoolAt + bytes > idPool.length) {
      randomFillSync(idPool)
      idPoolAt = 0
    }
    const hex = idPool.toString('hex', idPoolAt, idPoolAt + bytes)
    idPoolAt += bytes
    for (let i = 0; i < hex.length; i++) if (hex.charCodeAt(i) !== 48) return hex
  }
}

/**
 * Cuts `s` to at most `max` UTF-8 bytes, at a character boundary. A lone
 * surrogate counts as the 3 bytes of its replacement character.
 */
function cutUtf8 (s, max) {
  if (s.length * 3 <= max) return s
  let bytes = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    let width = 3
    let units = 1
    if (c < 0x80) width = 1
    else if (c < 0x800) width = 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      width = 4
      units = 2
    }
    if (bytes + width > max) return detach(s.slice(0, i))
    bytes += width
    i += units - 1
  }
  return s
}

/**
 * A copy of a cut string that does not keep the string it was cut from
 * alive: V8's slice of a long string points into its parent, so a 255-byte
 * name cut from a 1 MB string would pin the megabyte until the transaction
 * ends. Slicing a fresh concatenation flattens it into a new, small string.
 */
function detach (s) {
  return (s + ' ').slice(0, -1)
}

function checkTime (v, where) {
  if (v === undefined) return performance.now()
  if (typeof v !== 'number') throw new TypeError(`${where} must be a number (ms on the performance.now() clock), got ${describe(v)}`)
  if (!(v >= 0 && v < Infinity)) throw new RangeError(`${where} must be a finite number >= 0, got ${v}`)
  return v + 0 // -0 becomes 0, so that it orders and prints as 0
}

function checkName (v, where) {
  if (typeof v !== 'string') throw new TypeError(`${where} must be a string, got ${describe(v)}`)
  return v
}

/** True for a number, false for null; TypeError for anything else. */
function checkHandle (v, where) {
  if (typeof v === 'number') return true
  if (v === null) return false
  throw new TypeError(`${where} must be a segment handle (a number) or null, got ${describe(v)}`)
}

function readOptions (options) {
  if (options === undefined) return DEFAULTS
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`SegmentStore: options must be an object, got ${describe(options)}`)
  }
  const out = { ...DEFAULTS }
  for (const key of Object.keys(options)) {
    const limits = Object.hasOwn(OPTION_LIMITS, key) ? OPTION_LIMITS[key] : undefined
    if (limits === undefined) {
      throw new TypeError(`SegmentStore: unknown option "${key}" (known: ${Object.keys(DEFAULTS).join(', ')})`)
    }
    const v = options[key]
    if (v === undefined) continue
    if (typeof v !== 'number') throw new TypeError(`SegmentStore: options.${key} must be a number, got ${describe(v)}`)
    if (!Number.isInteger(v) || v < limits[0] || v > limits[1]) {
      throw new RangeError(`SegmentStore: options.${key} must be an integer from ${limits[0]} to ${limits[1]}, got ${v}`)
    }
    out[key] = v
  }
  return out
}

/** Builds an attributes object from a flat [key, value, ...] list. */
function attributesObject (list) {
  const o = {}
  if (list === undefined) return o
  for (let i = 0; i < list.length; i += 2) {
    const k = list[i]
    if (k === '__proto__') {
      Object.defineProperty(o, k, { value: list[i + 1], writable: true, enumerable: true, configurable: true })
    } else {
      o[k] = list[i + 1]
    }
  }
  return o
}

class SegmentStore {
  /**
   * @param {{maxSegmentsPerTransaction?: number, maxAttributesPerSegment?: number, maxAttributeValueLength?: number}} [options]
   */
  constructor (options) {
    const o = readOptions(options)
    this._maxSegments = o.maxSegmentsPerTransaction
    this._maxAttributes = o.maxAttributesPerSegment
    this._maxValue = o.maxAttributeValueLength
    this._out = new Float64Array(OUT_HEADER + OUT_ROW * 64)
    this._meta = new Float64Array(256)
    this._slots = new Int32Array(64)
    const m = new Float64Array(HEADER_LEN + COLUMNS * L.MIN_CAPACITY)
    native.initStore(m, L.MIN_CAPACITY)
    this._adopt(m, SIDE.map(() => new Array(L.MIN_CAPACITY).fill(undefined)))
  }

  /** Points the column views at buffer `m`, and the side arrays at `side`. */
  _adopt (m, side) {
    const c = m[L.H_CAPACITY]
    const col = (k) => m.subarray(HEADER_LEN + k * c, HEADER_LEN + (k + 1) * c)
    this._m = m
    this._cap = c
    this._mask = c - 1
    this._handle = col(L.C_HANDLE)
    this._root = col(L.C_ROOT)
    this._parent = col(L.C_PARENT)
    this._next = col(L.C_NEXT)
    this._start = col(L.C_START)
    this._end = col(L.C_END)
    this._count = col(L.C_COUNT)
    this._dropped = col(L.C_DROPPED)
    this._tail = col(L.C_TAIL)
    for (let i = 0; i < SIDE.length; i++) this[SIDE[i]] = side[i]
  }

  /** Doubles the table; names and attributes move with their records. */
  _grow () {
    const cap = this._cap * 2
    if (cap > L.MAX_CAPACITY) {
      throw new RangeError(`SegmentStore: full: ${this._m[L.H_OCCUPIED]} segments are live, the most it can hold is ${L.MAX_CAPACITY / 2}`)
    }
    const m = new Float64Array(HEADER_LEN + COLUMNS * cap)
    native.grow(this._m, m)
    const side = SIDE.map(() => new Array(cap).fill(undefined))
    const mask = cap - 1
    for (let s = 0; s < this._cap; s++) {
      const h = this._handle[s]
      if (h !== FREE) {
        for (let i = 0; i < SIDE.length; i++) side[i][h & mask] = this[SIDE[i]][s]
      }
    }
    this._adopt(m, side)
  }

  /** Takes a reserved handle, refilling the reserve (one crossing per 256). */
  _pop () {
    let n = this._m[H_RESERVED]
    if (n === 0) {
      n = native.reserve(this._m, RESERVE_MAX)
      if (n < RESERVE_MAX && this._cap < L.MAX_CAPACITY) {
        this._grow()
        n = native.reserve(this._m, RESERVE_MAX)
      }
      if (n === 0) this._grow() // at the largest size: throws RangeError
    }
    n -= 1
    this._m[H_RESERVED] = n
    return this._m[H_RESERVE + n]
  }

  /**
   * Starts a transaction and returns the handle of its root segment.
   * @param {string} name
   * @param {number} [startTime] ms on the performance.now() clock
   * @returns {number}
   */
  startTransaction (name, startTime) {
    checkName(name, 'startTransaction: name')
    const t = checkTime(startTime, 'startTransaction: startTime')
    const h = this._pop()
    const s = h & this._mask
    this._root[s] = h
    this._parent[s] = NONE
    this._next[s] = NONE
    this._start[s] = t
    this._end[s] = NaN
    this._count[s] = 1
    this._dropped[s] = 0
    this._tail[s] = h
    this._names[s] = cutUtf8(name, this._maxValue)
    const m = this._m
    m[H_LIVE_TXN]++
    m[H_TOTAL_TXN]++
    m[H_LIVE_SEG]++
    m[H_TOTAL_SEG]++
    return h
  }

  /**
   * Starts a segment under `parent`. Returns its handle, or null when the
   * parent is not active or its transaction is at its segment limit (the
   * drop is counted).
   * @param {number|null} parent
   * @param {string} name
   * @param {number} [startTime]
   * @returns {number|null}
   */
  startSegment (parent, name, startTime) {
    const given = checkHandle(parent, 'startSegment: parent')
    checkName(name, 'startSegment: name')
    const t = checkTime(startTime, 'startSegment: startTime')
    if (!given || !this.isActive(parent)) return null
    const root = this._root[parent & this._mask]
    let rs = root & this._mask
    if (this._count[rs] >= this._maxSegments) {
      this._dropped[rs]++
      this._m[H_DROPPED]++
      return null
    }
    const h = this._pop() // may grow the table: read the mask after it
    const mask = this._mask
    rs = root & mask
    const s = h & mask
    this._root[s] = root
    this._parent[s] = parent
    this._next[s] = NONE
    this._start[s] = t
    this._end[s] = NaN
    this._next[this._tail[rs] & mask] = h
    this._tail[rs] = h
    this._count[rs]++
    this._names[s] = cutUtf8(name, this._maxValue)
    const m = this._m
    m[H_LIVE_SEG]++
    m[H_TOTAL_SEG]++
    return h
  }

  /**
   * Ends a segment. The first end counts; later ones, and ends of handles
   * that are not active, do nothing. An end before the start is taken as
   * the start.
   * @param {number|null} handle
   * @param {number} [endTime]
   */
  endSegment (handle, endTime) {
    const given = checkHandle(handle, 'endSegment: handle')
    const t = checkTime(endTime, 'endSegment: endTime')
    if (!given || !this.isActive(handle)) return
    const s = handle & this._mask
    if (this._end[s] !== this._end[s]) { // still NaN: open
      const start = this._start[s]
      this._end[s] = t < start ? start : t
    }
  }

  /**
   * Sets an attribute; setting a key again replaces its value. Keys and
   * string values are cut to maxAttributeValueLength UTF-8 bytes; past
   * maxAttributesPerSegment keys, new keys are ignored. Does nothing for a
   * handle that is not active.
   * @param {number|null} handle
   * @param {string} key
   * @param {string|number|boolean} value
   */
  setAttribute (handle, key, value) {
    const given = checkHandle(handle, 'setAttribute: handle')
    if (typeof key !== 'string') throw new TypeError(`setAttribute: key must be a string, got ${describe(key)}`)
    if (key.length === 0) throw new RangeError('setAttribute: key must not be empty')
    const type = typeof value
    if (type === 'string') {
      value = cutUtf8(value, this._maxValue)
    } else if (type === 'number') {
      if (!Number.isFinite(value)) throw new RangeError(`setAttribute: a number value must be finite, got ${value}`)
    } else if (type !== 'boolean') {
      throw new TypeError(`setAttribute: value must be a string, a finite number or a boolean, got ${describe(value)}`)
    }
    key = cutUtf8(key, this._maxValue)
    if (key.length === 0) throw new RangeError(`setAttribute: key is empty once cut to maxAttributeValueLength (${this._maxValue} bytes)`)
    if (!given || !this.isActive(handle)) return
    const s = handle & this._mask
    const list = this._attrs[s]
    if (list === undefined) {
      if (this._maxAttributes > 0) this._attrs[s] = [key, value]
      return
    }
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === key) {
        list[i + 1] = value
        return
      }
    }
    if (list.length < 2 * this._maxAttributes) list.push(key, value)
  }

  /**
   * True while the handle's transaction has not ended; false for anything
   * else (ended, freed, forged or foreign handles, any other value). Never
   * throws; O(1), no crossing into Rust.
   * @param {unknown} handle
   * @returns {boolean}
   */
  isActive (handle) {
    if (typeof handle !== 'number' || (handle & MAX_HANDLE) !== handle) return false
    const s = handle & this._mask
    return this._handle[s] === handle && this._root[s] >= 0
  }

  /**
   * The root handle of the handle's transaction, or null when not active.
   * @param {number|null} handle
   * @returns {number|null}
   */
  transactionOf (handle) {
    if (!checkHandle(handle, 'transactionOf: handle') || !this.isActive(handle)) return null
    return this._root[handle & this._mask]
  }

  /**
   * The parent's handle, or null for a root or a handle that is not active.
   * @param {number|null} handle
   * @returns {number|null}
   */
  parentOf (handle) {
    if (!checkHandle(handle, 'parentOf: handle') || !this.isActive(handle)) return null
    const p = this._parent[handle & this._mask]
    return p === NONE ? null : p
  }

  /**
   * The segment's name (as stored: cut to maxAttributeValueLength bytes), or
   * null when not active.
   * @param {number|null} handle
   * @returns {string|null}
   */
  nameOf (handle) {
    if (!checkHandle(handle, 'nameOf: handle') || !this.isActive(handle)) return null
    return this._names[handle & this._mask]
  }

  /**
   * The id this segment will have in its finished trace (16 lowercase hex
   * digits), or null when not active. Ids are drawn when first asked for,
   * so segments nobody asks about cost nothing here.
   * @param {number|null} handle
   * @returns {string|null}
   */
  spanIdOf (handle) {
    if (!checkHandle(handle, 'spanIdOf: handle') || !this.isActive(handle)) return null
    const s = handle & this._mask
    return this._spanIds[s] ?? (this._spanIds[s] = randomHex(8))
  }

  /**
   * The trace id the handle's transaction will finish with (32 lowercase
   * hex digits), or null when not active.
   * @param {number|null} handle
   * @returns {string|null}
   */
  traceIdOf (handle) {
    if (!checkHandle(handle, 'traceIdOf: handle') || !this.isActive(handle)) return null
    const rs = this._root[handle & this._mask] & this._mask
    return this._traceIds[rs] ?? (this._traceIds[rs] = randomHex(16))
  }

  /** Clears the side arrays of slot `s`. */
  _clearSide (s) {
    this._names[s] = undefined
    this._attrs[s] = undefined
    this._spanIds[s] = undefined
    this._traceIds[s] = undefined
  }

  /** The segment count of root slot `rs`, refusing one no table can hold. */
  _countOf (rs) {
    const n = this._count[rs]
    if (!(n >= 1 && n <= this._cap && Number.isInteger(n))) {
      throw new Error(`segment store is inconsistent: transaction ${this._handle[rs]} counts ${n} segments`)
    }
    return n
  }

  /** Validates an end call and returns the end time, or -1 when not active. */
  _endArgs (handle, endTime, where) {
    const given = checkHandle(handle, `${where}: handle`)
    const t = checkTime(endTime, `${where}: endTime`)
    return given && this.isActive(handle) ? t : -1
  }

  /**
   * Ends the transaction that `handle` belongs to (its root or any of its
   * segments), frees every record of it and returns the finished trace, or
   * null when the handle is not active.
   * @param {number|null} handle
   * @param {number} [endTime]
   */
  endTransaction (handle, endTime) {
    const t = this._endArgs(handle, endTime, 'endTransaction')
    if (t < 0) return null
    const root = this._root[handle & this._mask]
    const rs = root & this._mask
    const n = this._countOf(rs)
    const traceId = this._traceIds[rs]
    if (this._out.length < OUT_HEADER + OUT_ROW * n) this._out = new Float64Array(OUT_HEADER + OUT_ROW * n * 2)
    const out = this._out
    const ids = native.finish(this._m, handle, t, out)
    // Ids handed out by spanIdOf win over the ones Rust drew. A parent can
    // sort after its child, so all ids are settled before any is used.
    const rowIds = new Array(n)
    for (let k = 0; k < n; k++) {
      const at = 32 + 16 * k
      rowIds[k] = this._spanIds[out[OUT_HEADER + OUT_ROW * k]] ?? ids.slice(at, at + 16)
    }
    const segments = new Array(n)
    for (let k = 0; k < n; k++) {
      const o = OUT_HEADER + OUT_ROW * k
      const s = out[o]
      const p = out[o + 1]
      segments[k] = {
        id: rowIds[k],
        parentId: p < 0 ? null : rowIds[p],
        name: this._names[s],
        start: out[o + 2],
        duration: out[o + 3],
        exclusive: out[o + 4],
        attributes: attributesObject(this._attrs[s]),
        truncated: out[o + 5] === 1
      }
      this._clearSide(s)
    }
    return {
      traceId: traceId ?? ids.slice(0, 32),
      name: segments[0].name,
      startTime: timeOrigin + out[2],
      duration: out[3],
      segmentCount: n,
      droppedSegments: out[1],
      segments
    }
  }

  /**
   * Same as endTransaction, but returns the trace as a JSON string built in
   * Rust (one crossing), or null when the handle is not active.
   * @param {number|null} handle
   * @param {number} [endTime]
   * @returns {string|null}
   */
  endTransactionJSON (handle, endTime) {
    const t = this._endArgs(handle, endTime, 'endTransactionJSON')
    if (t < 0) return null
    const mask = this._mask
    const root = this._root[handle & mask]
    const n = this._countOf(root & mask)
    if (this._slots.length < n) this._slots = new Int32Array(n * 2)
    const slots = this._slots
    const names = this._names
    const attrs = this._attrs
    let earlyIds = this._traceIds[root & mask] !== undefined
    let meta = this._meta
    let j = 0
    let text = ''
    let cur = root
    for (let k = 0; k < n; k++) {
      const s = cur & mask
      slots[k] = s
      if (this._spanIds[s] !== undefined) earlyIds = true
      const name = names[s]
      const list = attrs[s]
      const width = list === undefined ? 2 : 2 + 1.5 * list.length
      if (j + width > meta.length) {
        const bigger = new Float64Array((j + width) * 2)
        bigger.set(meta)
        meta = this._meta = bigger
      }
      text += name
      meta[j++] = name.length
      if (list === undefined) {
        meta[j++] = 0
      } else {
        meta[j++] = list.length / 2
        for (let i = 0; i < list.length; i += 2) {
          const key = list[i]
          const v = list[i + 1]
          text += key
          meta[j++] = key.length
          if (typeof v === 'string') {
            text += v
            meta[j++] = 0
            meta[j++] = v.length
          } else if (typeof v === 'number') {
            meta[j++] = 1
            meta[j++] = v
          } else {
            meta[j++] = 2
            meta[j++] = v ? 1 : 0
          }
        }
      }
      cur = this._next[s]
    }
    let ids
    if (earlyIds) {
      // The ids handed out early, in creation order; zeros for "draw one".
      ids = this._traceIds[root & mask] ?? ZERO_TRACE_ID
      for (let k = 0; k < n; k++) ids += this._spanIds[slots[k]] ?? ZERO_SPAN_ID
    }
    const json = native.finishJson(this._m, handle, t, timeOrigin, meta, text, ids)
    for (let k = 0; k < n; k++) this._clearSide(slots[k])
    return json
  }

  /**
   * Live and total counts. The live counts are read off every slot by Rust
   * (one crossing), not kept as counters, so a leak shows as it is.
   */
  stats () {
    const scan = native.scan(this._m)
    const m = this._m
    return {
      liveTransactions: scan.liveTransactions,
      liveSegments: scan.liveSegments,
      capacity: scan.capacity,
      totalTransactions: m[H_TOTAL_TXN],
      totalSegments: m[H_TOTAL_SEG],
      droppedSegments: m[H_DROPPED]
    }
  }

  /**
   * What looks leaked now: transactions started more than
   * `transactionOlderThanMs` ago and not ended, and segments (of live
   * transactions) started more than `segmentOlderThanMs` ago and not ended.
   * One scan in Rust; oldest first, at most `limit` records in all.
   * Answers "are segments clearing up?" without a heap snapshot.
   * @param {{segmentOlderThanMs?: number, transactionOlderThanMs?: number, now?: number, limit?: number}} [options]
   */
  leakReport (options) {
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw new TypeError(`leakReport: options must be an object, got ${describe(options)}`)
    }
    const o = options ?? {}
    const segmentMs = checkTime(o.segmentOlderThanMs ?? 60000, 'leakReport: options.segmentOlderThanMs')
    const transactionMs = checkTime(o.transactionOlderThanMs ?? 300000, 'leakReport: options.transactionOlderThanMs')
    const now = checkTime(o.now ?? undefined, 'leakReport: options.now') // null, like undefined: now
    const limit = o.limit ?? 100
    if (typeof limit !== 'number') throw new TypeError(`leakReport: options.limit must be a number, got ${describe(limit)}`)
    if (!Number.isInteger(limit) || limit < 1 || limit > 1e6) throw new RangeError(`leakReport: options.limit must be an integer from 1 to 1000000, got ${limit}`)
    const out = new Float64Array(3 * limit)
    const n = native.leaks(this._m, now, segmentMs, transactionMs, out)
    const transactions = []
    const segments = []
    for (let k = 0; k < n; k++) {
      const handle = out[3 * k]
      const root = out[3 * k + 1]
      const ageMs = now - out[3 * k + 2]
      const s = handle & this._mask
      if (handle === root) {
        transactions.push({ handle, name: this._names[s], ageMs, segments: this._count[s] })
      } else {
        segments.push({ handle, name: this._names[s], transaction: root, transactionName: this._names[root & this._mask], ageMs })
      }
    }
    return { now, transactions, segments }
  }

  /**
   * Checks every invariant of the table (src/core/table.rs) and that the
   * JS-side names and attributes sit exactly beside live records. Returns
   * the problems found: an empty array when the store is sound.
   * @returns {string[]}
   */
  verify () {
    const problems = native.check(this._m)
    for (let s = 0; s < this._cap; s++) {
      const live = this._handle[s] !== FREE && this._root[s] >= 0
      if (live !== (typeof this._names[s] === 'string')) {
        problems.push(`slot ${s}: name ${live ? 'missing' : 'left behind'}`)
      }
      if (!live && (this._attrs[s] !== undefined || this._spanIds[s] !== undefined)) {
        problems.push(`slot ${s}: attributes or span id left behind`)
      }
      const isRoot = live && this._root[s] === this._handle[s]
      if (!isRoot && this._traceIds[s] !== undefined) problems.push(`slot ${s}: trace id off a live root`)
    }
    const counted = this._m[H_LIVE_SEG]
    if (counted !== this.stats().liveSegments) problems.push(`counter says ${counted} live segments`)
    return problems
  }
}

module.exports = { SegmentStore, cutUtf8 }
