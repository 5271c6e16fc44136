'use strict'

// What crosses into the binding when a transaction ends, and what comes back:
// - `finish` writes rows of numbers (offsets from the layout: OUT_*, ROW_*)
//   that `readTrace` turns into the finished trace's objects, with the names
//   and attributes the JS side holds;
// - `finishJsonKeyed` (and the older `finishJson`) take the names and
//   attributes as one string and a list of numbers that says how to cut it
//   (the formats are `src/core/json.rs`'s and docs/binding-contract.md's),
//   which `writeKeyedPayload` builds (the store sends only the keyed form).
// The attributes are read from the store's attribute arena (see
// segment-store.js): per slot a list of entries, each a key id and kind in
// `_aKey`, a number or boolean in `_aNum`, a string in `_aStr`.
// `readTrace` frees the slots it reads; `writeKeyedPayload` leaves that to
// the caller, once the binding has accepted the payload.

const { ZERO_SPAN_ID, ZERO_TRACE_ID } = require('./ids')

// Kinds of attribute values: the JSON payload's (src/core/json.rs), and the
// low two bits of an arena entry's `_aKey` (the key id is the rest).
const KIND_STRING = 0
const KIND_NUMBER = 1
const KIND_BOOLEAN = 2

/** The attribute value of arena entry `e`. */
function valueOf (store, e) {
  const kind = store._aKey[e] & 3
  if (kind === KIND_STRING) return store._aStr[e]
  if (kind === KIND_NUMBER) return store._aNum[e]
  return store._aNum[e] === 1
}

/** The key of arena entry `e`. */
function keyOf (store, e) {
  const id = store._aKey[e] >> 2
  return id >= 0 ? store._keyText[id] : store._rawKeys.get(e)
}

/** Builds the attributes object of slot `s` from its arena list. */
function attributesObject (store, s) {
  const o = {}
  const next = store._aNext
  for (let e = store._aHead[s]; e !== 0; e = next[e]) {
    const k = keyOf(store, e)
    const v = valueOf(store, e)
    if (k === '__proto__') {
      Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true })
    } else {
      o[k] = v
    }
  }
  return o
}

/**
 * The finished trace from the rows `finish` wrote into `out` and the ids it
 * returned (`ids`: the trace id's 32 hex digits, then 16 per row).
 * Ids handed out early (spanIdOf/traceIdOf) win over the ones drawn at the
 * end. Frees every slot read.
 * @param {object} store the SegmentStore whose side arrays hold the names
 * @param {Float64Array} out
 * @param {string} ids
 * @param {string|undefined} traceId the trace id handed out early, if any
 * @param {Readonly<Record<string, number>>} layout
 * @param {number} timeOrigin performance.timeOrigin
 */
function readTrace (store, out, ids, traceId, layout, timeOrigin) {
  const { OUT_HEADER, OUT_ROW, ROW_SLOT, ROW_PARENT, ROW_START, ROW_DURATION, ROW_EXCLUSIVE, ROW_TRUNCATED } = layout
  const n = out[layout.OUT_COUNT]
  const names = store._names
  const spanIds = store._spanIds
  // A parent can sort after its child, so all ids are settled before any is used.
  const rowIds = new Array(n)
  for (let k = 0; k < n; k++) {
    const at = 32 + 16 * k
    const early = spanIds === null ? undefined : spanIds[out[OUT_HEADER + OUT_ROW * k + ROW_SLOT]]
    rowIds[k] = early ?? ids.slice(at, at + 16)
  }
  const segments = new Array(n)
  for (let k = 0; k < n; k++) {
    const o = OUT_HEADER + OUT_ROW * k
    const s = out[o + ROW_SLOT]
    const p = out[o + ROW_PARENT]
    segments[k] = {
      id: rowIds[k],
      parentId: p < 0 ? null : rowIds[p],
      name: names[s],
      start: out[o + ROW_START],
      duration: out[o + ROW_DURATION],
      exclusive: out[o + ROW_EXCLUSIVE],
      attributes: attributesObject(store, s),
      truncated: out[o + ROW_TRUNCATED] === 1
    }
    store._clearSide(s)
  }
  return {
    traceId: traceId ?? ids.slice(0, 32),
    name: segments[0].name,
    startTime: timeOrigin + out[layout.OUT_START],
    duration: out[layout.OUT_DURATION],
    segmentCount: n,
    droppedSegments: out[layout.OUT_DROPPED],
    segments
  }
}

/** `store._meta`, grown to hold at least `need` numbers (keeping the first `keep`). */
function metaFor (store, need, keep) {
  let meta = store._meta
  if (need > meta.length) {
    const bigger = new Float64Array(need * 2)
    bigger.set(meta.subarray(0, keep))
    meta = store._meta = bigger
  }
  return meta
}

/**
 * The ids handed out early for the transaction of `root` whose slots are
 * `store._slots[0..n]` (zeros where the finisher draws one), or undefined
 * when there are none.
 */
function earlyIds (store, root, n, any) {
  const traceIds = store._traceIds
  const traceId = traceIds === null ? undefined : traceIds[root & store._mask]
  if (!any && traceId === undefined) return undefined
  const spanIds = store._spanIds
  const slots = store._slots
  let ids = traceId ?? ZERO_TRACE_ID
  for (let k = 0; k < n; k++) ids += (spanIds === null ? undefined : spanIds[slots[k]]) ?? ZERO_SPAN_ID
  return ids
}

/**
 * The names and attributes of the `n` segments of transaction `root`, in
 * creation order, in the keyed format `finishJsonKeyed` takes:
 *   meta: keyCount, keyAt, then per segment nameLength, attributeCount, and
 *         per attribute keyIndex, kind, value; from index keyAt, the
 *         keyCount key lengths
 *   text: the keys' texts, then per segment its name and its string values
 * with `ids` (the ids handed out early, zeros where the finisher draws one;
 * undefined when there are none). Each key is sent once per call: a store's
 * interned keys are stamped with the call's number when first listed.
 * Records the slots read in `store._slots`. Grows `store._meta` as needed.
 */
function writeKeyedPayload (store, root, n) {
  const mask = store._mask
  if (store._slots.length < n) store._slots = new Int32Array(n * 2)
  const slots = store._slots
  const names = store._names
  const next = store._next
  const head = store._aHead
  const aKey = store._aKey
  const aNum = store._aNum
  const aStr = store._aStr
  const aNext = store._aNext
  const spanIds = store._spanIds
  const keyText = store._keyText
  const stamp = store._keyStamp
  const keyAt = store._keyAt
  const keyLens = store._keyLens
  const call = store._nextCall()
  let keyCount = 0
  let keys = ''
  let text = ''
  let anyEarly = false
  let meta = metaFor(store, 2 + 2 * n, 0)
  let j = 2
  // The slots first (a chain of NEXT reads), then one load of each slot's
  // name, first entry and that entry's columns: loads that do not depend on
  // each other, so their cache misses overlap instead of queueing behind
  // the attribute walk below (it is memory-bound in a busy process).
  let cur = root
  for (let k = 0; k < n; k++) {
    const s = cur & mask
    slots[k] = s
    cur = next[s]
  }
  let touch = 0
  for (let k = 0; k < n; k++) {
    const s = slots[k]
    const e = head[s]
    touch += aKey[e] + aNext[e] + aNum[e]
    if (names[s] === undefined || aStr[e] === null) touch++
  }
  store._touch = touch // kept, so the loads are not dropped as dead code
  for (let k = 0; k < n; k++) {
    const s = slots[k]
    if (spanIds !== null && spanIds[s] !== undefined) anyEarly = true
    const name = names[s]
    if (j + 2 > meta.length) meta = metaFor(store, j + 2 + 2 * (n - k), j)
    text += name
    meta[j++] = name.length
    const countAt = j++
    let count = 0
    for (let e = head[s]; e !== 0; e = aNext[e]) {
      if (j + 3 > meta.length) meta = metaFor(store, j + 3 + 2 * (n - k), j)
      const w = aKey[e]
      const id = w >> 2
      if (id >= 0) {
        if (stamp[id] !== call) {
          stamp[id] = call
          keyAt[id] = keyCount
          const key = keyText[id]
          keys += key
          keyLens[keyCount++] = key.length
        }
        meta[j++] = keyAt[id]
      } else {
        const key = store._rawKeys.get(e)
        keys += key
        keyLens[keyCount] = key.length
        meta[j++] = keyCount++
      }
      const kind = w & 3
      meta[j++] = kind
      if (kind === KIND_STRING) {
        const v = aStr[e]
        text += v
        meta[j++] = v.length
      } else {
        meta[j++] = aNum[e]
      }
      count++
    }
    meta[countAt] = count
  }
  if (j + keyCount > meta.length) meta = metaFor(store, j + keyCount, j)
  for (let i = 0; i < keyCount; i++) meta[j + i] = keyLens[i]
  meta[0] = keyCount
  meta[1] = j
  return { meta, text: keys + text, ids: earlyIds(store, root, n, anyEarly) }
}

module.exports = {
  readTrace,
  writeKeyedPayload,
  attributesObject,
  valueOf,
  keyOf,
  KIND_STRING,
  KIND_NUMBER,
  KIND_BOOLEAN
}
