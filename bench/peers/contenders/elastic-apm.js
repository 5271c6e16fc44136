'use strict'

// Peer benchmark contenders: Elastic's elastic-apm-node, two ways (make()).
//   disableSend: true   transactions and spans are still built and ended,
//                       each encoded into its intake payload object and
//                       passed through the filters, then dropped by the
//                       no-op client: no NDJSON, gzip or HTTP send (no wire
//                       encoding at all)
//   send                the same agent sending to the parent's loopback
//                       sink as if it were an APM Server (NDJSON, gzip,
//                       HTTP), apmServerVersion given so it does not ask
// Central config, cloud metadata, metrics and logging are off.
// Spans the way Elastic's own instrumentations make them: createSpan on
// the agent's instrumentation, then the work run with withRunContext in
// currRunContext().enterSpan(span) (the public apm.startSpan instead makes
// the span current for the rest of the caller's async task, which gives
// parallel siblings the wrong parent); three span.setLabel calls (typed
// values kept); span.end() when the work settles. A transaction is
// createTransaction + withRunContext(enterTrans), trans.end() at the end.
//
// Span and transaction filters count what was built; in verify runs they
// keep the payloads, which traces() turns into span trees.

const zlib = require('node:zlib')
const { version, unavailable } = require('../packages')

/** The transaction and span events in the intake requests the sink kept. */
function intakeEvents (sinkBodies) {
  const events = []
  for (const { path: p, headers, body } of sinkBodies) {
    if (!p.startsWith('/intake/')) continue
    const text = (headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(body) : body).toString('utf8')
    for (const line of text.split('\n')) {
      if (!line) continue
      const e = JSON.parse(line)
      if (e.span) events.push({ kind: 'span', payload: e.span })
      else if (e.transaction) events.push({ kind: 'transaction', payload: e.transaction })
    }
  }
  return events
}

/** Span trees from intake events ({ kind: 'span' | 'transaction', payload }). */
function trees (events) {
  const byTrace = new Map()
  for (const e of events) {
    if (!byTrace.has(e.payload.trace_id)) byTrace.set(e.payload.trace_id, [])
    byTrace.get(e.payload.trace_id).push(e)
  }
  return [...byTrace.values()].map((list) => {
    const names = new Map(list.map((e) => [e.payload.id, e.payload.name]))
    return list.map(({ kind, payload }) => ({
      name: payload.name,
      parent: kind === 'transaction' && !payload.parent_id ? null : names.get(payload.parent_id) ?? `?${payload.parent_id}`,
      attributes: Object.keys((payload.context && payload.context.tags) || {}).filter((k) => k.startsWith('bench_')).length
    }))
  })
}

const make = ({ id, send }) => ({
  id,
  get label () {
    return `elastic-apm-node ${version('elastic-apm-node')} (${send ? 'NDJSON + gzip to a loopback sink' : 'disableSend: built, not encoded'})`
  },
  wire: send ? 'sink' : 'none',
  env: {
    ELASTIC_APM_SERVER_URL: undefined,
    ELASTIC_APM_ACTIVE: undefined
  },
  available: () => unavailable(['elastic-apm-node']),
  async create ({ verify, sinkUrl }) {
    const apm = require('elastic-apm-node').start({
      serviceName: 'peer-bench',
      // The send variant's queue is raised from 1,024 events, past which
      // the client drops events (under this load it would drop most of them).
      ...(send ? { serverUrl: sinkUrl, apmServerVersion: '8.15.0', maxQueueSize: 1e6 } : { disableSend: true }),
      centralConfig: false,
      metricsInterval: '0s',
      cloudProvider: 'none',
      captureExceptions: false,
      logLevel: process.env.PEER_ELASTIC_LOG || 'off'
    })
    const ins = apm._instrumentation
    if (!ins || typeof ins.withRunContext !== 'function' || typeof ins.createSpan !== 'function') {
      throw new Error('elastic-apm-node: no _instrumentation.withRunContext/createSpan')
    }
    let spans = 0
    const kept = verify ? [] : null
    const keep = (kind) => (payload) => {
      spans++
      if (kept !== null) kept.push({ kind, payload })
      return payload
    }
    apm.addSpanFilter(keep('span'))
    apm.addTransactionFilter(keep('transaction'))
    return {
      info: { contextManager: ins._runCtxMgr && ins._runCtxMgr.constructor.name },
      tracer: {
        transaction (name, work) {
          const trans = ins.createTransaction(name, 'request')
          return ins.withRunContext(ins.currRunContext().enterTrans(trans), work).then(() => trans.end())
        },
        span (name, s, n, b, work) {
          const span = ins.createSpan(name, 'app')
          span.setLabel('bench_s', s, false)
          span.setLabel('bench_n', n, false)
          span.setLabel('bench_b', b, false)
          return ins.withRunContext(ins.currRunContext().enterSpan(span), work).then(() => span.end())
        }
      },
      flush: () => new Promise((resolve) => apm.flush(() => resolve())),
      wire: () => ({ bytes: null, spans, dropped: apm._apmClient && apm._apmClient._numEventsDropped, client: apm._apmClient && apm._apmClient._getStats && apm._apmClient._getStats() }),
      traces: kept && (() => trees(kept))
    }
  },
  /** The send variant: the span trees in the NDJSON the sink received. */
  decode: send ? ({ sinkBodies }) => trees(intakeEvents(sinkBodies)) : undefined,
  /** The send variant: transactions and spans (roots included) the sink received. */
  count: send
    ? ({ sinkBodies }) => {
        const events = intakeEvents(sinkBodies)
        return { spans: events.length, transactions: events.filter((e) => e.kind === 'transaction').length }
      }
    : undefined,
  /** Bytes of intake payloads in a sink snapshot. */
  sinkBytes (sink) {
    let n = 0
    for (const [p, e] of Object.entries(sink.byPath)) if (p.startsWith('/intake/')) n += e.bytes
    return n
  }
})

module.exports = { make }
