'use strict'

// The demo's "agent": the few wrapper functions an APM agent's shims would
// be, written against the package's public API only (SegmentStore,
// createContextManager). A transaction per request, a segment per unit of
// work, and the conflation check on every finished trace.
//
// How the check stays honest: the app passes each unit of work the id of the
// request its own code is serving (`rid`, from its own closures, never from
// the context manager), and the agent writes it on the segment as
// `request.id`. Where the segment lands in the tree is decided by the context
// manager alone (`manager.getContext()`). So a segment whose `request.id`
// differs from its trace root's is work that the context manager put in the
// wrong request: a conflation. A unit of work that finds no context at all
// (and so records no segment) is a lost context.
//
// createAgent('none') returns the same interface doing nothing but calling
// the functions, for the uninstrumented baseline.

const { SegmentStore, createContextManager } = require('../..')

/** The route whose typical trace is kept for the waterfall. */
const WATERFALL_ROUTE = 'POST /checkout'
/** Every SAMPLE_EVERY-th trace of that route is kept, the last SAMPLES of them. */
const SAMPLE_EVERY = 16
const SAMPLES = 51

/**
 * @param {'none'|'als'|'legacy'} config
 * @param {{breakContext?: boolean}} [options] breakContext: skip the
 *   bindEmitter of the request and the bindFunction calls of the pool and
 *   queue shims (a negative control: the check must then fire)
 */
function createAgent (config, options = {}) {
  if (config === 'none') return createNoopAgent()
  const breakContext = options.breakContext === true

  const store = new SegmentStore()
  const manager = createContextManager({ feature_flag: { new_async_context: config === 'als' }, store })

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
  let active = 0
  const samples = []
  let routeTraces = 0
  let firstConflation = null

  /** Ends a transaction and checks its finished trace. */
  function finish (txn) {
    const trace = store.endTransaction(txn)
    if (trace === null) return
    active--
    const own = trace.segments[0].attributes['request.id']
    counts.segments += trace.segmentCount
    counts.droppedSegments += trace.droppedSegments
    for (const s of trace.segments) {
      if (s.attributes['request.id'] !== own) {
        counts.conflations++
        if (firstConflation === null) {
          firstConflation = { trace: trace.name, traceRequestId: own, segment: s.name, segmentRequestId: s.attributes['request.id'] ?? null }
        }
      }
      if (s.truncated) counts.truncatedSegments++
    }
    if (trace.name === WATERFALL_ROUTE && routeTraces++ % SAMPLE_EVERY === 0) {
      if (samples.length === SAMPLES) samples.shift()
      samples.push(trace)
    }
  }

  /** Starts a segment under the current context, labelled with `rid`; null when there is no context. */
  function start (name, rid) {
    const parent = manager.getContext()
    if (parent === null) {
      counts.lostContexts++
      return null
    }
    const segment = store.startSegment(parent, name)
    store.setAttribute(segment, 'request.id', rid)
    return segment
  }

  return {
    config,
    store,
    manager,

    /**
     * Runs `handler` (returning a promise) as transaction `route` (e.g. `GET /users/:id`).
     * The transaction ends when the response has closed and the handler has
     * settled, whichever comes last: an aborted request's remaining work
     * still belongs to it.
     */
    webTransaction (req, res, route, rid, handler) {
      const txn = store.startTransaction(route)
      active++
      counts.transactions++
      store.setAttribute(txn, 'request.id', rid)
      store.setAttribute(txn, 'http.method', req.method)
      store.setAttribute(txn, 'http.url', req.url)
      store.setAttribute(txn, 'http.userAgent', req.headers['user-agent'] ?? '')
      // The request body's events come from the connection, not from the
      // request: bind the request stream, as agents do, so body-reading
      // listeners run in the request. (The response's own 'close' listener
      // below needs no context: it holds the handle.)
      if (!breakContext) manager.bindEmitter(req, txn)
      let pending = 2
      const done = () => { if (--pending === 0) finish(txn) }
      res.once('close', () => {
        store.setAttribute(txn, 'http.statusCode', res.statusCode)
        done()
      })
      return manager.runInContext(txn, handler).then(done, (err) => {
        store.setAttribute(txn, 'error.message', String(err && err.message))
        done()
        throw err
      })
    },

    /** A background transaction (no request): `fn(rid)` returns a promise. */
    backgroundTransaction (name, fn) {
      // Started from a contextless timer: anything current here is a leak.
      if (manager.getContext() !== null) counts.backgroundLeaks++
      counts.backgroundTransactions++
      const rid = `bg${counts.backgroundTransactions}`
      const txn = store.startTransaction(name)
      active++
      store.setAttribute(txn, 'request.id', rid)
      return manager.runInContext(txn, fn, undefined, [rid]).then(() => finish(txn), () => finish(txn))
    },

    /**
     * Runs `fn` as segment `name` of the current context; `fn` returns a
     * value or a promise, the segment ends when it settles (runAndEnd).
     */
    segment (name, rid, fn) {
      const segment = start(name, rid)
      if (segment === null) return fn()
      return manager.runAndEnd(segment, fn)
    },

    /**
     * Callback style: runs `fn(done)` as segment `name`; `done(...args)` ends
     * the segment and calls `callback(...args)` back in the caller's context
     * (bindFunction, like an agent's callback shim).
     */
    segmentCallback (name, rid, fn, callback) {
      const parent = manager.getContext()
      const segment = start(name, rid)
      const back = manager.bindFunction(callback, parent)
      const done = function () {
        store.endSegment(segment)
        return back.apply(this, arguments)
      }
      if (segment === null) return fn(done)
      return manager.runInContext(segment, fn, undefined, [done])
    },

    /** Runs `fn` with no context: what it schedules (a background interval) carries none. */
    runWithoutContext (fn) {
      return manager.runWithoutContext(fn)
    },

    /** Like an agent's module shim: callbacks queued in `pool` keep the caller's context. */
    shimPool (pool) {
      if (breakContext) return pool
      const acquire = pool.acquire
      pool.acquire = function (callback) {
        return acquire.call(this, manager.bindFunction(callback))
      }
      return pool
    },

    /** The same for a user-land queue drained from its own timer. */
    shimQueue (queue) {
      if (breakContext) return queue
      const push = queue.push
      queue.push = function (job) {
        return push.call(this, manager.bindFunction(job))
      }
      return queue
    },

    /** Transactions started and not yet finished by this agent. */
    get active () {
      return active
    },

    /** Counts, the store's live records, and a typical trace of WATERFALL_ROUTE. */
    report () {
      const stats = store.stats()
      return {
        manager: manager.constructor.name,
        ...counts,
        firstConflation,
        liveTransactions: stats.liveTransactions,
        liveSegments: stats.liveSegments,
        storeCapacity: stats.capacity,
        storeProblems: store.verify().length,
        hookTableSize: typeof manager.hookTableSize === 'number' ? manager.hookTableSize : null,
        trace: median(samples),
        traceSamples: samples.length
      }
    }
  }
}

/** The trace of median duration, or null. */
function median (traces) {
  if (traces.length === 0) return null
  return traces.slice().sort((a, b) => a.duration - b.duration)[(traces.length - 1) >> 1]
}

function createNoopAgent () {
  let active = 0
  return {
    config: 'none',
    store: null,
    manager: null,
    webTransaction (req, res, route, rid, handler) {
      active++
      let pending = 2
      const done = () => { if (--pending === 0) active-- }
      res.once('close', done)
      return handler().then(done, (err) => {
        done()
        throw err
      })
    },
    backgroundTransaction (name, fn) {
      active++
      const done = () => { active-- }
      return fn('bg').then(done, done)
    },
    segment (name, rid, fn) { return fn() },
    segmentCallback (name, rid, fn, callback) { return fn(callback) },
    runWithoutContext (fn) { return fn() },
    shimPool (pool) { return pool },
    shimQueue (queue) { return queue },
    get active () { return active },
    report () {
      return {
        manager: null,
        transactions: null,
        backgroundTransactions: null,
        segments: null,
        conflations: null,
        lostContexts: null,
        backgroundLeaks: null,
        truncatedSegments: null,
        droppedSegments: null,
        firstConflation: null,
        liveTransactions: null,
        liveSegments: null,
        storeCapacity: null,
        storeProblems: null,
        hookTableSize: null,
        trace: null,
        traceSamples: 0
      }
    }
  }
}

module.exports = { createAgent, WATERFALL_ROUTE }
