'use strict'

// The native string table tells V8 how much memory its strings take
// (napi_adjust_external_memory), so the garbage collector counts them: a
// table the store has dropped (it refills a fresh one after many edits) is
// collected once the dropped tables' strings add up, even in a process that
// allocates almost nothing on the JS heap. Without the report, nothing here
// would start a collection, and every table would stay.
//
// Measured on the native binary whatever the backend: the pure-JS backend's
// strings are on the JS heap already. Alone in its file, because it reads
// the process's resident set.

const test = require('node:test')
const assert = require('node:assert/strict')
const { loadNative } = require('../helpers/native')

const immediate = () => new Promise((resolve) => setImmediate(resolve))

test('dropped string tables are collected once their strings add up', async () => {
  const native = loadNative()
  // 10,000 strings of 200 characters: about 2.4 MB in a table.
  const n = 10000
  const edits = new Float64Array(2 * n)
  let text = ''
  for (let i = 0; i < n; i++) {
    edits[2 * i] = i
    edits[2 * i + 1] = 200
    text += String(i).padStart(200, 'x')
  }
  const tables = 160 // about 380 MB of strings if none were collected
  const before = process.memoryUsage().rss
  let peak = before
  for (let k = 0; k < tables; k++) {
    native.setStrings(native.stringTable(), edits, text)
    // A turn of the event loop: finalizers may run outside the collection.
    await immediate()
    peak = Math.max(peak, process.memoryUsage().rss)
  }
  const grown = (peak - before) / 2 ** 20
  // Collected: about 80-95 MB on Node 20-26 (V8 collects at 64 MB of
  // external memory). None collected: about 380 MB.
  assert.ok(grown < 200, `the resident set grew by ${grown.toFixed(0)} MB over ${tables} dropped tables of 2.4 MB`)
})
