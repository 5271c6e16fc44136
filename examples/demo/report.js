'use strict'

// What npm start prints: the throughput table, the comparison with
// OpenTelemetry's SDK, the correctness table, a waterfall of one finished
// trace per configuration of ours, and the verdict. Plain text, no colours, so the same output reads in a terminal,
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
const round = (n, digits) => Math.round(n * 10 ** digits) / 10 ** digits
/** `a / b` to 3 decimals; null when `b` is no cost to compare with. */
const ratio = (a, b) => (b > 0 ? round(a / b, 3) : null)
/** A signed figure: +1.25, -0.40. */
const signed = (n, digits) => `${n < 0 ? '-' : '+'}${Math.abs(n).toFixed(digits)}`

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
  if (c.name === 'otel') return p.concat(otelProblemsOf(c))
  if (c.conflations !== 0) p.push(`${c.conflations} conflated segments`)
  if (c.lostContexts !== 0) p.push(`${c.lostContexts} lost contexts`)
  if (c.backgroundLeaks !== 0) p.push(`${c.backgroundLeaks} background runs in a request's context`)
  if (c.liveTransactions !== 0 || c.liveSegments !== 0) {
    p.push(`${c.liveTransactions} live transactions and ${c.liveSegments} live segments after draining`)
  }
  if (c.storeProblems !== 0) p.push(`${c.storeProblems} store invariants broken`)
  return p
}

/**
 * The OpenTelemetry run's failures: its spans checked as they were exported
 * (otel-instrumentation.js): some exported, each request's child spans under
 * their parent in the request's own trace, none lost, late or dropped.
 */
function otelProblemsOf (c) {
  const p = []
  const o = c.otel
  if (!o || o.spansExported === 0) return ['no spans exported']
  if (o.requestSpans === 0) p.push('no request span exported')
  else if (o.childSpans === 0) p.push('no child span exported under the request spans')
  if (c.conflations !== 0) p.push(`${c.conflations} spans in another request's trace`)
  if (c.lostContexts !== 0) p.push(`${c.lostContexts} lost contexts (units of work with no active span)`)
  if (c.backgroundLeaks !== 0) p.push(`${c.backgroundLeaks} background runs in a request's context`)
  if (o.orphanSpans !== 0) p.push(`${o.orphanSpans} spans whose parent is not in their trace`)
  if (o.unrootedSpans !== 0) p.push(`${o.unrootedSpans} spans exported after their trace's root span, or with no root`)
  if (o.droppedSpans !== 0) p.push(`${o.droppedSpans} spans started and never exported`)
  return p
}

/**
 * Ours (the ALS manager, else the legacy one) against OpenTelemetry's SDK, on
 * the figures of the table: the median req/s, p99 and CPU/req, each as what
 * it adds to the uninstrumented baseline. `skipped`: why the OpenTelemetry
 * configuration did not run (every figure is then null).
 */
function compareWithOtel (configurations, skipped = null) {
  const baseline = configurations.find((c) => c.name === 'none')
  const ours = configurations.find((c) => c.name === 'als') || configurations.find((c) => c.name === 'legacy')
  const otel = configurations.find((c) => c.name === 'otel')
  const out = {
    skipped,
    ours: null,
    oursManager: null,
    otelVersion: null,
    otelVerified: null,
    otelSpans: null,
    otelExportedBytes: null,
    baselineRequestsPerSecond: null,
    oursRequestsPerSecond: null,
    otelRequestsPerSecond: null,
    oursRelativeThroughput: null,
    otelRelativeThroughput: null,
    oursThroughputCostPercent: null,
    otelThroughputCostPercent: null,
    overheadRatio: null,
    baselineP99Ms: null,
    oursP99Ms: null,
    otelP99Ms: null,
    oursAddedP99Ms: null,
    otelAddedP99Ms: null,
    latencyOverheadRatio: null,
    oursAddedCpuPerRequestUs: null,
    otelAddedCpuPerRequestUs: null,
    cpuOverheadRatio: null
  }
  if (!baseline || !ours || !otel) {
    if (out.skipped === null) out.skipped = 'no OpenTelemetry configuration ran'
    return out
  }
  const cost = (c) => (1 - c.requestsPerSecond / baseline.requestsPerSecond) * 100
  const addedP99 = (c) => c.p99Ms - baseline.p99Ms
  const addedCpu = (c) => c.cpuPerRequestUs - baseline.cpuPerRequestUs
  return {
    ...out,
    ours: ours.name,
    oursManager: ours.manager,
    otelVersion: otel.otel ? otel.otel.version : null,
    otelVerified: problemsOf(otel).length === 0,
    otelSpans: otel.otel ? otel.otel.spansExported : 0,
    otelExportedBytes: otel.otel ? otel.otel.exportedBytes : 0,
    baselineRequestsPerSecond: baseline.requestsPerSecond,
    oursRequestsPerSecond: ours.requestsPerSecond,
    otelRequestsPerSecond: otel.requestsPerSecond,
    oursRelativeThroughput: ours.relativeThroughput,
    otelRelativeThroughput: otel.relativeThroughput,
    oursThroughputCostPercent: round(cost(ours), 1),
    otelThroughputCostPercent: round(cost(otel), 1),
    overheadRatio: ratio(cost(ours), cost(otel)),
    baselineP99Ms: baseline.p99Ms,
    oursP99Ms: ours.p99Ms,
    otelP99Ms: otel.p99Ms,
    oursAddedP99Ms: round(addedP99(ours), 2),
    otelAddedP99Ms: round(addedP99(otel), 2),
    latencyOverheadRatio: ratio(addedP99(ours), addedP99(otel)),
    oursAddedCpuPerRequestUs: Math.round(addedCpu(ours)),
    otelAddedCpuPerRequestUs: Math.round(addedCpu(otel)),
    cpuOverheadRatio: ratio(addedCpu(ours), addedCpu(otel))
  }
}

/** The comparison as one line (or the note that it was skipped, and why). */
function comparisonLine (k) {
  if (k.ours === null) return `vs OpenTelemetry SDK: comparison skipped, ${k.skipped}`
  const r = k.overheadRatio === null ? 'n/a: OpenTelemetry cost nothing measurable' : k.overheadRatio.toFixed(2)
  return `vs OpenTelemetry SDK ${k.otelVersion}: ours (${k.ours}) costs ${k.oursThroughputCostPercent.toFixed(1)}% ` +
    `of baseline throughput, OpenTelemetry ${k.otelThroughputCostPercent.toFixed(1)}% (ours/otel overhead ratio ${r}); ` +
    `p99 ${signed(k.oursAddedP99Ms, 2)} ms vs ${signed(k.otelAddedP99Ms, 2)} ms, ` +
    `CPU/req ${signed(k.oursAddedCpuPerRequestUs, 0)} µs vs ${signed(k.otelAddedCpuPerRequestUs, 0)} µs`
}

/** The whole text report. */
function render ({ header, configurations, options, comparison = compareWithOtel(configurations, header.otelSkipped) }) {
  const out = []
  const baseline = configurations.find((c) => c.name === 'none')
  const instrumented = configurations.filter((c) => c.name !== 'none')
  const ours = instrumented.filter((c) => c.name !== 'otel')
  const otel = instrumented.find((c) => c.name === 'otel')
  const label = (c) => {
    if (c.name === 'none') return 'none (no agent)'
    if (c.name === 'otel') return `otel (OpenTelemetry SDK ${c.otel ? c.otel.version : '?'})`
    return `${c.name} (${c.manager})`
  }

  out.push('')
  out.push('Throughput and latency under load (req/s: median of the 1-second rounds; p99: of all responses;')
  out.push('CPU/req: the server process\'s CPU time per request, less sensitive to other work on the machine)')
  out.push(table(
    ['configuration', 'req/s', 'vs none', 'p99', 'vs none', 'CPU/req', 'vs none', 'requests', 'errors'],
    configurations.map((c) => [
      label(c),
      int(c.requestsPerSecond),
      pct(c.relativeThroughput),
      ms(c.p99Ms),
      baseline && baseline.p99Ms > 0 ? pct(c.p99Ms / baseline.p99Ms) : '-',
      `${int(c.cpuPerRequestUs)} µs`,
      pct(c.relativeCpuPerRequest),
      int(c.requests),
      int(c.errors + c.non2xx)
    ])))
  out.push('')
  out.push(comparisonLine(comparison))

  if (instrumented.length > 0) {
    out.push('')
    out.push(`Correctness: every finished trace checked${otel ? ' (otel: every exported span)' : ''}; ` +
      'records counted after the load drained')
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
    if (otel && otel.otel) {
      out.push(`  (otel: segments are spans; ${int(otel.otel.spansExported)} exported in ${int(otel.otel.exportBatches)} batches, ` +
        `${(otel.otel.exportedBytes / 1048576).toFixed(1)} MB of OTLP/JSON; no store, so no live records to count)`)
    }
  }

  for (const c of ours) {
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
    const segments = ours.reduce((n, c) => n + c.segments, 0)
    if (ours.length > 0) {
      out.push(`OK: ${int(segments)} segments, each in its own request's trace; nothing lost; ` +
        'no transaction or segment left in the store after the load.')
    } else {
      out.push('OK')
    }
    if (otel) {
      out.push(`OK, OpenTelemetry: ${int(otel.otel.spansExported)} spans exported, each request's child spans under ` +
        'their parent in the request\'s own trace; none lost, late or dropped.')
    }
  } else {
    out.push('FAILED:')
    for (const f of failures) out.push(`  ${f}`)
    for (const c of instrumented) {
      if (c.firstConflation !== null) out.push(`  ${c.name}, first conflation: ${JSON.stringify(c.firstConflation)}`)
      if (c.otel && c.otel.firstOrphan !== null) out.push(`  ${c.name}, first orphan span: ${JSON.stringify(c.otel.firstOrphan)}`)
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
  if (otel) {
    out.push('The otel row is the same app on OpenTelemetry\'s SDK as an application would set it up: the same')
    out.push('spans with the same attributes, a BatchSpanProcessor, each batch serialized as OTLP/JSON and dropped.')
  }
  return out.join('\n')
}

module.exports = { render, waterfall, problemsOf, compareWithOtel, comparisonLine, barOf }
