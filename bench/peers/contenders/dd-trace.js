'use strict'

// Peer benchmark contender: Datadog's dd-trace with no agent. It is pointed
// at the parent's loopback sink (bench/peers/spawn.js), an HTTP server that
// accepts and discards what it is sent and counts the bytes, so span
// processing, msgpack encoding and the HTTP send all run as they would
// against a local agent. Integrations are off (`plugins: false`: the
// workload uses none); telemetry, remote configuration, runtime metrics,
// profiling and the crash tracker are off, so nothing else talks to the
// sink or runs in the background. Spans through tracer.trace(name, fn) (the
// span is active while fn runs, finished when its promise settles), three
// span.setTag calls; a transaction is a root tracer.trace. flush() is what
// dd-trace runs before exit (its exporter's flush), once per phase; between
// flushes it sends on its own 2 s interval, as configured by default.
//
// decode() (in the parent) reads the spans back out of the sink's
// /v0.4/traces payloads: proof that the encoder ran and what it wrote.

const msgpack = require('../msgpack')
const { version: pkgVersion, unavailable } = require('../packages')

module.exports = {
  id: 'dd-trace',
  get label () {
    return `dd-trace ${pkgVersion('dd-trace')} (msgpack to a loopback sink)`
  },
  wire: 'sink',
  env: {
    DD_TRACE_TELEMETRY_ENABLED: 'false',
    DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
    DD_REMOTE_CONFIGURATION_ENABLED: 'false',
    DD_RUNTIME_METRICS_ENABLED: 'false',
    DD_PROFILING_ENABLED: 'false',
    DD_CRASHTRACKING_ENABLED: 'false',
    DD_TRACE_STARTUP_LOGS: 'false',
    DD_SERVICE: 'peer-bench',
    DD_ENV: undefined,
    DD_TRACE_AGENT_URL: undefined,
    DD_AGENT_HOST: undefined
  },
  available: () => unavailable(['dd-trace']),
  async create ({ sinkUrl }) {
    const dd = require('dd-trace').init({ url: sinkUrl, plugins: false, startupLogs: false })
    const exporter = dd._tracer && dd._tracer._exporter
    if (!exporter || typeof exporter.flush !== 'function') throw new Error('dd-trace: no exporter with flush() found (dd._tracer._exporter)')
    let spans = 0
    const exportSpans = exporter.export.bind(exporter)
    exporter.export = (list) => {
      spans += list.length
      return exportSpans(list)
    }
    return {
      info: { protocol: exporter._writer && exporter._writer._protocolVersion },
      tracer: {
        transaction (name, work) {
          return dd.trace(name, (span) => work())
        },
        span (name, s, n, b, work) {
          return dd.trace(name, (span) => {
            span.setTag('bench_s', s)
            span.setTag('bench_n', n)
            span.setTag('bench_b', b)
            return work()
          })
        }
      },
      flush: () => new Promise((resolve) => exporter.flush(() => resolve())),
      wire: () => ({ bytes: null, spans }),
      traces: null
    }
  },
  /** The span trees in the sink's trace payloads. */
  decode ({ sinkBodies }) {
    const traces = new Map()
    for (const { path: p, body } of sinkBodies) {
      if (!/^\/v0\.[45]\/traces$/.test(p)) continue
      if (p !== '/v0.4/traces') throw new Error(`dd-trace sent ${p}; only /v0.4/traces is decoded`)
      for (const trace of msgpack.decode(body)) {
        for (const sp of trace) {
          const id = String(sp.trace_id)
          if (!traces.has(id)) traces.set(id, [])
          traces.get(id).push(sp)
        }
      }
    }
    return [...traces.values()].map((list) => {
      const names = new Map(list.map((sp) => [String(sp.span_id), sp.name]))
      return list.map((sp) => {
        const keys = [...Object.keys(sp.meta || {}), ...Object.keys(sp.metrics || {})]
        const parent = String(sp.parent_id)
        return {
          name: sp.name,
          parent: parent === '0' ? null : names.get(parent) ?? `?${parent}`,
          attributes: keys.filter((k) => k.startsWith('bench_')).length
        }
      })
    })
  },
  /**
   * What reached the sink: traces, from the count dd-trace writes in each
   * payload's X-Datadog-Trace-Count header (a dropped payload drops whole
   * traces, so traces received = transactions made when nothing was lost).
   */
  count ({ sinkBodies }) {
    let traces = 0
    for (const { path: p, headers } of sinkBodies) {
      if (/\/traces$/.test(p)) traces += Number(headers['x-datadog-trace-count'] || 0)
    }
    return { transactions: traces }
  },
  /** Bytes of trace payloads in a sink snapshot. */
  sinkBytes (sink) {
    let n = 0
    for (const [p, e] of Object.entries(sink.byPath)) if (/\/traces$/.test(p)) n += e.bytes
    return n
  }
}
