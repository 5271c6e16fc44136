'use strict'

/**
 * createContextApi: the context API an agent hands to its customers (read
 * the current context, run or bind work in a context, keep work out of
 * every context, read the current trace and span ids for log correlation).
 * The API is documented in context-api.d.ts; the comments here are
 * implementation notes.
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
 * The methods are closures over `manager` and `store`, never methods that
 * read `this`, so the frozen object gives no way to reach the manager.
 */
function createContextApi (manager, store) {
  v.checkManager(manager, 'createContextApi: manager', MANAGER_METHODS)
  const hasStore = store !== undefined && store !== null
  if (hasStore) checkIdStore(store)

  const api = {
    getContext () {
      return manager.getContext()
    },

    // `undefined` is refused (the manager would take it as null): a
    // customer's missing argument must not silently run without context.
    runInContext (ctx, fn, thisArg, args) {
      if (ctx === undefined) {
        throw new TypeError('runInContext: ctx is undefined; pass a context from getContext(), ' +
          'or null for none (runWithoutContext does that)')
      }
      v.checkFunction(fn, 'runInContext: fn')
      v.checkArgs(args, 'runInContext: args')
      return manager.runInContext(ctx, fn, thisArg, args)
    },

    // A non-function is a TypeError here (the manager returns it unchanged).
    bindFunction (fn, ctx) {
      v.checkFunction(fn, 'bindFunction: fn')
      return manager.bindFunction(fn, ctx)
    },

    // An emitter the manager would return unbound (frozen, non-configurable
    // listener methods) is a TypeError here.
    bindEmitter (emitter, ctx) {
      v.checkBindableEmitter(emitter, 'bindEmitter: emitter')
      return manager.bindEmitter(emitter, ctx)
    },

    runWithoutContext (fn, thisArg, args) {
      v.checkFunction(fn, 'runWithoutContext: fn')
      v.checkArgs(args, 'runWithoutContext: args')
      return manager.runWithoutContext(fn, thisArg, args)
    }
  }

  if (hasStore) {
    // Two look-ups of the store; either is null once the transaction has
    // ended, and then the answer is {}.
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
