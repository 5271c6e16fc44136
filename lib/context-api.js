'use strict'

/**
 * The context API an agent hands to its customers: read the current
 * context, run or bind work in a context, keep work out of every context,
 * and read the current trace and span ids for log correlation.
 *
 * It is deliberately smaller than a context manager: there is no imperative
 * `setContext` (a customer's forgotten set would leak into unrelated work),
 * no `associate`, no `enable`/`disable`. Every argument is checked here,
 * before the manager sees it, and a bad one is a TypeError that names the
 * method, the argument and what it got.
 */

const { isArgumentsObject } = require('node:util').types
const { describe } = require('./describe')

// The methods the API needs of a manager (both managers have them).
const MANAGER_METHODS = ['getContext', 'runInContext', 'runWithoutContext', 'bindFunction', 'bindEmitter']
// The listener methods a manager patches on a bound emitter.
const EMITTER_METHODS = ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener', 'removeListener', 'off']

/** What a value is, for error messages. */

function checkFunction (fn, method) {
  if (typeof fn !== 'function') throw new TypeError(`${method}: fn must be a function, got ${describe(fn)}`)
}

/** `args` of runInContext/runWithoutContext: omitted, an array or an `arguments` object. */
function checkArgs (args, method) {
  if (args !== undefined && !Array.isArray(args) && !isArgumentsObject(args)) {
    throw new TypeError(`${method}: args must be an array or an arguments object, got ${describe(args)}`)
  }
}

/**
 * An emitter the manager can bind: it has `on` or `addListener`, and it can
 * be patched (a frozen emitter, or one whose listener methods are
 * non-configurable own properties, would be returned unbound by the manager,
 * and its listeners would silently lose the context).
 */
function checkEmitter (emitter) {
  if (emitter === null || (typeof emitter !== 'object' && typeof emitter !== 'function') ||
      (typeof emitter.on !== 'function' && typeof emitter.addListener !== 'function')) {
    throw new TypeError(`bindEmitter: emitter must be an EventEmitter (with on or addListener), got ${describe(emitter)}`)
  }
  if (!Object.isExtensible(emitter)) {
    throw new TypeError('bindEmitter: emitter is frozen, sealed or not extensible, so its listeners cannot be bound')
  }
  for (const method of EMITTER_METHODS) {
    const own = Object.getOwnPropertyDescriptor(emitter, method)
    if (own !== undefined && !own.configurable) {
      throw new TypeError(`bindEmitter: emitter.${method} is a non-configurable property, so its listeners cannot be bound`)
    }
  }
}

function checkManager (manager) {
  if (manager === null || typeof manager !== 'object') {
    throw new TypeError(`createContextApi: manager must be a context manager from createContextManager(), got ${describe(manager)}`)
  }
  for (const method of MANAGER_METHODS) {
    if (typeof manager[method] !== 'function') {
      throw new TypeError(`createContextApi: manager must be a context manager from createContextManager() (it has no ${method} method)`)
    }
  }
}

/**
 * The store behind `getTraceMetadata`: it must tell the ids of a live
 * segment, the same ones its finished trace will carry.
 */
function checkStore (store) {
  if ((typeof store !== 'object' && typeof store !== 'function') ||
      typeof store.traceIdOf !== 'function' || typeof store.spanIdOf !== 'function') {
    throw new TypeError('createContextApi: store must be a SegmentStore with traceIdOf(handle) and spanIdOf(handle) ' +
      `(the ids of a live segment), got ${describe(store)}` +
      (store !== null && typeof store === 'object' && typeof store.isActive === 'function'
        ? ' without them: this version of the store cannot report the ids of a live transaction'
        : ''))
  }
}

/**
 * The customer API over `manager`.
 *
 * With `store` (the SegmentStore whose handles the manager holds), the API
 * also has `getTraceMetadata()`: `{ traceId, spanId }` of the current
 * segment, equal to the finished trace's `traceId` and that segment's `id`,
 * or `{}` outside a live segment.
 *
 * @param {object} manager a context manager from createContextManager()
 * @param {object} [store] a SegmentStore with traceIdOf/spanIdOf
 * @returns {Readonly<object>} a frozen object; its methods need no `this`
 * @throws {TypeError} for a manager or store of the wrong shape
 */
function createContextApi (manager, store) {
  checkManager(manager)
  const hasStore = store !== undefined && store !== null
  if (hasStore) checkStore(store)

  const api = {
    /** The current context (as the agent stored it), or null. */
    getContext () {
      return manager.getContext()
    },

    /**
     * Run `fn` synchronously in `ctx` (from `getContext()`, or null for
     * none) and return its result; the previous context is back afterwards,
     * also when `fn` throws.
     */
    runInContext (ctx, fn, thisArg, args) {
      if (ctx === undefined) {
        throw new TypeError('runInContext: ctx is undefined; pass a context from getContext(), ' +
          'or null for none (runWithoutContext does that)')
      }
      checkFunction(fn, 'runInContext')
      checkArgs(args, 'runInContext')
      return manager.runInContext(ctx, fn, thisArg, args)
    },

    /**
     * A wrapper that runs `fn` in `ctx` whatever calls it: for callbacks
     * queued in pools and user-land queues. With `ctx` omitted, the
     * context current now. `fn` itself is not modified.
     */
    bindFunction (fn, ctx) {
      checkFunction(fn, 'bindFunction')
      return manager.bindFunction(fn, ctx)
    },

    /**
     * Listeners added to `emitter` from now on run in `ctx` (omitted: the
     * context current now), whatever context emits. Returns the emitter.
     */
    bindEmitter (emitter, ctx) {
      checkEmitter(emitter)
      return manager.bindEmitter(emitter, ctx)
    },

    /**
     * Run `fn` with no context: timers, servers, sockets and promises made
     * inside never carry the caller's context.
     */
    runWithoutContext (fn, thisArg, args) {
      checkFunction(fn, 'runWithoutContext')
      checkArgs(args, 'runWithoutContext')
      return manager.runWithoutContext(fn, thisArg, args)
    }
  }

  if (hasStore) {
    /**
     * `{ traceId, spanId }` of the current segment (32 and 16 lowercase hex
     * digits), or `{}` when there is none (no context, a context that is not
     * a handle, or a transaction that has ended). A new object each call.
     */
    api.getTraceMetadata = function getTraceMetadata () {
      const handle = manager.getContext()
      if (typeof handle !== 'number') return {}
      const traceId = store.traceIdOf(handle)
      if (typeof traceId !== 'string') return {}
      const spanId = store.spanIdOf(handle)
      if (typeof spanId !== 'string') return {}
      return { traceId, spanId }
    }
  }

  return Object.freeze(api)
}

module.exports = { createContextApi }
