'use strict'

// Random span and trace ids handed out before a transaction ends
// (spanIdOf/traceIdOf), drawn from one pooled buffer of random bytes.

const { randomFillSync } = require('node:crypto')

const pool = Buffer.alloc(4096)
let at = pool.length

/**
 * `bytes` random bytes as lowercase hex, never all zeros (W3C trace-context).
 * @param {number} bytes 8 for a span id, 16 for a trace id
 * @returns {string}
 */
function randomHex (bytes) {
  for (;;) {
    if (at + bytes > pool.length) {
      randomFillSync(pool)
      at = 0
    }
    const hex = pool.toString('hex', at, at + bytes)
    at += bytes
    for (let i = 0; i < hex.length; i++) if (hex.charCodeAt(i) !== 48) return hex
  }
}

/** The all-zeros ids that mean "let the finisher draw one" in an early-ids list. */
const ZERO_SPAN_ID = '0'.repeat(16)
const ZERO_TRACE_ID = '0'.repeat(32)

module.exports = { randomHex, ZERO_SPAN_ID, ZERO_TRACE_ID }
