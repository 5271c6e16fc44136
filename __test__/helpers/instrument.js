'use strict'

// A small APM "agent" for the integration tests, written the way agents use
// this package and against its public API only (require of the repo root):
// a transaction per request, a segment per unit of work, callbacks and
// emitters bound to their caller's context, and the conflation check on
// every finished trace.
//
// How the check stays honest: every unit of work is labelled with the id of
// the request its own code is serving (`rid`, read from the request's own
// data: a header, the URL, the closure), never from the context manager.
// Where the segment lands is decided by the context manager alone
// (getContext() when it starts). A segment whose `request.id` differs from
// its trace root's is a conflation; a unit of work that finds no context is
// a lost context; a check point (expectRid) that sees another request's
// transaction is a wrong context.
//
// `breakContext: true` is the break switch: bind() and bindEmitter() hand
// back what they were given, and the channel subscribers read the current
// context instead of the one associated with their request. The tests use
// it to show that their checks fail without the binding.

const { SegmentStore, createContextManager } = require('../..')

/** Both managers, for tests parameterised over them. */
const MANAGERS = [
  { key: 'als', className: 'AsyncLocalContextManager' },
  { key: 'legacy', className: 'LegacyContextManager' }
]

const ENV_FLAG = 'SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT'
const MAX_PROBLEMS = 10

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const immediate = () => new Promise((resolve) => setImmediate(resolve))

/** The request id a test's client put in header x-rid (the request's own data). */
function ridOf (req) {
  const rid = req.headers['x-rid']
  return typeof rid === 'string' ? rid : 'unlabelled'
}

/**
 * @param {'als'|'legacy'} key the manager
 * @param {object} [options]
 * @param {boolean} [options.breakContext] the break switch
 */
function createAgent (key, options = {}) {
  const breakContext = options.breakContext === true
  // The manager comes from the test, not from the environment.
  delete process.env[ENV_FLAG]
  const store = new SegmentStore()
  const manager = createContextManager({ feature_flag: { new_async_context: key === 'als' }, store })
  const expected = MANAGERS.find((m) => m.key === key).className
  if (manager.constructor.name !== expected) throw new Error(`asked for ${expected}, got ${manager.constructor.name}`)

  const ridByTxn = new Map()
  const traces = new Map() // rid -> finished trace
  const counts = {
    transactions: 0,
    joined: 0, // requests that found a transaction current and joined it (the leak)
    segments: 0,
    conflations: 0,
    lostContexts: 0,
    wrongContexts: 0,
    truncated: 0,
    checks: 0
  }
  const problems = []
  const cleanups = []
  let active = 0

  function problem (text) {
    if (problems.length < MAX_PROBLEMS) problems.push(text)
  }

  const agent = {
    key,
    store,
    manager,
    breakContext,
    counts,
    problems,
    traces,

    /** Starts transaction `name` labelled `rid`; returns its handle. */
    startTransaction (name, rid) {
      const txn = store.startTransaction(name)
      store.setAttribute(txn, 'request.id', rid)
      ridByTxn.set(txn, rid)
      counts.transactions++
      active++
      return txn
    },

    /** Ends `txn` and checks its finished trace; returns it (null if it had ended). */
    endTransaction (txn) {
      const trace = store.endTransaction(txn)
      if (trace === null) return null
      active--
      const own = ridByTxn.get(txn)
      ridByTxn.delete(txn)
      counts.segments += trace.segmentCount
      for (const s of trace.segments) {
        const rid = s.attributes['request.id']
        if (rid !== own) {
          counts.conflations++
          problem(`conflation: segment ${s.name} of ${rid} in the trace of ${own} (${trace.name})`)
        }
        if (s.truncated) {
          counts.truncated++
          problem(`truncated: ${s.name} of ${own} still open at the end of its transaction`)
        }
      }
      traces.set(own, trace)
      return trace
    },

    /** Runs `fn` in a new transaction; it ends when `fn`'s result settles. */
    transaction (name, rid, fn) {
      const txn = agent.startTransaction(name, rid)
      let result
      try {
        result = manager.runInContext(txn, fn, undefined, [txn])
      } catch (err) {
        agent.endTransaction(txn)
        throw err
      }
      if (result === null || typeof result !== 'object' || typeof result.then !== 'function') {
        agent.endTransaction(txn)
        return result
      }
      return result.then(
        (value) => { agent.endTransaction(txn); return value },
        (err) => { agent.endTransaction(txn); throw err })
    },

    /** A segment under `parent` (default: the current context), labelled `rid`; null when there is no context. */
    startSegment (name, rid, parent = manager.getContext()) {
      const segment = parent === null ? null : store.startSegment(parent, name)
      if (segment === null) {
        counts.lostContexts++
        problem(`lost context: ${name} of ${rid} found no context`)
        return null
      }
      store.setAttribute(segment, 'request.id', rid)
      return segment
    },

    endSegment (segment) {
      if (segment !== null) store.endSegment(segment)
    },

    /**
     * Runs `fn` as segment `name` (under the current context, labelled
     * `rid`); a returned promise ends the segment when it settles.
     */
    segment (name, rid, fn, thisArg, args) {
      const segment = agent.startSegment(name, rid)
      if (segment === null) return Reflect.apply(fn, thisArg, args ?? [])
      let result
      try {
        result = manager.runInContext(segment, fn, thisArg, args)
      } catch (err) {
        store.endSegment(segment)
        throw err
      }
      if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
        return result.then(
          (value) => { store.endSegment(segment); return value },
          (err) => { store.endSegment(segment); throw err })
      }
      store.endSegment(segment)
      return result
    },

    /** The rid of the transaction current now, or null. */
    currentRid () {
      const ctx = manager.getContext()
      if (ctx === null) return null
      return ridByTxn.get(store.transactionOf(ctx)) ?? null
    },

    /** A check point: the current transaction must be `rid`'s. */
    expectRid (rid, where) {
      counts.checks++
      const current = agent.currentRid()
      if (current === rid) return true
      if (current === null) {
        counts.lostContexts++
        problem(`lost context: ${rid} had no context ${where}`)
      } else {
        counts.wrongContexts++
        problem(`wrong context: ${rid} saw the transaction of ${current} ${where}`)
      }
      return false
    },

    /** bindFunction, except with the break switch on. */
    bind (fn, ctx) {
      return breakContext ? fn : manager.bindFunction(fn, ctx)
    },

    /** bindEmitter, except with the break switch on. */
    bindEmitter (emitter, ctx) {
      return breakContext ? emitter : manager.bindEmitter(emitter, ctx)
    },

    /**
     * The request listener of a node:http server (the transaction per
     * request), the way agents wrap Server#emit('request'): if a transaction
     * is current when a request arrives, the request joins it (old agents'
     * "transaction proxy"; this is how a context leaked into server creation
     * shows up); else a new transaction named `name(req)` starts, with the
     * request and response emitters bound to it. It ends when the response
     * has closed and, if the listener returned a promise, that has settled.
     */
    wrapListener (listener, name = (req) => `${req.method} ${req.url.split('?')[0]}`) {
      return function instrumentedListener (req, res) {
        if (manager.getContext() !== null) {
          counts.joined++
          return Reflect.apply(listener, this, arguments)
        }
        const txn = agent.startTransaction(`WebTransaction/${name(req)}`, ridOf(req))
        agent.bindEmitter(req, txn)
        agent.bindEmitter(res, txn)
        let pending = 1
        // The end waits a turn after 'close', for the segments of work that
        // settles as the response is sent.
        const done = () => { if (--pending === 0) setImmediate(() => agent.endTransaction(txn)) }
        res.once('close', done)
        const result = manager.runInContext(txn, listener, this, arguments)
        if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
          pending++
          result.then(done, done)
        }
        return result
      }
    },

    /** Instruments a node:http(s) server: its 'request' events go through wrapListener. */
    instrumentServer (server) {
      const emit = server.emit
      const wrapped = agent.wrapListener(function (req, res) {
        return emit.call(this, 'request', req, res)
      })
      server.emit = function (type, req, res) {
        if (type === 'request') return wrapped.call(this, req, res)
        return Reflect.apply(emit, this, arguments)
      }
      return server
    },

    /** Registers `fn` to run at close() (channel unsubscriptions). */
    onClose (fn) {
      cleanups.push(fn)
    },

    /** Transactions started and not yet ended. */
    get active () {
      return active
    },

    /**
     * Waits (up to `timeoutMs`) until every transaction has ended and the
     * last continuations have run; returns the store's stats.
     */
    async drained (timeoutMs = 5000) {
      const started = Date.now()
      while (agent.active > 0 && Date.now() - started < timeoutMs) await sleep(5)
      for (let i = 0; i < 3; i++) await immediate()
      return store.stats()
    },

    /** The counts and the first problems, for assertion messages. */
    describe () {
      return JSON.stringify({ counts, problems }, null, 1)
    },

    /** Unsubscribes what the agent subscribed, and switches the manager off. */
    close () {
      for (const fn of cleanups.splice(0)) fn()
      manager.disable()
    }
  }
  return agent
}

/**
 * A connection pool made at start-up, like the demo's: `acquire(cb)` hands
 * out a free slot or queues `cb`, and a queued callback runs from inside
 * `release()`, that is in the releasing request's context, unless the agent
 * bound it. `query(rid, name)` is the app's call through it; the agent's
 * shim (shimPool) binds the queued callback.
 */
class SlotPool {
  constructor (size) {
    this.free = size
    this.waiting = []
  }

  acquire (callback) {
    if (this.free > 0) {
      this.free--
      callback()
    } else {
      this.waiting.push(callback)
    }
  }

  release () {
    const next = this.waiting.shift()
    if (next === undefined) this.free++
    else next()
  }
}

/** The agent's shim of a SlotPool: queued callbacks keep their caller's context. */
function shimPool (agent, pool) {
  const acquire = pool.acquire
  pool.acquire = function (callback) {
    return acquire.call(this, agent.bind(callback))
  }
  return pool
}

/**
 * The app's query through a SlotPool: waits for a slot, then does its I/O
 * (a timer) as segment `name`, started in the acquire callback: a callback
 * run in the wrong request's context puts it in the wrong trace.
 */
function poolQuery (agent, pool, rid, name) {
  return new Promise((resolve) => {
    pool.acquire(() => {
      const segment = agent.startSegment(name, rid)
      setTimeout(() => {
        agent.endSegment(segment)
        pool.release()
        resolve()
      }, 1)
    })
  })
}

module.exports = { MANAGERS, createAgent, ridOf, SlotPool, shimPool, poolQuery, sleep, immediate }
