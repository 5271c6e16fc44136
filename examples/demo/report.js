'use strict'

// What npm start prints: the throughput table, the correctness table, a
// waterfall of one finished trace per instrumented configuration, and the
// verdict. Plain text, no colours, so the same output reads in a terminal,
// a CI log and the README.

const WIDTH = 50 // columns of the waterfall's time axis
const NAME = 34 // columns of the waterfall's name column
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉']

const int = (n) => (n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US'))
/** A duration: ms with two decimals, or whole µs below 1 ms. */
function ms (n) {
  if (n >= 1 || n === 0) return `${n.toFixed(2)} ms`
  return n < 0.0005 ? '<1 µs' : `${Math.round(n * 1000)} µs`
}
const pct = (r) => (r === null || r === undefined ? '-' : `${(r * 100).toFixed(1)} %`)

/** Rows of cells, left-aligned in the first column, right-aligned after. */
function table (header, rows, indent = '  ') {
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)))
  return all.map((r) => indent + r.map((cell, i) =>
    i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i])).join('   ').trimEnd()).join('\n')
}

/**
 * A bar from `from` to `to` (fractions of the axis), to the eighth of a
 * column at its end. The start is drawn at the column it falls in.
 */
function barOf (from, to) {
  const first = Math.min(WIDTH - 1, Math.floor(from * WIDTH))
  const end = Math.max(first * 8 + 1, Math.min(WIDTH * 8, Math.round(to * WIDTH * 8)))
  const eighths = end - first * 8
  const bar = '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]
  return (' '.repeat(first) + bar).padEnd(WIDTH)
}

/** Segments in tree order (children by start time), with their depth. */
function treeOrder (trace) {
  const children = new Map()
  for (const s of trace.segments.slice(1)) {
    if (!children.has(s.parentId)) children.set(s.parentId, [])
    children.get(s.parentId).push(s)
  }
  const out = []
  const walk = (s, depth) => {
    out.push({ s, depth })
    for (const c of (children.get(s.id) || []).sort((a, b) => a.start - b.start)) walk(c, depth + 1)
  }
  walk(trace.segments[0], 0)
  return out
}

function fit (text, width) {
  return text.length <= width ? text.padEnd(width) : text.slice(0, width - 1) + '…'
}

/** A finished trace drawn to scale: one bar per segment, with duration and exclusive time. */
function waterfall (trace) {
  const total = trace.duration > 0 ? trace.duration : 1
  const lines = []
  const axisEnd = ms(trace.duration)
  lines.push(`    ${'segment'.padEnd(NAME)} ${'0 ms'.padEnd(WIDTH - axisEnd.length)}${axisEnd}  ${'duration'.padStart(9)}  ${'exclusive'.padStart(9)}`)
  for (const { s, depth } of treeOrder(trace)) {
    const name = fit('  '.repeat(depth) + s.name, NAME)
    const mark = s.truncated ? ' (open at the end)' : ''
    lines.push(`    ${name} ${barOf(s.start / total, (s.start + s.duration) / total)}  ` +
      `${ms(s.duration).padStart(9)}  ${ms(s.exclusive).padStart(9)}${mark}`)
  }
  return lines.join('\n')
}

/** The failures of one configuration's report, as short phrases. */
function problemsOf (c) {
  const p = []
  if (c.errors + c.non2xx !== 0) p.push(`${c.errors + c.non2xx} failed requests (errors, timeouts or non-2xx responses)`)
  if (c.name === 'none') return p
  if (c.conflations !== 0) p.push(`${c.conflations} conflated segments`)
  if (c.lostContexts !== 0) p.push(`${c.lostContexts} lost contexts`)
  if (c.backgroundLeaks !== 0) p.push(`${c.backgroundLeaks} background runs in a request's context`)
  if (c.liveTransactions !== 0 || c.liveSegments !== 0) {
    p.push(`${c.liveTransactions} live transactions and ${c.liveSegments} live segments after draining`)
  }
  if (c.storeProblems !== 0) p.push(`${c.storeProblems} store invariants broken`)
  return p
}

/** The whole text report. */
function render ({ header, configurations, options }) {
  const out = []
  const baseline = configurations.find((c) => c.name === 'none')
  const instrumented = configurations.filter((c) => c.name !== 'none')

  out.push('')
  out.push('Throughput and latency under load (req/s: median of the 1-second rounds; p99: of all responses;')
  out.push('CPU/req: the server process\'s CPU time per request, less sensitive to other work on the machine)')
  out.push(table(
    ['configuration', 'req/s', 'vs none', 'p99', 'vs none', 'CPU/req', 'vs none', 'requests', 'errors'],
    configurations.map((c) => [
      c.name === 'none' ? 'none (no agent)' : `${c.name} (${c.manager})`,
      int(c.requestsPerSecond),
      pct(c.relativeThroughput),
      ms(c.p99Ms),
      baseline && baseline.p99Ms > 0 ? pct(c.p99Ms / baseline.p99Ms) : '-',
      `${int(c.cpuPerRequestUs)} µs`,
      pct(c.relativeCpuPerRequest),
      int(c.requests),
      int(c.errors + c.non2xx)
    ])))

  if (instrumented.length > 0) {
    out.push('')
    out.push('Correctness: every finished trace checked; records counted after the load drained')
    out.push(table(
      ['configuration', 'transactions', 'segments', 'conflations', 'lost contexts', 'live txn', 'live seg', 'heap before → after'],
      instrumented.map((c) => [
        c.name,
        int(c.transactions),
        int(c.segments),
        int(c.conflations),
        int(c.lostContexts),
        int(c.liveTransactions),
        int(c.liveSegments),
        `${c.heapBeforeMB.toFixed(1)} → ${c.heapAfterMB.toFixed(1)} MB`
      ])))
    if (baseline) out.push(`  (none, for comparison: heap ${baseline.heapBeforeMB.toFixed(1)} → ${baseline.heapAfterMB.toFixed(1)} MB)`)
  }

  for (const c of instrumented) {
    out.push('')
    if (c.trace === null) {
      out.push(`${c.name}: no finished ${header.waterfallRoute} trace to draw`)
      continue
    }
    const t = c.trace
    out.push(`Waterfall, ${c.name}: a typical ${t.name}, the median of ${c.traceSamples} sampled under load ` +
      `(${t.segmentCount} segments, ${ms(t.duration)}; trace ${t.traceId})`)
    out.push(waterfall(t))
  }

  out.push('')
  const failures = configurations.flatMap((c) => problemsOf(c).map((p) => `${c.name}: ${p}`))
  if (failures.length === 0) {
    const segments = instrumented.reduce((n, c) => n + c.segments, 0)
    out.push(`OK: ${int(segments)} segments, each in its own request's trace; nothing lost; ` +
      'no transaction or segment left in the store after the load.')
  } else {
    out.push('FAILED:')
    for (const f of failures) out.push(`  ${f}`)
    for (const c of instrumented) {
      if (c.firstConflation !== null) out.push(`  ${c.name}, first conflation: ${JSON.stringify(c.firstConflation)}`)
    }
  }
  out.push('')
  out.push('What this shows. Each request ran through await chains, promise chains, timers, a body read')
  out.push('from the request stream, a connection pool and a queue made at start-up, beside a background')
  out.push(`job started during a request, ${options.connections} requests at a time. The app labels every segment with the`)
  out.push('id of the request its own code is serving; the context manager alone decides which trace the')
  out.push('segment lands in. A mixed-up context (a pool callback run inside another request) would show')
  out.push('as conflations, a dropped one as lost contexts, a leak as live records. The app does little')
  out.push('work of its own per request, so the cost columns are the managers\' cost on a busy, thin server.')
  return out.join('\n')
}

module.exports = { render, waterfall, problemsOf, barOf }
