'use strict'

// Strings: a store's names, attribute keys and string values, interned.
//
// Each distinct string the store holds has a small integer id; slots and
// attribute entries keep only ids, in typed arrays, and the binding keeps
// the same strings by id, already escaped as JSON, in a table of its own
// (`binding.stringTable()`, src/core/strings.rs). So a transaction finished
// as JSON sends no text at all: `sync` sends only the ids assigned and
// freed since the last call, each new string once.
//
// The binding's table is filled on the first `sync` (a store that never
// finishes a transaction as JSON sends nothing), and refilled from scratch,
// a fresh table, whenever the edits waiting for a sync reach four times the
// collection limit: so what waits is bounded by the strings themselves.
//
// Ids are taken from a free list, else the next never used. Nothing counts
// references: `collect` is a mark and sweep that the store runs at points
// where no id is held outside its arrays (after a transaction ends), once
// the ids in use reach `limit`, then sets `limit` to twice the ids still
// live (at least MIN_LIMIT, at most `maxStrings`, so that a full table is
// collected at the next end rather than left full). So the table holds at
// most about twice the distinct strings of the live segments, plus
// MIN_LIMIT, however many distinct strings a program makes. The store also
// collects when it shrinks after a burst.

// Ids in use before the first collection, and the fewest a collection
// leaves room for.
const MIN_LIMIT = 1024

class Strings {
  /**
   * @param {{ stringTable(): object, setStrings(table: object, edits: Float64Array, text: string): void }} binding
   * @param {number} maxStrings the binding's MAX_STRINGS: ids stay below it
   */
  constructor (binding, maxStrings) {
    this._setStrings = binding.setStrings
    this._stringTable = binding.stringTable
    this.table = null // the binding's table: made by the first sync
    this._max = maxStrings
    this._ids = new Map() // text -> id
    this.text = [] // id -> text, undefined when free
    this._free = [] // ids freed, to reuse
    this.live = 0 // ids in use
    this.limit = Math.min(MIN_LIMIT, maxStrings)
    this._set = [] // ids assigned since the last sync (while `table` is kept up)
    this._removed = [] // ids freed since the last sync (the same)
    this._edits = new Float64Array(64)
  }

  /** The id of `s`, assigning one when it is new. */
  intern (s) {
    const id = this._ids.get(s)
    return id === undefined ? this._add(s) : id
  }

  _add (s) {
    let id
    if (this._free.length > 0) {
      id = this._free.pop()
      this.text[id] = s
    } else {
      id = this.text.length
      if (id >= this._max) throw new RangeError(`SegmentStore: more than ${this._max} distinct strings are live`)
      this.text.push(s)
    }
    this._ids.set(s, id)
    if (this.table !== null) this._note(this._set, id)
    this.live++
    return id
  }

  /** True when `collect` is due. */
  due () {
    return this.live >= this.limit
  }

  /**
   * Frees every id `mark` does not mark: `mark(marks)` sets `marks[id] = 1`
   * for each id the store still holds. Returns how many it freed.
   */
  collect (mark) {
    const text = this.text
    const marks = new Uint8Array(text.length)
    mark(marks)
    let freed = 0
    for (let id = 0; id < text.length; id++) {
      const s = text[id]
      if (s === undefined || marks[id] === 1) continue
      this._ids.delete(s)
      text[id] = undefined
      if (this.table !== null) this._note(this._removed, id)
      freed++
    }
    // Trailing free ids are dropped rather than listed, so the arrays
    // shrink with the strings; the rest are reused lowest first.
    let end = text.length
    while (end > 0 && text[end - 1] === undefined) end--
    text.length = end
    const free = []
    for (let id = end - 1; id >= 0; id--) if (text[id] === undefined) free.push(id)
    this._free = free
    this.live -= freed
    this.limit = Math.min(this._max, Math.max(MIN_LIMIT, 2 * this.live))
    return freed
  }

  /**
   * Records `id` in `list` (`_set` or `_removed`) for the next sync, or,
   * when four times `limit` edits wait already (more than the ids a table
   * has between two collections), drops the binding's table so that the
   * next sync sends every string to a fresh one.
   */
  _note (list, id) {
    if (this._set.length + this._removed.length < 4 * this.limit) {
      list.push(id)
    } else {
      this.table = null
      this._set = []
      this._removed = []
    }
  }

  /**
   * Makes the binding's table hold exactly the strings this one holds:
   * sends the ids freed and assigned since the last call, if any, or, when
   * there is no table yet, makes one and sends every string.
   */
  sync () {
    if (this.table === null) {
      this.table = this._stringTable()
      this._set = []
      this._removed = []
      for (let id = 0; id < this.text.length; id++) if (this.text[id] !== undefined) this._set.push(id)
    }
    const removed = this._removed
    const set = this._set
    const pairs = removed.length + set.length
    if (pairs === 0) return
    if (this._edits.length < 2 * pairs) this._edits = new Float64Array(4 * pairs)
    const edits = this._edits
    const text = this.text
    let j = 0
    for (let k = 0; k < removed.length; k++) {
      edits[j++] = removed[k]
      edits[j++] = -1
    }
    let pieces = ''
    for (let k = 0; k < set.length; k++) {
      const id = set[k]
      const s = text[id]
      if (s === undefined) continue // freed again since: removed above
      edits[j++] = id
      edits[j++] = s.length
      pieces += s
    }
    this._setStrings(this.table, edits.subarray(0, j), pieces)
    this._removed = []
    this._set = []
  }
}

module.exports = { Strings, MIN_LIMIT }
