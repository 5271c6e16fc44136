'use strict'

// The demo's "agent" again, on OpenTelemetry's SDK instead of this package:
// the comparison configuration of `npm start` ("otel"). Same interface as
// createAgent() of instrumentation.js (webTransaction, segment,
// segmentCallback, backgroundTransaction, runWithoutContext, shimPool,
// shimQueue, active, report), so the same app runs on it unchanged, and the
// same span tree: a root span per request (and per background transaction),
// a child span per unit of work, with the same attributes (request.id,
// http.method, http.url, http.userAgent, http.statusCode, error.message).
//
// Set up as an application would, and as the peer benchmark's OpenTelemetry
// contender does (bench/peers/contenders/opentelemetry.js): a
// BasicTracerProvider with a BatchSpanProcessor, context through
// @opentelemetry/context-async-hooks 2.x (its
// AsyncLocalStorageContextManager; installed as the alias
// otel-context-async-hooks-2, the line that matches sdk-trace-base 2), and an
// in-process exporter that serializes each batch exactly as the OTLP/JSON HTTP
// exporter would send it (@opentelemetry/otlp-transformer's
// JsonTraceSerializer), counts the bytes and drops them. Spans through
// tracer.startActiveSpan (active while their work runs); callbacks, the
// request stream and the shims' queued callbacks bound with context.bind.
// The processor's queue is raised from 2,048 to 65,536 spans, as in the
// benchmark, so that no span is dropped under load (dropping would do less
// work); the batch size and delay keep their defaults.
//
// The check, on what the exporter receives: the processor exports spans in
// the order they end, and a trace's root span ends after every span under it,
// so when a root span arrives, the spans of its trace that came before it are
// its whole tree. Each must carry the root's request.id (else a conflation:
// work put in another request's trace) and have its parent among them (else
// an orphan). Spans of a trace whose root never arrives (counted after the
// final flush), spans started and never exported (dropped), and units of work
// that found no active span (lost contexts: no span is started for them, as
// instrumentations with `requireParentSpan` do) are failures too.
//
// Nothing of OpenTelemetry is loaded until createOtelAgent() runs:
// otelUnavailable() tells, without loading them, whether the packages (dev
// dependencies) are installed.

const fs = require('node:fs')
const path = require('node:path')

const CONTEXT_PACKAGE = 'otel-context-async-hooks-2'
const PACKAGES = ['@opentelemetry/api', '@opentelemetry/sdk-trace-base', '@opentelemetry/otlp-transformer', CONTEXT_PACKAGE]
const MAX_QUEUE = 65536

/** null when the OpenTelemetry packages resolve, else why not (one line). */
function otelUnavailable () {
  for (const name of PACKAGES) {
    try {
      require.resolve(name)
    } catch (err) {
      if (err && err.code === 'MODULE_NOT_FOUND') {
        return `${name} is not installed (a dev dependency; a production install, --omit=dev, has none)`
      }
      return `${name} does not resolve: ${String(err && err.message).split('\n')[0]}`
    }
  }
  return null
}

/** The installed version of package `name` (read from its package.json), or null. */
function packageVersion (name) {
  for (const dir of require.resolve.paths(name) || []) {
    const file = path.join(dir, name, 'package.json')
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')).version
    } catch {
      // not in this node_modules
    }
  }
  return null
}

/** The version of the OpenTelemetry SDK the comparison runs (sdk-trace-base), or null. */
function otelVersion () {
  return packageVersion('@opentelemetry/sdk-trace-base')
}

/**
 * @param {{breakContext?: boolean}} [options] breakContext: skip the
 *   context.bind of the request stream and of the pool and queue shims'
 *   callbacks (the negative control of instrumentation.js)
 */
function createOtelAgent (options = {}) {
  const breakContext = options.breakContext === true
  const api = require('@opentelemetry/api')
  const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base')
  const { AsyncLocalStorageContextManager } = require(CONTEXT_PACKAGE)
  const { JsonTraceSerializer } = require('@opentelemetry/otlp-transformer')
  const { context, trace, ROOT_CONTEXT, SpanKind } = api

  const counts = {
    transactions: 0,
    backgroundTransactions: 0,
    segments: 0,
    conflations: 0,
    lostContexts: 0,
    backgroundLeaks: 0,
    truncatedSegments: 0,
    droppedSegments: 0
  }
  const wire = {
    started: 0,
    exported: 0,
    requestSpans: 0,
    backgroundSpans: 0,
    childSpans: 0,
    orphanSpans: 0,
    bytes: 0,
    batches: 0
  }
  let active = 0
  let firstConflation = null
  let firstOrphan = null
  /** traceId -> the spans of that trace exported before its root: [spanId, parentSpanId, request.id, name]. */
  const pending = new Map()

  /** A root span has arrived: check the spans of its trace that came before it. */
  function checkTrace (root, traceId) {
    const rid = root.attributes['request.id']
    if (root.attributes['http.method'] === undefined) wire.backgroundSpans++
    else wire.requestSpans++
    const spans = pending.get(traceId)
    counts.segments++
    if (spans === undefined) return
    pending.delete(traceId)
    const ids = new Set([root.spanContext().spanId])
    for (const s of spans) ids.add(s[0])
    for (const [, parentId, spanRid, name] of spans) {
      counts.segments++
      wire.childSpans++
      if (spanRid !== rid) {
        counts.conflations++
        if (firstConflation === null) {
          firstConflation = { trace: root.name, traceRequestId: rid, segment: name, segmentRequestId: spanRid ?? null }
        }
      }
      if (!ids.has(parentId)) {
        wire.orphanSpans++
        if (firstOrphan === null) firstOrphan = { trace: root.name, traceRequestId: rid, span: name, parentSpanId: parentId }
      }
    }
  }

  const exporter = {
    export (batch, done) {
      const body = JsonTraceSerializer.serializeRequest(batch)
      wire.bytes += body.byteLength
      wire.batches++
      wire.exported += batch.length
      for (const span of batch) {
        const traceId = span.spanContext().traceId
        const parent = span.parentSpanContext
        if (parent === undefined) {
          checkTrace(span, traceId)
        } else {
          let spans = pending.get(traceId)
          if (spans === undefined) pending.set(traceId, (spans = []))
          spans.push([span.spanContext().spanId, parent.spanId, span.attributes['request.id'], span.name])
        }
      }
      done({ code: 0 }) // ExportResultCode.SUCCESS
    },
    shutdown: async () => {},
    forceFlush: async () => {}
  }

  const contextManager = new AsyncLocalStorageContextManager()
  const processor = new BatchSpanProcessor(exporter, { maxQueueSize: MAX_QUEUE })
  const provider = new BasicTracerProvider({ spanProcessors: [processor] })
  context.setGlobalContextManager(contextManager.enable())
  trace.setGlobalTracerProvider(provider)
  const tracer = trace.getTracer('segment-context-demo', '1.0.0')

  const REQUEST = { root: true, kind: SpanKind.SERVER }
  const BACKGROUND = { root: true }

  /** Ends `span` when `result` (a value or a promise) settles; returns it (or the chained promise). */
  function endWhenSettled (span, result) {
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
      return result.then(
        (value) => { span.end(); return value },
        (err) => { span.end(); throw err })
    }
    span.end()
    return result
  }

  return {
    config: 'otel',
    store: null,
    manager: contextManager,

    /** As in instrumentation.js: the root span ends when the response has closed and the handler has settled. */
    webTransaction (req, res, route, rid, handler) {
      active++
      counts.transactions++
      return tracer.startActiveSpan(route, REQUEST, (span) => {
        wire.started++
        span.setAttribute('request.id', rid)
        span.setAttribute('http.method', req.method)
        span.setAttribute('http.url', req.url)
        span.setAttribute('http.userAgent', req.headers['user-agent'] ?? '')
        // The request body's events come from the connection: bind the
        // request stream to the request's context.
        if (!breakContext) context.bind(context.active(), req)
        let pending = 2
        const done = () => {
          if (--pending === 0) {
            span.end()
            active--
          }
        }
        res.once('close', () => {
          span.setAttribute('http.statusCode', res.statusCode)
          done()
        })
        return handler().then(done, (err) => {
          span.setAttribute('error.message', String(err && err.message))
          done()
          throw err
        })
      })
    },

    /** A background transaction: a root span of its own; `fn(rid)` returns a promise. */
    backgroundTransaction (name, fn) {
      // Started from a contextless timer: an active span here is a leak.
      if (trace.getActiveSpan() !== undefined) counts.backgroundLeaks++
      counts.backgroundTransactions++
      const rid = `bg${counts.backgroundTransactions}`
      active++
      return tracer.startActiveSpan(name, BACKGROUND, (span) => {
        wire.started++
        span.setAttribute('request.id', rid)
        const end = () => {
          span.end()
          active--
        }
        return fn(rid).then(end, end)
      })
    },

    /** Runs `fn` as span `name`, a child of the active span; it ends when `fn`'s result settles. */
    segment (name, rid, fn) {
      if (trace.getActiveSpan() === undefined) {
        counts.lostContexts++
        return fn()
      }
      return tracer.startActiveSpan(name, (span) => {
        wire.started++
        span.setAttribute('request.id', rid)
        let result
        try {
          result = fn()
        } catch (err) {
          span.end()
          throw err
        }
        return endWhenSettled(span, result)
      })
    },

    /**
     * Callback style: runs `fn(done)` as span `name`; `done(...args)` ends the
     * span and calls `callback(...args)` back in the caller's context.
     */
    segmentCallback (name, rid, fn, callback) {
      const parent = context.active()
      const back = context.bind(parent, callback)
      if (trace.getSpan(parent) === undefined) {
        counts.lostContexts++
        return fn(back)
      }
      const span = tracer.startSpan(name, undefined, parent)
      wire.started++
      span.setAttribute('request.id', rid)
      const done = function () {
        span.end()
        return back.apply(this, arguments)
      }
      return context.with(trace.setSpan(parent, span), fn, undefined, done)
    },

    /** Runs `fn` in the root context: what it schedules carries no span. */
    runWithoutContext (fn) {
      return context.with(ROOT_CONTEXT, fn)
    },

    /** Callbacks queued in `pool` keep the caller's context. */
    shimPool (pool) {
      if (breakContext) return pool
      const acquire = pool.acquire
      pool.acquire = function (callback) {
        return acquire.call(this, context.bind(context.active(), callback))
      }
      return pool
    },

    /** The same for a user-land queue drained from its own timer. */
    shimQueue (queue) {
      if (breakContext) return queue
      const push = queue.push
      queue.push = function (job) {
        return push.call(this, context.bind(context.active(), job))
      }
      return queue
    },

    /** Root spans started and not yet ended. */
    get active () {
      return active
    },

    /** After the last span has ended: flushes the processor, then the counts and the check's results. */
    async report () {
      await provider.forceFlush()
      let unrooted = 0
      for (const spans of pending.values()) unrooted += spans.length
      counts.truncatedSegments = unrooted
      counts.droppedSegments = wire.started - wire.exported
      return {
        manager: contextManager.constructor.name,
        ...counts,
        firstConflation,
        liveTransactions: null,
        liveSegments: null,
        storeCapacity: null,
        storeProblems: null,
        hookTableSize: null,
        trace: null,
        traceSamples: 0,
        otel: {
          version: otelVersion(),
          contextManager: `@opentelemetry/context-async-hooks ${packageVersion(CONTEXT_PACKAGE)} (${contextManager.constructor.name})`,
          spansStarted: wire.started,
          spansExported: wire.exported,
          requestSpans: wire.requestSpans,
          backgroundSpans: wire.backgroundSpans,
          childSpans: wire.childSpans,
          orphanSpans: wire.orphanSpans,
          unrootedSpans: unrooted,
          droppedSpans: wire.started - wire.exported,
          firstOrphan,
          exportedBytes: wire.bytes,
          exportBatches: wire.batches
        }
      }
    }
  }
}

module.exports = { createOtelAgent, otelUnavailable, otelVersion }
