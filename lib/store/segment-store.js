'use strict'

// SegmentStore: transactions and segments behind 30-bit integer handles.
//
// The records live in one Float64Array laid out by the Rust core
// (src/core/layout.rs, read through `binding.layout()`). The hot path below
// (start/end a segment, set an attribute, isActive and the other look-ups)
// reads and writes that buffer directly and never crosses into the binding.
// The binding is called for bulk work only: reserving 256 handles at a time,
// growing the table, finishing a transaction (ordering, exclusive times, ids,
// JSON), and scanning for stats, leaks and checks. Names and attribute values
// stay in JS arrays beside the columns ("side arrays"), indexed by slot, so no
// string crosses until a transaction is finished as JSON.
//
// `defineSegmentStore(binding)` makes the class for one binding (the native
// addon or the pure-JS backend: same functions over the same layout); the
// package exports the one made for the binding `lib/native` loaded.
// The API is documented once, in segment-store.d.ts.

const { performance } = require('node:perf_hooks')
const { readLayout } = require('./layout')
const { cutUtf8 } = require('./utf8')
const { randomHex } = require('./ids')
const { readTrace, writeJsonPayload } = require('./payload')
const v = require('../validate')

const timeOrigin = performance.timeOrigin
const now = () => performance.now()

const OPTION_KEYS = ['maxSegmentsPerTransaction', 'maxAttributesPerSegment', 'maxAttributeValueLength']
const LEAK_OPTION_KEYS = ['segmentOlderThanMs', 'transactionOlderThanMs', 'now', 'limit']

// The side arrays, indexed by slot: names, attribute lists ([key, value, ...]),
// and ids handed out early by spanIdOf/traceIdOf (the latter on root slots
// only). They move with their records when the table grows and are cleared
// when the transaction ends.
const SIDE = ['_names', '_attrs', '_spanIds', '_traceIds']

/**
 * The SegmentStore class for `binding`.
 * @param {object} binding the native addon's functions, or the JS backend's
 * @returns {typeof import('./segment-store').SegmentStore}
 */
function defineSegmentStore (binding) {
  const layout = readLayout(binding)
  const {
    MAX_HANDLE, FREE, NONE, HEADER_LEN, COLUMNS, RESERVE_MAX, MIN_CAPACITY, MAX_CAPACITY,
    H_RESERVED, H_RESERVE, H_LIVE_TXN, H_LIVE_SEG, H_TOTAL_TXN, H_TOTAL_SEG, H_DROPPED,
    OUT_HEADER, OUT_ROW, LEAK_ROW, LEAK_HANDLE, LEAK_ROOT, LEAK_START
  } = layout
  const { initStore, reserve, grow, finish, finishJson, scan, leaks, check } = binding

  function readOptions (options) {
    if (options === null) throw v.typeError('SegmentStore: options', 'an object or undefined', options)
    const o = v.checkOptions(options, 'SegmentStore: options', OPTION_KEYS)
    return {
      maxSegments: v.checkInteger(o.maxSegmentsPerTransaction, 'SegmentStore: options.maxSegmentsPerTransaction', 1, MAX_CAPACITY / 2, 900),
      maxAttributes: v.checkInteger(o.maxAttributesPerSegment, 'SegmentStore: options.maxAttributesPerSegment', 0, 65536, 64),
      maxValue: v.checkInteger(o.maxAttributeValueLength, 'SegmentStore: options.maxAttributeValueLength', 1, 1 << 20, 255)
    }
  }

  class SegmentStore {
    constructor (options) {
      const o = readOptions(options)
      this._maxSegments = o.maxSegments
      this._maxAttributes = o.maxAttributes
      this._maxValue = o.maxValue
      this._out = new Float64Array(OUT_HEADER + OUT_ROW * 64) // rows from finish
      this._meta = new Float64Array(256) // the JSON payload's numbers
      this._slots = new Int32Array(64) // the slots a JSON payload read
      const buffer = new Float64Array(HEADER_LEN + COLUMNS * MIN_CAPACITY)
      initStore(buffer, MIN_CAPACITY)
      this._adopt(buffer, SIDE.map(() => new Array(MIN_CAPACITY).fill(undefined)))
    }

    /** Points the column views at `buffer`, and the side arrays at `side`. */
    _adopt (buffer, side) {
      const capacity = buffer[layout.H_CAPACITY]
      const column = (k) => buffer.subarray(HEADER_LEN + k * capacity, HEADER_LEN + (k + 1) * capacity)
      this._buffer = buffer
      this._capacity = capacity
      this._mask = capacity - 1
      this._handle = column(layout.C_HANDLE)
      this._root = column(layout.C_ROOT)
      this._parent = column(layout.C_PARENT)
      this._next = column(layout.C_NEXT)
      this._start = column(layout.C_START)
      this._end = column(layout.C_END)
      this._count = column(layout.C_COUNT)
      this._dropped = column(layout.C_DROPPED)
      this._tail = column(layout.C_TAIL)
      for (let i = 0; i < SIDE.length; i++) this[SIDE[i]] = side[i]
    }

    /** Doubles the table; names and attributes move with their records. */
    _grow () {
      const capacity = this._capacity * 2
      if (capacity > MAX_CAPACITY) {
        throw new RangeError(`SegmentStore: full: ${this._buffer[layout.H_OCCUPIED]} segments are live, the most it can hold is ${MAX_CAPACITY / 2}`)
      }
      const buffer = new Float64Array(HEADER_LEN + COLUMNS * capacity)
      grow(this._buffer, buffer)
      const side = SIDE.map(() => new Array(capacity).fill(undefined))
      const mask = capacity - 1
      for (let s = 0; s < this._capacity; s++) {
        const h = this._handle[s]
        if (h !== FREE) {
          for (let i = 0; i < SIDE.length; i++) side[i][h & mask] = this[SIDE[i]][s]
        }
      }
      this._adopt(buffer, side)
    }

    /** Takes a reserved handle, refilling the reserve (one crossing per 256). */
    _pop () {
      const buffer = this._buffer
      let n = buffer[H_RESERVED]
      if (n === 0) {
        n = reserve(buffer, RESERVE_MAX)
        if (n < RESERVE_MAX && this._capacity < MAX_CAPACITY) {
          this._grow()
          n = reserve(this._buffer, RESERVE_MAX)
        }
        if (n === 0) this._grow() // at the largest size: throws RangeError
      }
      n -= 1
      this._buffer[H_RESERVED] = n
      return this._buffer[H_RESERVE + n]
    }

    startTransaction (name, startTime) {
      v.checkString(name, 'startTransaction: name')
      const t = v.checkTime(startTime, 'startTransaction: startTime', now)
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
      const buffer = this._buffer
      buffer[H_LIVE_TXN]++
      buffer[H_TOTAL_TXN]++
      buffer[H_LIVE_SEG]++
      buffer[H_TOTAL_SEG]++
      return h
    }

    startSegment (parent, name, startTime) {
      const given = v.checkHandle(parent, 'startSegment: parent')
      v.checkString(name, 'startSegment: name')
      const t = v.checkTime(startTime, 'startSegment: startTime', now)
      if (!given || !this.isActive(parent)) return null
      const root = this._root[parent & this._mask]
      let rs = root & this._mask
      if (this._count[rs] >= this._maxSegments) {
        this._dropped[rs]++
        this._buffer[H_DROPPED]++
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
      const buffer = this._buffer
      buffer[H_LIVE_SEG]++
      buffer[H_TOTAL_SEG]++
      return h
    }

    endSegment (handle, endTime) {
      const given = v.checkHandle(handle, 'endSegment: handle')
      const t = v.checkTime(endTime, 'endSegment: endTime', now)
      if (!given || !this.isActive(handle)) return
      const s = handle & this._mask
      if (Number.isNaN(this._end[s])) { // still open
        const start = this._start[s]
        this._end[s] = t < start ? start : t
      }
    }

    setAttribute (handle, key, value) {
      const given = v.checkHandle(handle, 'setAttribute: handle')
      v.checkString(key, 'setAttribute: key')
      if (key.length === 0) throw new RangeError('setAttribute: key must not be empty')
      const type = typeof value
      if (type === 'string') {
        value = cutUtf8(value, this._maxValue)
      } else if (type === 'number') {
        if (!Number.isFinite(value)) throw new RangeError(`setAttribute: value must be finite when a number, got ${value}`)
      } else if (type !== 'boolean') {
        throw v.typeError('setAttribute: value', 'a string, a finite number or a boolean', value)
      }
      key = cutUtf8(key, this._maxValue)
      if (key.length === 0) throw new RangeError(`setAttribute: key must not be empty once cut to maxAttributeValueLength (${this._maxValue} bytes)`)
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

    isActive (handle) {
      if (typeof handle !== 'number' || (handle & MAX_HANDLE) !== handle) return false
      const s = handle & this._mask
      return this._handle[s] === handle && this._root[s] >= 0
    }

    transactionOf (handle) {
      if (!v.checkHandle(handle, 'transactionOf: handle') || !this.isActive(handle)) return null
      return this._root[handle & this._mask]
    }

    parentOf (handle) {
      if (!v.checkHandle(handle, 'parentOf: handle') || !this.isActive(handle)) return null
      const p = this._parent[handle & this._mask]
      return p === NONE ? null : p
    }

    nameOf (handle) {
      if (!v.checkHandle(handle, 'nameOf: handle') || !this.isActive(handle)) return null
      return this._names[handle & this._mask]
    }

    spanIdOf (handle) {
      if (!v.checkHandle(handle, 'spanIdOf: handle') || !this.isActive(handle)) return null
      const s = handle & this._mask
      return this._spanIds[s] ?? (this._spanIds[s] = randomHex(8))
    }

    traceIdOf (handle) {
      if (!v.checkHandle(handle, 'traceIdOf: handle') || !this.isActive(handle)) return null
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
      if (!(n >= 1 && n <= this._capacity && Number.isInteger(n))) {
        throw new Error(`segment store is inconsistent: transaction ${this._handle[rs]} counts ${n} segments`)
      }
      return n
    }

    /** Checks an end call's arguments; the end time, or -1 when not active. */
    _endArgs (handle, endTime, where) {
      const given = v.checkHandle(handle, `${where}: handle`)
      const t = v.checkTime(endTime, `${where}: endTime`, now)
      return given && this.isActive(handle) ? t : -1
    }

    endTransaction (handle, endTime) {
      const t = this._endArgs(handle, endTime, 'endTransaction')
      if (t < 0) return null
      const rs = this._root[handle & this._mask] & this._mask
      const n = this._countOf(rs)
      const traceId = this._traceIds[rs]
      if (this._out.length < OUT_HEADER + OUT_ROW * n) this._out = new Float64Array(OUT_HEADER + OUT_ROW * n * 2)
      const ids = finish(this._buffer, handle, t, this._out)
      return readTrace(this, this._out, ids, traceId, layout, timeOrigin)
    }

    endTransactionJSON (handle, endTime) {
      const t = this._endArgs(handle, endTime, 'endTransactionJSON')
      if (t < 0) return null
      const root = this._root[handle & this._mask]
      const n = this._countOf(root & this._mask)
      const payload = writeJsonPayload(this, root, n)
      const json = finishJson(this._buffer, handle, t, timeOrigin, payload.meta, payload.text, payload.ids)
      const slots = this._slots
      for (let k = 0; k < n; k++) this._clearSide(slots[k])
      return json
    }

    stats () {
      const live = scan(this._buffer)
      const buffer = this._buffer
      return {
        liveTransactions: live.liveTransactions,
        liveSegments: live.liveSegments,
        capacity: live.capacity,
        totalTransactions: buffer[H_TOTAL_TXN],
        totalSegments: buffer[H_TOTAL_SEG],
        droppedSegments: buffer[H_DROPPED]
      }
    }

    leakReport (options) {
      if (options !== undefined && (options === null || typeof options !== 'object')) {
        throw v.typeError('leakReport: options', 'an object', options)
      }
      const o = v.checkOptions(options, 'leakReport: options', LEAK_OPTION_KEYS)
      const segmentMs = v.checkTime(o.segmentOlderThanMs ?? 60000, 'leakReport: options.segmentOlderThanMs', now)
      const transactionMs = v.checkTime(o.transactionOlderThanMs ?? 300000, 'leakReport: options.transactionOlderThanMs', now)
      const at = v.checkTime(o.now ?? undefined, 'leakReport: options.now', now) // null, like undefined: now
      const limit = v.checkInteger(o.limit ?? undefined, 'leakReport: options.limit', 1, 1e6, 100)
      const out = new Float64Array(LEAK_ROW * limit)
      const n = leaks(this._buffer, at, segmentMs, transactionMs, out)
      const transactions = []
      const segments = []
      for (let k = 0; k < n; k++) {
        const o = LEAK_ROW * k
        const handle = out[o + LEAK_HANDLE]
        const root = out[o + LEAK_ROOT]
        const ageMs = at - out[o + LEAK_START]
        const s = handle & this._mask
        if (handle === root) {
          transactions.push({ handle, name: this._names[s], ageMs, segments: this._count[s] })
        } else {
          segments.push({ handle, name: this._names[s], transaction: root, transactionName: this._names[root & this._mask], ageMs })
        }
      }
      return { now: at, transactions, segments }
    }

    verify () {
      const problems = check(this._buffer)
      for (let s = 0; s < this._capacity; s++) {
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
      const counted = this._buffer[H_LIVE_SEG]
      if (counted !== this.stats().liveSegments) problems.push(`counter says ${counted} live segments`)
      return problems
    }
  }

  return SegmentStore
}

const { binding } = require('../native')

/** The store on the binding `lib/native` loaded. */
const SegmentStore = defineSegmentStore(binding)

module.exports = { SegmentStore, defineSegmentStore }
