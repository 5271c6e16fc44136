'use strict'

// Peer benchmark contender: the OpenTelemetry SDK as an application would
// set it up. BasicTracerProvider with a BatchSpanProcessor, context through
// @opentelemetry/context-async-hooks (its AsyncLocalStorageContextManager,
// the 2.x line that matches sdk-trace-base 2), and an in-process exporter
// that serializes each batch exactly as the OTLP/JSON HTTP exporter would
// send it (@opentelemetry/otlp-transformer's JsonTraceSerializer), counts the
// bytes and drops them. Spans through tracer.startActiveSpan (the span is
// active while its work runs), three setAttribute calls, span.end() when the
// work settles. A transaction is a root span (startActiveSpan with root: true).
//
// The processor's queue is raised from 2,048 to 65,536 spans so that the
// 1,000-transaction burst is not dropped (the default would drop most of it,
// doing less work); the batch size and delay keep their defaults.

const { version, unavailable } = require('../packages')

const CONTEXT_PACKAGE = 'otel-context-async-hooks-2'
const MAX_QUEUE = 65536

module.exports = {
  id: 'opentelemetry',
  get label () {
    return `OpenTelemetry SDK ${version('@opentelemetry/sdk-trace-base')} (BatchSpanProcessor, OTLP/JSON)`
  },
  wire: 'child',
  available: () => unavailable(['@opentelemetry/api', '@opentelemetry/sdk-trace-base', '@opentelemetry/otlp-transformer', CONTEXT_PACKAGE]),
  async create ({ verify }) {
    const api = require('@opentelemetry/api')
    const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base')
    const { AsyncLocalStorageContextManager } = require(CONTEXT_PACKAGE)
    const { JsonTraceSerializer } = require('@opentelemetry/otlp-transformer')

    let bytes = 0
    let spans = 0
    const kept = verify ? [] : null
    const exporter = {
      export (batch, done) {
        const body = JsonTraceSerializer.serializeRequest(batch)
        bytes += body.byteLength
        spans += batch.length
        if (kept !== null) kept.push(Buffer.from(body).toString('utf8'))
        done({ code: 0 })
      },
      shutdown: async () => {},
      forceFlush: async () => {}
    }
    const processor = new BatchSpanProcessor(exporter, { maxQueueSize: MAX_QUEUE })
    const provider = new BasicTracerProvider({ spanProcessors: [processor] })
    api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    api.trace.setGlobalTracerProvider(provider)
    const tracer = api.trace.getTracer('peer-bench', '1.0.0')

    const ROOT = { root: true }
    return {
      info: { contextManager: `${CONTEXT_PACKAGE} ${version(CONTEXT_PACKAGE)}`, transformer: version('@opentelemetry/otlp-transformer') },
      tracer: {
        transaction (name, work) {
          return tracer.startActiveSpan(name, ROOT, (span) => work().then(() => span.end()))
        },
        span (name, s, n, b, work) {
          return tracer.startActiveSpan(name, (span) => {
            span.setAttribute('bench_s', s)
            span.setAttribute('bench_n', n)
            span.setAttribute('bench_b', b)
            return work().then(() => span.end())
          })
        }
      },
      flush: () => provider.forceFlush(),
      wire: () => ({ bytes, spans }),
      traces: kept && (() => {
        const byTrace = new Map()
        for (const body of kept) {
          for (const rs of JSON.parse(body).resourceSpans) {
            for (const ss of rs.scopeSpans) {
              for (const sp of ss.spans) {
                if (!byTrace.has(sp.traceId)) byTrace.set(sp.traceId, [])
                byTrace.get(sp.traceId).push(sp)
              }
            }
          }
        }
        return [...byTrace.values()].map((list) => {
          const names = new Map(list.map((sp) => [sp.spanId, sp.name]))
          return list.map((sp) => ({
            name: sp.name,
            parent: sp.parentSpanId ? names.get(sp.parentSpanId) ?? `?${sp.parentSpanId}` : null,
            attributes: (sp.attributes || []).filter((a) => a.key.startsWith('bench_')).length
          }))
        })
      })
    }
  }
}
