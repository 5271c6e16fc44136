'use strict'

// The two payloads that cross into the binding when a transaction ends:
// - `finish` writes rows of numbers (offsets from the layout: OUT_*, ROW_*)
//   that `readTrace` turns into the finished trace's objects, with the names
//   and attributes the JS side holds;
// - `finishJson` takes the names and attributes as one string and a list of
//   numbers that says how to cut it (the format is `src/core/json.rs`'s),
//   which `writeJsonPayload` builds.
// Both clear the side arrays of the slots they read.

const { ZERO_SPAN_ID, ZERO_TRACE_ID } = require('./ids')

// Kinds of attribute values in the JSON payload (src/core/json.rs).
const KIND_STRING = 0
const KIND_NUMBER = 1
const KIND_BOOLEAN = 2

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

/**
 * The finished trace from the rows `finish` wrote into `out` and the ids it
 * returned (`ids`: the trace id's 32 hex digits, then 16 per row).
 * Ids handed out early (spanIdOf/traceIdOf) win over the ones drawn at the
 * end. Clears the side arrays of every slot read.
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
  const attrs = store._attrs
  const spanIds = store._spanIds
  // A parent can sort after its child, so all ids are settled before any is used.
  const rowIds = new Array(n)
  for (let k = 0; k < n; k++) {
    const at = 32 + 16 * k
    rowIds[k] = spanIds[out[OUT_HEADER + OUT_ROW * k + ROW_SLOT]] ?? ids.slice(at, at + 16)
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
      attributes: attributesObject(attrs[s]),
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
 * The names and attributes of the `n` segments of transaction `root`, in
 * creation order, as `finishJson` takes them: `text` (every string, one
 * after another), `meta` (per segment: name length, attribute count, then
 * per attribute key length, kind, value), and `ids` (the ids handed out
 * early, zeros where the finisher draws one; undefined when there are none).
 * Records the slots read in `store._slots`. Grows `store._meta` as needed.
 */
function writeJsonPayload (store, root, n) {
  const mask = store._mask
  if (store._slots.length < n) store._slots = new Int32Array(n * 2)
  const slots = store._slots
  const names = store._names
  const attrs = store._attrs
  const next = store._next
  const spanIds = store._spanIds
  let earlyIds = store._traceIds[root & mask] !== undefined
  let meta = store._meta
  let j = 0
  let text = ''
  let cur = root
  for (let k = 0; k < n; k++) {
    const s = cur & mask
    slots[k] = s
    if (spanIds[s] !== undefined) earlyIds = true
    const name = names[s]
    const list = attrs[s]
    const width = list === undefined ? 2 : 2 + 1.5 * list.length
    if (j + width > meta.length) {
      const bigger = new Float64Array((j + width) * 2)
      bigger.set(meta)
      meta = store._meta = bigger
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
          meta[j++] = KIND_STRING
          meta[j++] = v.length
        } else if (typeof v === 'number') {
          meta[j++] = KIND_NUMBER
          meta[j++] = v
        } else {
          meta[j++] = KIND_BOOLEAN
          meta[j++] = v ? 1 : 0
        }
      }
    }
    cur = next[s]
  }
  let ids
  if (earlyIds) {
    ids = store._traceIds[root & mask] ?? ZERO_TRACE_ID
    for (let k = 0; k < n; k++) ids += spanIds[slots[k]] ?? ZERO_SPAN_ID
  }
  return { meta, text, ids }
}

module.exports = { readTrace, writeJsonPayload, attributesObject }
