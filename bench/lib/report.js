'use strict'

// Markdown for the results: one table per section and the targets table.
// The same text is printed by `npm run bench` and written to bench/RESULTS.md.

const { fmtNs, fmtRange, fmtRatio, fmtBytes, fmtInt } = require('./stats')

function table (header, rows) {
  const esc = (s) => String(s).replace(/\|/g, '\\|')
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)
  ]
}

/** "13.8 ns (13.3–14.9 ns) 2.37×" */
function cell (c, { floorId, id, ratio = true } = {}) {
  if (!c) return '—'
  if (c.median === undefined) return c.na === 'bound functions only' ? '—' : `*${c.na || 'n/a'}*`
  const r = ratio && c.ratio !== undefined ? ` **${fmtRatio(c.ratio)}**` : ''
  const floor = floorId && id === floorId ? ' (floor)' : ''
  return `${fmtNs(c.median)} (${fmtRange(c.p25, c.p75)})${r}${floor}`
}

/** A row that could not be measured: the reason's short form once, dashes after. */
function unavailableRow (row, columns) {
  const short = (row.reason || 'not available').replace(/\s*\(.*$/, '')
  return [row.label, `*${short}*`, ...Array(columns - 1).fill('—')]
}

function contextOpsTable (section, which = 'isolated') {
  const data = which === 'shared' ? section.shared : section
  const header = ['contender', ...data.ops.map((o) => o.label)]
  const rows = data.rows.map((row) => row.available === false
    ? unavailableRow(row, data.ops.length)
    : [row.label, ...data.ops.map((op) => cell(op.cells[row.id], { floorId: op.floor, id: row.id }))])
  return table(header, rows)
}

function contextOpsNotes (section) {
  const notes = []
  for (const row of section.rows) {
    if (row.note) notes.push(`- ${row.label}: ${row.note}.`)
    if (!row.available) notes.push(`- ${row.label}: ${row.reason}.`)
  }
  return notes
}

function propagationNotes (section) {
  const notes = []
  for (const row of section.rows) {
    if (!row.available) notes.push(`- ${row.label}: ${row.reason}.`)
    else if (row.id === 'ours-legacy-off') notes.push(`- ${row.label}: ${row.note}; its row is the cost of the operations with the manager loaded.`)
  }
  return notes
}

function propagationTable (section) {
  const header = ['contender', ...section.ops.map((o) => o.label)]
  const rows = section.rows.map((row) => row.available === false
    ? unavailableRow(row, section.ops.length)
    : [
        row.label,
        ...section.ops.map((op) => {
          const c = op.cells[row.id]
          let s = cell(c, { floorId: op.floor, id: row.id })
          if (c && c.propagates === false) s += ' ✗ not propagated'
          return s
        })
      ])
  return table(header, rows)
}

function segmentsTable (section) {
  const header = ['operation', ...section.stores.map((s) => s.label), 'ours / reference']
  const rows = section.ops.map((op) => [
    op.label,
    ...section.stores.map((s) => cell(op.cells[s.id], { ratio: false })),
    `**${fmtRatio(op.cells.ours.ratio)}**`
  ])
  return table(header, rows)
}

function memoryTable (section) {
  const header = ['contender', ...section.resources.map((r) => `${r.label}: bytes / resource (Δ vs no context)`), 'trace outlives its transaction', 'live counts after']
  const rows = section.contenders.map((c) => {
    const cells = section.resources.map((r) => {
      const m = section.table[r.id][c.id]
      const d = c.id === 'none' ? '' : ` (${m.overNone >= 0 ? '+' : ''}${fmtBytes(m.overNone)})`
      return `${fmtBytes(m.perResource)}${d}`
    })
    const retained = section.resources.map((r) => `${r.id}: ${section.table[r.id][c.id].traceRetained ? '**yes**' : 'no'}`).join(', ')
    const live = section.resources.map((r) => {
      const l = section.table[r.id][c.id].live
      if (c.id === 'none' || c.id === 'object-context') return null
      const parts = [`txn ${l.liveTransactions}`, `seg ${l.liveSegments}`]
      if (l.hookTableSize !== null) parts.push(`hook table ${fmtInt(l.hookTableSize)}`)
      return `${r.id}: ${parts.join(', ')}`
    }).filter(Boolean).join('; ') || '—'
    return [c.label, ...cells, retained, live]
  })
  return table(header, rows)
}

function throughputTable (section) {
  const ms = (v) => (v === 0 ? '< 1 ms' : `${v.toFixed(1)} ms`)
  const header = ['configuration', 'requests/s', 'of uninstrumented', 'p50 latency', 'p99 latency', 'server CPU / request', 'server CPU busy']
  const rows = section.configs.map((c) => {
    const t = section.table[c.id]
    return [
      c.label,
      fmtInt(t.rps),
      `**${(t.ofNone * 100).toFixed(1)} %**`,
      ms(t.p50),
      ms(t.p99),
      `${t.cpuPerRequestUs.toFixed(0)} µs (${fmtRatio(t.cpuOfNone)})`,
      `${(t.serverCpuShare * 100).toFixed(0)} %`
    ]
  })
  return table(header, rows)
}

function targetsTable (targets) {
  return table(['target', 'measured', 'limit', 'result'], targets.map((t) => [
    t.text, t.figure, t.limit, t.pass === null ? 'n/a' : t.pass ? 'PASS' : `**MISS**${t.by ? ` (${t.by})` : ''}`
  ]))
}

/** The markdown for one Node version's run (`peers: false` leaves that section out). */
function renderRun (r, { peers = true } = {}) {
  const s = r.sections
  const out = []
  out.push(`## Node ${r.node}${r.quick ? ' (--quick)' : ''}`)
  out.push('')
  out.push(`${r.cpu.model}, ${r.cpu.cores} cores; ${r.platform}; V8 ${r.v8}; ${r.date}; ${r.quick ? 'quick run' : 'full run'} took ${r.wallSeconds.toFixed(1)} s${r.loadAverage ? ` (1-minute load average ${r.loadAverage.start.toFixed(1)} at the start, ${r.loadAverage.end.toFixed(1)} at the end)` : ''}. AsyncLocalStorage on ${r.frameBased ? 'AsyncContextFrame' : 'async_hooks'}.`)
  if (r.code) {
    const changed = r.code.changedSinceCommit.length ? `, uncommitted changes in ${r.code.changedSinceCommit.join(', ')}` : ''
    out.push('')
    out.push(`Code measured: commit ${r.code.commit}${changed}; library hash ${r.code.libHash}${r.codeChangedDuringRun ? ' — **the library changed while this run was in progress**' : ''}.`)
  }
  out.push('')
  if (r.targets) {
    out.push('### Targets')
    out.push('')
    out.push(...targetsTable(r.targets))
    out.push('')
  }
  if (s.contextOps) {
    out.push('### 1. Context operations (ns per operation)')
    out.push('')
    out.push(`Median of the batch samples (p25–p75), **ratio to the floor**. Each contender in its own fresh process, ${s.contextOps.rounds} round(s), order reversed between rounds. The floor is raw AsyncLocalStorage; for bound functions the cheaper of its two ways (a closure around \`als.run\`, or \`AsyncLocalStorage.bind\`).`)
    out.push('')
    out.push(...contextOpsTable(s.contextOps))
    out.push('')
    out.push(...contextOpsNotes(s.contextOps))
    out.push('')
    out.push('All contenders in one process instead (every task warmed before any is measured, so Node\'s shared AsyncLocalStorage code has seen every instance; not used for the targets):')
    out.push('')
    out.push(...contextOpsTable(s.contextOps, 'shared'))
    out.push('')
  }
  if (s.propagation) {
    out.push('### 2. Async propagation (ns per operation, made inside a context)')
    out.push('')
    out.push(`Busy time per operation (scheduling plus running the callbacks; a timer's 1 ms wait excluded), median (p25–p75), **ratio to raw AsyncLocalStorage**. Each contender in its own fresh process, ${s.propagation.rounds} round(s). "✗ not propagated": the callback did not see the context.`)
    out.push('')
    out.push(...propagationTable(s.propagation))
    out.push('')
    out.push(...propagationNotes(s.propagation))
    out.push('')
  }
  if (s.segments) {
    out.push('### 3. Segments')
    out.push('')
    out.push(`Median (p25–p75). Output checked equal before measuring: ${s.segments.check.segments} segments, ${fmtInt(s.segments.check.bytes)} bytes of JSON, same trace as objects and as JSON (ids and clock origin aside). Each store in its own process, ${s.segments.rounds} round(s).`)
    out.push('')
    out.push(...segmentsTable(s.segments))
    out.push('')
  }
  if (s.memory) {
    const m = s.memory
    out.push('### 4. Memory retained by resources created in ended transactions')
    out.push('')
    out.push(`${fmtInt(m.count)} resources per process (fresh process, --expose-gc), ${m.perTransaction} per transaction, ${m.segmentsPerTransaction} segments per transaction; heapUsed after full GCs, after minus before, per resource; median of ${m.rounds} process(es) per cell.`)
    out.push('')
    out.push(...memoryTable(m))
    out.push('')
  }
  if (s.throughput) {
    const t = s.throughput
    out.push('### 5. HTTP throughput')
    out.push('')
    const segs = t.table.als ? t.table.als.segmentsPerTrace : 0
    out.push(`node:http on 127.0.0.1; per request a transaction of ${segs} segments (the root and 11 steps: awaits, two promise chains, three setImmediate waits, a nextTick, a setTimeout made in the request whose callback runs after the response, a render), ended with \`endTransaction\` when the response is sent; the uninstrumented handler does the same async work without manager or store calls. autocannon (as a library) with ${t.connections} connections, ${t.secondsPerConfig} s per configuration (${t.rounds} round(s) in alternating order, a fresh server process each, warm-up not counted). Server in a child process, autocannon in the parent process, 2 cores, no pinning: when the server is less than fully busy, the load generator shares the limit, so "server CPU / request" is the figure that isolates the instrumentation's cost. Latencies are autocannon's, in whole milliseconds.`)
    out.push('')
    out.push(...throughputTable(t))
    out.push('')
  }
  if (s.peers && peers) {
    out.push('### 6. Peers: cost per span')
    out.push('')
    out.push(...peersTables(s.peers))
    out.push('')
  }
  return out
}

/** "12.3 µs (11.9–12.8 µs)" for a stat of ns. */
function nsStat (st) {
  if (!st) return '—'
  return `${fmtNs(st.median)} (${fmtRange(st.p25, st.p75)})`
}

function bytesStat (st, { range = true } = {}) {
  if (!st) return '—'
  return range && st.n > 1 ? `${fmtBytes(st.median)} (${fmtBytes(st.p25)} – ${fmtBytes(st.p75)})` : fmtBytes(st.median)
}

function pct (st) {
  if (!st || !Number.isFinite(st.median)) return '—'
  return `${(st.median * 100).toFixed(1)} %`
}

function peerStatus (r) {
  if (r.status === 'unavailable') return `*not available: ${r.reason}*`
  if (r.status === 'failed') return `**FAILED**: ${r.reason}`
  return null
}

function wireCell (r) {
  if (r.baseline || r.floor) return '—'
  const c = r.wireCheck
  if (r.wireProblems) return `**${r.wireProblems} run(s) short**: ${fmtInt(c.got)} of ${fmtInt(c.made)} ${c.what}`
  const perSpan = r.cpu && r.cpu.wireBytesPerSpan ? `${fmtBytes(r.cpu.wireBytesPerSpan.median)} / span` : 'not encoded'
  return `${perSpan}; all arrived`
}

/** The peers section of one Node version: the table, the ratios, the notes. */
function peersTables (p) {
  const out = []
  const m = p.mode
  const load = p.loadAverage ? ` 1-minute load average ${p.loadAverage.start[0].toFixed(2)} at the start, ${p.loadAverage.end[0].toFixed(2)} at the end, ${p.cpus} cores.` : ''
  out.push(`${m.cpu.concurrency} transactions in flight, ${p.workload.spanCounts.join(' or ')} child spans each (alternately) nested up to 3 deep, 3 attributes a span, hops across \`await\`, \`setImmediate\` and \`setTimeout(0)\`, every transaction finished to the tracer's wire form. Each process: ${fmtInt(m.cpu.warmup)} transactions of warm-up, then ${fmtInt(m.cpu.transactions)} measured (CPU time of the load and the final flush, every thread); then ${fmtInt(m.open.transactions)} transactions held open with all their spans started; then a burst of ${fmtInt(m.burst.transactions)} transactions of ${m.burst.spans} spans opened, ended and flushed. Heap + external after forced GCs. ${m.rounds} rounds, a fresh process per contender and round, order rotated between rounds; **net** = contender − untraced of the same round, median over rounds (p25–p75). Per span figures count the transaction's root as a span. ${p.date}, ${p.quick ? 'quick' : 'full'} run, ${p.wallSeconds.toFixed(0)} s.${load}`)
  out.push('')
  const header = ['contender', 'span tree', 'net CPU / span', 'CPU / span', 'net heap + ext / open span', 'burst: net peak / txn', 'burst: net retained / txn', 'retained of peak', 'wire']
  const rows = p.rows.map((r) => {
    const bad = peerStatus(r)
    if (bad) return [r.label, bad, '—', '—', '—', '—', '—', '—', '—']
    const tree = r.verify && r.verify.ok ? `same (${r.verify.traces} traces, ${r.verify.spans} spans)` : (r.verify && r.verify.tree) || '—'
    return [
      r.ours ? `**${r.label}**` : r.label,
      tree,
      r.baseline ? '(baseline)' : `**${nsStat(r.cpu.netPerSpanNs)}**`,
      nsStat(r.cpu.grossPerSpanNs),
      r.baseline ? `(${bytesStat(r.open.grossPerSpan, { range: false })} gross)` : bytesStat(r.open.netPerSpan),
      r.baseline ? `(${bytesStat(r.burst.grossPeakPerTransaction, { range: false })} gross)` : bytesStat(r.burst.netPeakPerTransaction),
      r.baseline ? `(${bytesStat(r.burst.grossRetainedPerTransaction, { range: false })} gross)` : bytesStat(r.burst.netRetainedPerTransaction),
      r.baseline ? '—' : pct(r.burst.retainedOfPeak),
      wireCell(r)
    ]
  })
  out.push(...table(header, rows))
  out.push('')
  for (const [id, q] of Object.entries(p.ratios || {})) {
    const label = p.rows.find((r) => r.id === id).label
    const peer = (pid) => (pid ? p.rows.find((r) => r.id === pid).label : 'none')
    const mine = p.rows.find((r) => r.id === id)
    const ret = (r) => fmtBytes(r.burst.netRetainedPerTransaction.median)
    const peersRet = p.rows.filter((r) => r.status === 'ok' && !r.ours && !r.floor && !r.baseline && r.burst && r.burst.netRetainedPerTransaction)
      .sort((a, b) => a.burst.netRetainedPerTransaction.median - b.burst.netRetainedPerTransaction.median)
    const range = peersRet.length ? `the peers ${ret(peersRet[0])} (${peersRet[0].id}) to ${ret(peersRet[peersRet.length - 1])} (${peersRet[peersRet.length - 1].id})` : 'no peer measured'
    out.push(`- ${label}: net CPU per span **${fmtRatio(q.cpuOverFloor)} the floor**, **${fmtRatio(q.cpuOverBestPeer)} the best peer** (${peer(q.cpuBestPeer)}); heap per open span ${fmtRatio(q.openOverFloor)} the floor, ${fmtRatio(q.openOverBestPeer)} the best peer (${peer(q.openBestPeer)}); retained after the burst ${ret(mine)} a transaction (${range})${mine.storeCapacityAfter ? `, the store's table having grown to ${fmtInt(mine.storeCapacityAfter)} slots` : ''}.`)
  }
  const infos = p.rows.filter((r) => r.info && Object.keys(r.info).length)
  if (infos.length) out.push(`- Loaded: ${infos.map((r) => `${r.id}: ${Object.entries(r.info).map(([k, v]) => `${k} ${v}`).join(', ')}`).join('; ')}.`)
  for (const r of p.rows) {
    if (r.status === 'unavailable') out.push(`- ${r.label}: not available on this Node (${r.reason}).`)
    if (r.status === 'failed') out.push(`- ${r.label}: **failed** (${r.reason}); not compared.`)
  }
  return out
}

/** Medians of several Node versions' peers runs side by side. */
function peersSummary (list) {
  const ids = []
  for (const p of list) for (const r of p.rows) if (!ids.includes(r.id)) ids.push(r.id)
  const cellOf = (p, id, f) => {
    const r = p.rows.find((x) => x.id === id)
    if (!r) return '—'
    if (r.status !== 'ok') return r.status === 'failed' ? '**failed**' : '*n/a*'
    return f(r)
  }
  const out = []
  const nodes = list.map((p) => `Node ${p.node}${p.quick ? ' (quick)' : ''}`)
  const block = (title, f) => {
    out.push(`**${title}**`, '')
    const rows = ids.map((id) => {
      const r = list.map((p) => p.rows.find((x) => x.id === id)).find(Boolean)
      return [r.ours ? `**${r.label}**` : r.label, ...list.map((p) => cellOf(p, id, f))]
    })
    out.push(...table(['contender', ...nodes], rows), '')
  }
  block('Net CPU per span (median of rounds)', (r) => (r.baseline ? `(${fmtNs(r.cpu.grossPerSpanNs.median)} gross)` : fmtNs(r.cpu.netPerSpanNs.median)))
  block('Net heap + external per open span', (r) => (r.baseline ? `(${fmtBytes(r.open.grossPerSpan.median)} gross)` : fmtBytes(r.open.netPerSpan.median)))
  block('After the burst (1,000 transactions of 50 spans, ended, GC): net retained per transaction (of the peak)', (r) => (r.baseline ? `(${fmtBytes(r.burst.grossRetainedPerTransaction.median)} gross)` : `${fmtBytes(r.burst.netRetainedPerTransaction.median)} (${pct(r.burst.retainedOfPeak)})`))
  const ratioRows = []
  const ourIds = [...new Set(list.flatMap((p) => Object.keys(p.ratios || {})))]
  for (const id of ourIds) {
    const label = list.map((p) => p.rows.find((r) => r.id === id)).find(Boolean).label
    const name = (p, pid) => (pid ? p.rows.find((r) => r.id === pid).id : 'none')
    ratioRows.push([`${label}: net CPU ÷ floor`, ...list.map((p) => fmtRatio(p.ratios[id] && p.ratios[id].cpuOverFloor))])
    ratioRows.push([`${label}: net CPU ÷ best peer`, ...list.map((p) => (p.ratios[id] ? `${fmtRatio(p.ratios[id].cpuOverBestPeer)} (${name(p, p.ratios[id].cpuBestPeer)})` : '—'))])
    ratioRows.push([`${label}: heap per open span ÷ best peer`, ...list.map((p) => (p.ratios[id] ? `${fmtRatio(p.ratios[id].openOverBestPeer)} (${name(p, p.ratios[id].openBestPeer)})` : '—'))])
  }
  if (ratioRows.length) {
    out.push('**Ratios**', '')
    out.push(...table(['', ...nodes], ratioRows), '')
  }
  return out
}

/**
 * The README's short table (written between its bench markers by
 * `npm run bench`): per Node major of `list`, our AsyncLocalStorage
 * manager against the floor and the best peer, from the peers section.
 */
function peersReadme (list) {
  const ours = 'segment-context'
  const rows = []
  for (const p of list) {
    const r = p.rows.find((x) => x.id === ours)
    const floor = p.rows.find((x) => x.floor)
    const q = p.ratios && p.ratios[ours]
    if (!r || r.status !== 'ok' || !floor || floor.status !== 'ok' || !q) continue
    const best = p.rows.find((x) => x.id === q.cpuBestPeer)
    const bestOpen = p.rows.find((x) => x.id === q.openBestPeer)
    rows.push([
      `${p.node}${p.quick ? ' (quick)' : ''}, ${p.code ? p.code.commit : '?'}`,
      fmtNs(r.cpu.netPerSpanNs.median),
      `${fmtNs(floor.cpu.netPerSpanNs.median)} (${fmtRatio(q.cpuOverFloor)})`,
      best ? `${best.id} ${fmtNs(best.cpu.netPerSpanNs.median)} (${fmtRatio(q.cpuOverBestPeer)})` : '—',
      `${fmtBytes(r.open.netPerSpan.median)} (${fmtRatio(q.openOverFloor)} floor${bestOpen ? `, ${fmtRatio(q.openOverBestPeer)} ${bestOpen.id}` : ''})`,
      pct(r.burst.retainedOfPeak)
    ])
  }
  return table(['Node, commit measured', 'ours: net CPU / span', 'floor (ours ÷ floor)', 'best peer (ours ÷ it)', 'heap + ext / open span (ours ÷)', 'left after a burst, of its peak'], rows)
}

/**
 * The README's targets table (under the peers table, same markers): issue
 * 13's targets, one column per Node major, each met (✓) or missed (✗, by
 * how much). The peers targets come from `peersList` (as for
 * peersReadme), the finish targets from the same major's full run in
 * `runs` (its stored `targets`).
 */
function targetsReadme (peersList, runs) {
  const ours = 'segment-context'
  const cell = (value, limit, fmt, atLeast = false) => {
    if (value === null || value === undefined || !Number.isFinite(value)) return '—'
    const pass = atLeast ? value >= limit : value <= limit
    if (pass) return `✓ ${fmt(value)}`
    const off = atLeast ? `${((1 - value / limit) * 100).toFixed(0)} % short` : `${((value / limit - 1) * 100).toFixed(0)} % over`
    return `✗ ${fmt(value)} (${off})`
  }
  const columns = peersList.map((p) => {
    const major = String(Number(p.node.slice(1).split('.')[0]))
    const run = runs[major] || null
    const target = (id) => {
      const t = run && run.targets ? run.targets.find((x) => x.id === id) : undefined
      return t && Number.isFinite(t.value) ? t.value : null
    }
    const r = p.rows.find((x) => x.id === ours)
    const q = (p.ratios && p.ratios[ours]) || {}
    const ok = r && r.status === 'ok'
    const faster = (v) => (v === null ? null : 1 / v)
    return {
      head: p.node,
      commits: `peers ${p.code ? p.code.commit : '?'}, finish ${run && run.code ? run.code.commit : '—'}`,
      cells: [
        cell(q.cpuOverFloor, 2, fmtRatio),
        cell(q.cpuOverBestPeer, 0.25, fmtRatio),
        cell(q.openOverFloor, 2, fmtRatio),
        cell(ok ? r.burst.retainedOfPeak.median * 100 : null, 10, (v) => `${v.toFixed(1)} %`),
        cell(target('end50-json-per-segment'), 150, fmtNs),
        cell(faster(target('end50-json-vs-stringify')), 4, fmtRatio, true),
        cell(faster(target('end50-object-vs-reference')), 4, fmtRatio, true)
      ]
    }
  })
  const names = [
    'net CPU per span ÷ floor ≤ 2×',
    'net CPU per span ÷ best peer ≤ 0.25×',
    'heap + ext per open span ÷ floor ≤ 2×',
    'left after a burst ≤ 10 % of its peak',
    'end → JSON ≤ 150 ns per segment (50 segments)',
    '`endTransactionJSON` ÷ `JSON.stringify(endTransaction())`: ≥ 4× faster',
    '`endTransaction` objects ÷ plain-JS reference: ≥ 4× faster'
  ]
  const rows = [['commits measured', ...columns.map((c) => c.commits)], ...names.map((n, i) => [n, ...columns.map((c) => c.cells[i])])]
  return table(['target', ...columns.map((c) => c.head)], rows)
}

module.exports = { targetsReadme, peersReadme, peersTables, peersSummary, renderRun, targetsTable, contextOpsTable, propagationTable, segmentsTable, memoryTable, throughputTable, table }
