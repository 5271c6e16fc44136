'use strict'

// What crosses into the binding when a transaction ends, and what comes back:
// - `finish` writes rows of numbers (offsets from the layout: OUT_*, ROW_*)
//   that `readTrace` turns into the finished trace's objects, with the names
//   and attributes the JS side holds;
// - `finishJsonStrings` reads the names and attributes from the store's own
//   typed arrays and string table (docs/binding-contract.md), with the ids
//   handed out early that `earlyIds` lists.
// The attributes are read from the store's attribute arena (see
// segment-store.js): per slot a list of entries, each a key's string id
// and kind in `_aKey`, and in `_aNum` a number, a boolean or a string id.
// `readTrace` frees the slots it reads.

const { ZERO_SPAN_ID, ZERO_TRACE_ID } = require('./ids')

// Kinds of attribute values: the low two bits of an arena entry's `_aKey`
// (the key id is the rest), as the binding reads them (src/core/strings.rs).
const KIND_STRING = 0
const KIND_NUMBER = 1
const KIND_BOOLEAN = 2

/** The attribute value of arena entry `e`. */
function valueOf (store, e) {
  const kind = store._aKey[e] & 3
  if (kind === KIND_STRING) return store._text[store._aNum[e]]
  if (kind === KIND_NUMBER) return store._aNum[e]
  return store._aNum[e] === 1
}

/** The key of arena entry `e`. */
function keyOf (store, e) {
  return store._text[store._aKey[e] >> 2]
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
  const nameIds = store._nameId
  const text = store._text
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
      name: text[nameIds[s]],
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

/**
 * The ids handed out early for the transaction of `root` whose slots are
 * `store._slots[0..n]`, in the form `finishJsonStrings` takes them (the
 * trace id, then one span id per slot; zeros where the finisher draws
 * one), or undefined when there are none.
 */
function earlyIds (store, root, n) {
  const traceIds = store._traceIds
  const traceId = traceIds === null ? undefined : traceIds[root & store._mask]
  const spanIds = store._spanIds
  const slots = store._slots
  let any = traceId !== undefined
  if (spanIds !== null) for (let k = 0; k < n && !any; k++) any = spanIds[slots[k]] !== undefined
  if (!any) return undefined
  let ids = traceId ?? ZERO_TRACE_ID
  for (let k = 0; k < n; k++) ids += (spanIds === null ? undefined : spanIds[slots[k]]) ?? ZERO_SPAN_ID
  return ids
}

module.exports = {
  readTrace,
  earlyIds,
  KIND_STRING,
  KIND_NUMBER,
  KIND_BOOLEAN
}
