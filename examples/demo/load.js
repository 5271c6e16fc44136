'use strict'

// Load for the demo: autocannon, used as a library, against one server, with
// a progress display on stderr (a single updating line on a TTY, a plain line
// per round otherwise). Latencies are collected from autocannon's 'response'
// events (hrtime, sub-millisecond) for an exact p99.

const autocannon = require('autocannon')

/** The request mix: each connection cycles through these in order. */
const REQUESTS = [
  { method: 'GET', path: '/users/42' },
  { method: 'GET', path: '/catalog' },
  { method: 'GET', path: '/search?q=odd' },
  {
    method: 'POST',
    path: '/checkout',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customer: 'c-42', items: [{ sku: 'SKU-1001', qty: 2 }, { sku: 'SKU-1007', qty: 1 }] })
  }
]

const BAR = 20

/**
 * A progress display. On a TTY it rewrites one line; otherwise it writes a
 * line when told to (`line`), and nothing on `update`.
 */
function createProgress (stream = process.stderr) {
  const tty = stream.isTTY === true
  let shown = false
  let last = null
  return {
    tty,
    /** Rewrites the live line (TTY only). */
    update (text) {
      if (!tty) return
      const width = stream.columns || 100
      stream.write(`\r${text.slice(0, width - 1).padEnd(width - 1)}`)
      shown = true
    },
    /** A plain line (not on a TTY, unless `always`); the same line twice in a row is written once. */
    line (text, always = false) {
      if ((tty && !always) || text === last) return
      last = text
      this.clear()
      stream.write(`${text}\n`)
    },
    clear () {
      if (tty && shown) {
        stream.write(`\r${' '.repeat((stream.columns || 100) - 1)}\r`)
        shown = false
      }
    }
  }
}

function bar (fraction) {
  const filled = Math.max(0, Math.min(BAR, Math.round(fraction * BAR)))
  return '█'.repeat(filled) + '░'.repeat(BAR - filled)
}

const fmt = (n) => Math.round(n).toLocaleString('en-US')

/** What the rounds of one configuration add up to. */
function createTally () {
  return { latencies: [], rates: [], seconds: 0, errors: 0, timeouts: 0, non2xx: 0, cpuMicros: 0 }
}

/**
 * Requests per second (the median of the rounds' rates, so one round
 * disturbed by other work on the machine does not move it), the p99 latency
 * (ms) of all responses, and the server's CPU time per request (µs), which
 * other work on the machine moves much less than it moves throughput.
 */
function summarize (tally) {
  const sorted = Float64Array.from(tally.latencies).sort()
  const p99 = sorted.length === 0 ? 0 : sorted[Math.ceil(sorted.length * 0.99) - 1]
  const rates = Float64Array.from(tally.rates).sort()
  const mid = rates.length >> 1
  const median = rates.length === 0 ? 0 : rates.length % 2 ? rates[mid] : (rates[mid - 1] + rates[mid]) / 2
  return {
    requests: sorted.length,
    seconds: tally.seconds,
    requestsPerSecond: median,
    roundRates: Array.from(tally.rates, Math.round),
    cpuPerRequestUs: sorted.length === 0 ? 0 : tally.cpuMicros / sorted.length,
    p99Ms: Math.round(p99 * 100) / 100,
    errors: tally.errors,
    timeouts: tally.timeouts,
    non2xx: tally.non2xx
  }
}

/**
 * Loads `http://127.0.0.1:port` for `seconds` with `connections`, adding
 * the responses to `tally` (when given). `describe(elapsed, responses)`
 * makes the progress text.
 * @returns {Promise<void>}
 */
function load ({ port, seconds, connections, tally = createTally(), progress, describe }) {
  return new Promise((resolve, reject) => {
    let responses = 0
    const started = Date.now()
    const instance = autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      duration: seconds,
      sampleInt: 100, // the run stops at the first sample after `duration`
      pipelining: 1,
      timeout: 10,
      requests: REQUESTS
    }, (err, result) => {
      clearInterval(ticker)
      if (err) return reject(err)
      const elapsed = result.duration || seconds
      tally.seconds += elapsed
      tally.rates.push(responses / elapsed)
      tally.errors += result.errors
      tally.timeouts += result.timeouts
      progress.line(describe(Math.min(seconds, (Date.now() - started) / 1000), responses))
      resolve()
    })
    instance.on('response', (client, statusCode, bytes, responseTime) => {
      responses++
      tally.latencies.push(responseTime)
      if (statusCode < 200 || statusCode > 299) tally.non2xx++
    })
    const ticker = setInterval(() => {
      progress.update(describe(Math.min(seconds, (Date.now() - started) / 1000), responses))
    }, 200)
  })
}

module.exports = { load, createTally, summarize, createProgress, bar, fmt, REQUESTS }
