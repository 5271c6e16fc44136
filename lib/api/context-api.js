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

const v = require('../validate')

// The methods the API needs of a manager (both managers have them).
const MANAGER_METHODS = ['getContext', 'runInContext', 'runWithoutContext', 'bindFunction', 'bindEmitter']

/**
 * The store behind `getTraceMetadata`: it must tell the ids of a live
 * segment, the same ones its finished trace will carry.
 */
function checkIdStore (store) {
  if ((typeof store !== 'object' && typeof store !== 'function') ||
      typeof store.traceIdOf !== 'function' || typeof store.spanIdOf !== 'function') {
    throw new TypeError('createContextApi: store must be a SegmentStore with traceIdOf(handle) and spanIdOf(handle) ' +
      `(the ids of a live segment), got ${v.describe(store)}` +
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
  v.checkManager(manager, 'createContextApi: manager', MANAGER_METHODS)
  const hasStore = store !== undefined && store !== null
  if (hasStore) checkIdStore(store)

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
      v.checkFunction(fn, 'runInContext: fn')
      v.checkArgs(args, 'runInContext: args')
      return manager.runInContext(ctx, fn, thisArg, args)
    },

    /**
     * A wrapper that runs `fn` in `ctx` whatever calls it: for callbacks
     * queued in pools and user-land queues. With `ctx` omitted, the
     * context current now. `fn` itself is not modified.
     */
    bindFunction (fn, ctx) {
      v.checkFunction(fn, 'bindFunction: fn')
      return manager.bindFunction(fn, ctx)
    },

    /**
     * Listeners added to `emitter` from now on run in `ctx` (omitted: the
     * context current now), whatever context emits. Returns the emitter.
     */
    bindEmitter (emitter, ctx) {
      v.checkBindableEmitter(emitter, 'bindEmitter: emitter')
      return manager.bindEmitter(emitter, ctx)
    },

    /**
     * Run `fn` with no context: timers, servers, sockets and promises made
     * inside never carry the caller's context.
     */
    runWithoutContext (fn, thisArg, args) {
      v.checkFunction(fn, 'runWithoutContext: fn')
      v.checkArgs(args, 'runWithoutContext: args')
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
