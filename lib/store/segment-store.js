'use strict'

// SegmentStore: transactions and segments behind 30-bit integer handles.
//
// The records live in one Float64Array laid out by the Rust core
// (src/core/layout.rs, read through `binding.layout()`). The hot path below
// (start/end a segment, set an attribute, isActive and the other look-ups)
// reads and writes that buffer directly and never crosses into the binding.
// The binding is called for bulk work only: reserving 256 handles at a time,
// growing and shrinking the table, finishing a transaction (ordering,
// exclusive times, ids, JSON), and scanning for stats, leaks and checks.
// Strings: every name, attribute key and string value is interned per store
// (./strings.js): slots and entries hold only ids, and the binding holds the
// same strings, so a transaction finished as JSON sends none of them.
// Names are a typed "side array" beside the columns, indexed by slot
// (`_nameId`, -1 on a free slot), attributes an arena of typed columns:
// each slot's attributes are a list of arena entries, in the order first
// set: `_aHead[slot]` is the first entry (0: none), `_aNext[e]` the next;
// entry `e` holds `key id << 2 | kind` in `_aKey` and in `_aNum` a number,
// a boolean (0/1) or a string value's id. Entry 0 is never an attribute,
// so 0 means "none"; its cells hold the arena's two counts: `_aNext[0]` is
// the first free entry (0: none; freed entries form a free list through
// `_aNext`), `_aKey[0]` the count of entries in use. `_nameId` and `_aHead`
// are the halves of one Int32Array (`_side`), `_aKey` and `_aNext` of
// another (`_aInts`): the binding reads them as they are, and a JSON finish
// frees the transaction's names and entries in them itself
// (docs/binding-contract.md, "finishJsonStrings").
//
// Sizing: the table doubles when a batch of handles does not fit under the
// load bound, seven eighths of the slots occupied (Rust's `reserve`;
// MAX_LOAD_EIGHTHS), and shrinks after a burst: once SHRINK_AFTER
// transactions in a row have ended with less than a quarter of the slots
// occupied, to the smallest capacity (at least MIN_CAPACITY) that is at
// most half full, if the occupied slots fit it without two sharing a slot
// (Rust's `shrink` checks; else the next larger capacity is tried, and when
// none fits, the shrink is tried again SHRINK_RETRY ends later). A grown
// table is about seven sixteenths full and a shrunk one a quarter to half
// full, so only a load that falls to under four sevenths of the one it grew
// at (to under a quarter), for SHRINK_AFTER ends, resizes at all, and a
// shrunk table grows again only once its load has grown by three quarters:
// a steady load (or a lull shorter than that) never resizes. The attribute
// arena (24 B an entry) grows by half when full, in multiples of MIN_ARENA
// entries, and is compacted on the same schedule (under a quarter in use),
// to the smallest size that leaves it at most half full.
//
// `defineSegmentStore(binding)` makes the class for one binding (the native
// addon or the pure-JS backend: same functions over the same layout); the
// package exports the one made for the binding `lib/native` loaded.
// The API is documented once, in segment-store.d.ts.

const { performance } = require('node:perf_hooks')
const { readLayout } = require('./layout')
const { cutUtf8 } = require('./utf8')
const { randomHex } = require('./ids')
const { readTrace, earlyIds, KIND_STRING, KIND_NUMBER, KIND_BOOLEAN } = require('./payload')
const { Strings } = require('./strings')
const v = require('../validate')

const timeOrigin = performance.timeOrigin
const now = () => performance.now()

const OPTION_KEYS = ['maxSegmentsPerTransaction', 'maxAttributesPerSegment', 'maxAttributeValueLength']
const LEAK_OPTION_KEYS = ['segmentOlderThanMs', 'transactionOlderThanMs', 'now', 'limit']

// Smallest attribute arena, in entries; every size is a multiple of it.
const MIN_ARENA = 1024
// Transactions ended in a row at low occupancy before the store shrinks.
const SHRINK_AFTER = 256
// Transactions ended before a shrink that did not fit is tried again.
const SHRINK_RETRY = 1024
// Positions of a slot's attribute list whose key ids are cached.
const KEY_CACHE = 8

/** The arena size for at least `entries` entries: a multiple of MIN_ARENA. */
function arenaSize (entries) {
  return Math.max(MIN_ARENA, Math.ceil(entries / MIN_ARENA) * MIN_ARENA)
}

/** Side arrays for `capacity` slots: name ids (-1: none), then attribute heads. */
function newSide (capacity) {
  const side = new Int32Array(2 * capacity)
  side.fill(-1, 0, capacity)
  return side
}

/**
 * The SegmentStore class for `binding`.
 * @param {object} binding the native addon's functions, or the JS backend's
 * @returns {typeof import('./segment-store').SegmentStore}
 */
function defineSegmentStore (binding) {
  const layout = readLayout(binding)
  const {
    MAX_HANDLE, FREE, NONE, HEADER_LEN, COLUMNS, RESERVE_MAX, MIN_CAPACITY, MAX_CAPACITY, MAX_LOAD_EIGHTHS, MAX_STRINGS,
    H_RESERVED, H_RESERVE, H_LIVE_TXN, H_LIVE_SEG, H_TOTAL_TXN, H_TOTAL_SEG, H_DROPPED,
    H_OCCUPIED, H_CAPACITY,
    OUT_HEADER, OUT_ROW, LEAK_ROW, LEAK_HANDLE, LEAK_ROOT, LEAK_START
  } = layout
  const { initStore, reserve, grow, shrink, finish, finishJsonStrings, scan, leaks, check } = binding

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
      this._slots = new Int32Array(64) // a JSON finish's slots, when it has early ids
      this._strings = new Strings(binding, MAX_STRINGS)
      this._text = this._strings.text // id -> string (the same array, never replaced)
      // Key ids by list position: the key last set at that position.
      this._cacheKey = new Array(KEY_CACHE).fill(undefined)
      this._cacheId = new Int32Array(KEY_CACHE)
      this._low = 0 // transactions ended in a row at low occupancy
      this._initArena(MIN_ARENA)
      const buffer = new Float64Array(HEADER_LEN + COLUMNS * MIN_CAPACITY)
      initStore(buffer, MIN_CAPACITY)
      this._spanIds = null // made on first use, like _traceIds (on root slots only)
      this._traceIds = null
      this._adopt(buffer, newSide(MIN_CAPACITY), null, null)
    }

    /** An empty attribute arena of `size` entries: none free, none in use. */
    _initArena (size) {
      this._adoptArena(new Int32Array(2 * size), new Float64Array(size))
      this._aTop = 1 // entries from here on have never been used
    }

    /** Points the arena's column views at `ints` (keys, then next) and `num`. */
    _adoptArena (ints, num) {
      const size = num.length
      this._aInts = ints
      this._aKey = ints.subarray(0, size)
      this._aNext = ints.subarray(size, 2 * size)
      this._aNum = num
    }

    /** Points the column views at `buffer`, and the side arrays at the ones given. */
    _adopt (buffer, side, spanIds, traceIds) {
      const capacity = buffer[H_CAPACITY]
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
      this._side = side
      this._nameId = side.subarray(0, capacity)
      this._aHead = side.subarray(capacity, 2 * capacity)
      this._spanIds = spanIds
      this._traceIds = traceIds
    }

    /**
     * Adopts `buffer`, a copy of the table at another capacity (grown or
     * shrunk by the binding); the side arrays move with their records.
     */
    _move (buffer) {
      const capacity = buffer[H_CAPACITY]
      const mask = capacity - 1
      const side = newSide(capacity)
      const spanIds = this._spanIds === null ? null : new Array(capacity).fill(undefined)
      const traceIds = this._traceIds === null ? null : new Array(capacity).fill(undefined)
      for (let s = 0; s < this._capacity; s++) {
        const h = this._handle[s]
        if (h === FREE) continue
        const t = h & mask
        side[t] = this._nameId[s]
        side[capacity + t] = this._aHead[s]
        if (spanIds !== null) spanIds[t] = this._spanIds[s]
        if (traceIds !== null) traceIds[t] = this._traceIds[s]
      }
      this._adopt(buffer, side, spanIds, traceIds)
    }

    /** Doubles the table; names and attributes move with their records. */
    _grow () {
      const capacity = this._capacity * 2
      if (capacity > MAX_CAPACITY) {
        throw new RangeError(`SegmentStore: full: ${this._buffer[H_OCCUPIED]} segments are live, the most it can hold is ${Math.floor(MAX_LOAD_EIGHTHS * MAX_CAPACITY / 8)}`)
      }
      const buffer = new Float64Array(HEADER_LEN + COLUMNS * capacity)
      grow(this._buffer, buffer)
      this._move(buffer)
      this._low = 0
    }

    /**
     * After a transaction ended: counts the ends in a row at low occupancy
     * (under a quarter of the table, or of the arena) and, after
     * SHRINK_AFTER of them, shrinks the table and compacts the arena.
     */
    _afterEnd () {
      if (this._strings.due()) this._collectStrings()
      const tableLow = this._capacity > MIN_CAPACITY && 4 * this._buffer[H_OCCUPIED] < this._capacity
      const arenaLow = this._aKey.length > MIN_ARENA && 4 * this._aKey[0] < this._aKey.length
      if (!tableLow && !arenaLow) {
        if (this._low > 0) this._low = 0
        return
      }
      if (++this._low < SHRINK_AFTER) return
      this._low = 0
      if (arenaLow) this._compactArena()
      if (tableLow && !this._shrink()) this._low = SHRINK_AFTER - SHRINK_RETRY
      this._collectStrings()
    }

    /**
     * Moves the table into the smallest capacity it fills at most half
     * of, or the next larger one where no two occupied slots share
     * a slot; false when none below the current one fits.
     */
    _shrink () {
      const occupied = this._buffer[H_OCCUPIED]
      let capacity = MIN_CAPACITY
      while (2 * occupied > capacity) capacity *= 2
      for (; capacity < this._capacity; capacity *= 2) {
        const buffer = new Float64Array(HEADER_LEN + COLUMNS * capacity)
        if (shrink(this._buffer, buffer)) {
          this._move(buffer)
          return true
        }
      }
      return false
    }

    /** Copies the live attribute entries into the smallest arena they fill at most half of. */
    _compactArena () {
      const size = arenaSize(2 * (this._aKey[0] + 1))
      const { _aKey: key, _aNum: num, _aNext: next } = this
      const heads = this._aHead
      this._initArena(size)
      let top = 1
      for (let s = 0; s < this._capacity; s++) {
        let e = heads[s]
        if (e === 0) continue
        let prev = 0
        for (; e !== 0; e = next[e]) {
          const t = top++
          this._aKey[t] = key[e]
          this._aNum[t] = num[e]
          if (prev === 0) heads[s] = t
          else this._aNext[prev] = t
          prev = t
        }
      }
      this._aTop = top
      this._aKey[0] = top - 1
    }

    /** A free arena entry, growing the arena by half when none is left. */
    _aAlloc () {
      const next = this._aNext
      let e = next[0]
      if (e !== 0) {
        next[0] = next[e]
      } else {
        if (this._aTop === this._aKey.length) this._growArena()
        e = this._aTop++
      }
      this._aNext[e] = 0
      this._aKey[0]++
      return e
    }

    _growArena () {
      const size = arenaSize(this._aKey.length * 1.5)
      const ints = new Int32Array(2 * size)
      const num = new Float64Array(size)
      ints.set(this._aKey)
      ints.set(this._aNext, size)
      num.set(this._aNum)
      this._adoptArena(ints, num)
    }

    /** Frees the attribute list of slot `s`. */
    _freeAttributes (s) {
      const head = this._aHead[s]
      if (head === 0) return
      this._aHead[s] = 0
      // The whole list, in its order, onto the front of the free list, as
      // the binding frees a JSON finish's.
      const next = this._aNext
      let last = head
      let n = 1
      while (next[last] !== 0) {
        last = next[last]
        n++
      }
      next[last] = next[0]
      next[0] = head
      this._aKey[0] -= n
    }

    /** The id of `key` (interned on first use). `at` is its list position. */
    _keyId (key, at) {
      if (at < KEY_CACHE && this._cacheKey[at] === key) return this._cacheId[at]
      const id = this._strings.intern(key)
      if (at < KEY_CACHE) {
        this._cacheKey[at] = key
        this._cacheId[at] = id
      }
      return id
    }

    /**
     * Frees the ids of strings no live slot or entry holds (a mark and
     * sweep; see ./strings.js). Called only where no id is held elsewhere.
     */
    _collectStrings () {
      this._cacheKey.fill(undefined) // its ids may be freed
      this._strings.collect((marks) => {
        const { _nameId: names, _aHead: heads, _aKey: keys, _aNum: num, _aNext: next } = this
        for (let s = 0; s < this._capacity; s++) {
          if (names[s] >= 0) marks[names[s]] = 1
          for (let e = heads[s]; e !== 0; e = next[e]) {
            const w = keys[e]
            marks[w >> 2] = 1
            if ((w & 3) === KIND_STRING) marks[num[e]] = 1
          }
        }
      })
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
      // Interned first: it throws when the store holds MAX_STRINGS strings.
      const nameId = this._strings.intern(cutUtf8(name, this._maxValue))
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
      this._nameId[s] = nameId
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
      const nameId = this._strings.intern(cutUtf8(name, this._maxValue)) // first: it may throw
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
      this._nameId[s] = nameId
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
      const aKey = this._aKey
      const next = this._aNext
      let last = 0
      let at = 0
      const text = this._text
      for (let e = this._aHead[s]; e !== 0; e = next[e]) {
        const id = aKey[e] >> 2
        if (text[id] === key) {
          this._setValue(e, id, value, type)
          return
        }
        last = e
        at++
      }
      if (at >= this._maxAttributes) return
      const id = this._keyId(key, at)
      // Interned before the entry is taken: it may throw.
      const valueId = type === 'string' ? this._strings.intern(value) : 0
      const e = this._aAlloc() // may grow the arena: read its columns after
      if (type === 'string') {
        this._aKey[e] = (id << 2) | KIND_STRING
        this._aNum[e] = valueId
      } else if (type === 'number') {
        this._aKey[e] = (id << 2) | KIND_NUMBER
        this._aNum[e] = value
      } else {
        this._aKey[e] = (id << 2) | KIND_BOOLEAN
        this._aNum[e] = value ? 1 : 0
      }
      if (last === 0) this._aHead[s] = e
      else this._aNext[last] = e
    }

    /** Writes `value` (of type `type`) into arena entry `e` of key id `id`. */
    _setValue (e, id, value, type) {
      if (type === 'string') {
        const valueId = this._strings.intern(value) // first: it may throw
        this._aKey[e] = (id << 2) | KIND_STRING
        this._aNum[e] = valueId
      } else {
        this._aKey[e] = (id << 2) | (type === 'number' ? KIND_NUMBER : KIND_BOOLEAN)
        this._aNum[e] = type === 'number' ? value : value ? 1 : 0
      }
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
      return this._text[this._nameId[handle & this._mask]]
    }

    spanIdOf (handle) {
      if (!v.checkHandle(handle, 'spanIdOf: handle') || !this.isActive(handle)) return null
      const s = handle & this._mask
      const ids = this._spanIds ?? (this._spanIds = new Array(this._capacity).fill(undefined))
      return ids[s] ?? (ids[s] = randomHex(8))
    }

    traceIdOf (handle) {
      if (!v.checkHandle(handle, 'traceIdOf: handle') || !this.isActive(handle)) return null
      const rs = this._root[handle & this._mask] & this._mask
      const ids = this._traceIds ?? (this._traceIds = new Array(this._capacity).fill(undefined))
      return ids[rs] ?? (ids[rs] = randomHex(16))
    }

    /** Clears the side arrays of slot `s` and frees its attributes. */
    _clearSide (s) {
      this._nameId[s] = -1
      if (this._aHead[s] !== 0) this._freeAttributes(s)
      this._clearIds(s)
    }

    /** Forgets the early span and trace ids of slot `s`. */
    _clearIds (s) {
      if (this._spanIds !== null) this._spanIds[s] = undefined
      if (this._traceIds !== null) this._traceIds[s] = undefined
    }

    /**
     * Puts the slots of the transaction of active `handle`, in creation
     * order, in `_slots[0..n]`; returns `n`.
     */
    _walkSlots (handle) {
      const root = this._root[handle & this._mask]
      const n = this._countOf(root & this._mask)
      if (this._slots.length < n) this._slots = new Int32Array(n * 2)
      const slots = this._slots
      const mask = this._mask
      const next = this._next
      let cur = root
      for (let k = 0; k < n; k++) {
        const s = cur & mask
        slots[k] = s
        cur = next[s]
      }
      return n
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
      const traceId = this._traceIds === null ? undefined : this._traceIds[rs]
      if (this._out.length < OUT_HEADER + OUT_ROW * n) this._out = new Float64Array(OUT_HEADER + OUT_ROW * n * 2)
      const ids = finish(this._buffer, handle, t, this._out)
      const trace = readTrace(this, this._out, ids, traceId, layout, timeOrigin)
      this._afterEnd()
      return trace
    }

    endTransactionJSON (handle, endTime) {
      return this._endJSON(handle, endTime, 'endTransactionJSON', false)
    }

    endTransactionJSONBytes (handle, endTime) {
      return this._endJSON(handle, endTime, 'endTransactionJSONBytes', true)
    }

    /** The two JSON ends: the trace as a string, or its UTF-8 in a Buffer (`bytes`). */
    _endJSON (handle, endTime, where, bytes) {
      const t = this._endArgs(handle, endTime, where)
      if (t < 0) return null
      // The binding frees the names and attributes too; only early ids,
      // when the store has any, are the JS side's to clear.
      const early = this._spanIds !== null || this._traceIds !== null
      const n = early ? this._walkSlots(handle) : 0
      const ids = early ? earlyIds(this, this._root[handle & this._mask], n) : undefined
      this._strings.sync()
      const json = finishJsonStrings(this._buffer, handle, t, timeOrigin, this._side, this._aInts, this._aNum, this._strings.table, ids, bytes)
      for (let k = 0; k < n; k++) this._clearIds(this._slots[k])
      this._afterEnd()
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
          transactions.push({ handle, name: this._text[this._nameId[s]], ageMs, segments: this._count[s] })
        } else {
          segments.push({ handle, name: this._text[this._nameId[s]], transaction: root, transactionName: this._text[this._nameId[root & this._mask]], ageMs })
        }
      }
      return { now: at, transactions, segments }
    }

    /** What is wrong with the attribute arena: entries lost, shared or counted wrong. */
    _arenaProblems () {
      const problems = []
      const size = this._aKey.length
      const seen = new Uint8Array(size)
      let listed = 0
      const walk = (e, what) => {
        for (let steps = 0; e !== 0; steps++) {
          if (!(e > 0 && e < this._aTop) || seen[e] === 1 || steps > size) {
            problems.push(`attribute arena: ${what} reaches entry ${e} twice or out of range`)
            return
          }
          seen[e] = 1
          listed++
          e = this._aNext[e]
        }
      }
      for (let s = 0; s < this._capacity; s++) {
        const before = listed
        if (this._aHead[s] !== 0) walk(this._aHead[s], `slot ${s}`)
        if (listed - before > this._maxAttributes) problems.push(`slot ${s}: ${listed - before} attributes, more than ${this._maxAttributes}`)
      }
      if (listed !== this._aKey[0]) problems.push(`attribute arena: ${listed} entries listed, ${this._aKey[0]} counted`)
      walk(this._aNext[0], 'the free list')
      if (listed !== this._aTop - 1) problems.push(`attribute arena: ${listed} entries listed or free, ${this._aTop - 1} handed out`)
      return problems
    }

    verify () {
      const problems = check(this._buffer)
      for (let s = 0; s < this._capacity; s++) {
        const live = this._handle[s] !== FREE && this._root[s] >= 0
        if (live !== (typeof this._text[this._nameId[s]] === 'string')) {
          problems.push(`slot ${s}: name ${live ? 'missing' : 'left behind'}`)
        }
        if (live) {
          for (let e = this._aHead[s], steps = 0; e !== 0 && steps <= this._maxAttributes; e = this._aNext[e], steps++) {
            const w = this._aKey[e]
            if (typeof this._text[w >> 2] !== 'string' || ((w & 3) === KIND_STRING && typeof this._text[this._aNum[e]] !== 'string')) {
              problems.push(`slot ${s}: attribute entry ${e} names a string the store does not hold`)
            }
          }
        }
        if (!live && (this._aHead[s] !== 0 || (this._spanIds !== null && this._spanIds[s] !== undefined))) {
          problems.push(`slot ${s}: attributes or span id left behind`)
        }
        const isRoot = live && this._root[s] === this._handle[s]
        if (!isRoot && this._traceIds !== null && this._traceIds[s] !== undefined) problems.push(`slot ${s}: trace id off a live root`)
      }
      problems.push(...this._arenaProblems())
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
