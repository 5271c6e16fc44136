'use strict'

// LegacyContextManager, the context manager on a slot of its own carried by
// async_hooks, through the process's one hook that all legacy managers share
// (legacy-hook.js). The API is documented in managers.d.ts; the comments
// here are implementation notes.

const { ContextManagerBase } = require('./base-manager')
const diag = require('./diagnostics')
const { attach, detach } = require('./legacy-hook')

const v = require('../validate')

const ReflectApply = Reflect.apply

/**
 * A plain slot owned by the instance (`_current`), carried across async
 * boundaries by the process's shared hook (legacy-hook.js).
 *
 * - init: the current context (when not null, and live) is recorded for the
 *   new resource; before: it becomes current (null for a resource with none,
 *   so a `setContext` in one callback never leaks into an unrelated one);
 *   after: the previous context is restored.
 * - Resources other than promises are kept by async id in `_resources` (the
 *   hook table, `hookTableSize`), until `destroy`: no GC needed.
 * - Promises, in the hook's 'promise-hooks' mode: by the promise itself in
 *   `_promiseContexts`, a WeakMap, so a promise's context goes with the
 *   promise. In 'async-hooks' mode: by async id in `_promises` (also the
 *   hook table) until the promise settles or is collected, and in
 *   `_promiseContexts` only for the parent fallback.
 * - Promise parent fallback: a promise made with no context takes its
 *   parent's (the promise it continues, from the v8 promise hook's init),
 *   unless the parent is one a run returned (`_detached`).
 *
 * With `asyncHooks: false` it is a plain slot: getContext/setContext, and
 * runInContext/bindFunction synchronously.
 */
class LegacyContextManager extends ContextManagerBase {
  /** Ends with enable(): attached from construction. */
  constructor (options) {
    super(options) // checks options, options.store and options.isActive
    const { asyncHooks, promiseParentFallback } = checkLegacyOptions(options?.legacy, 'options.legacy')
    this._current = null
    this._propagates = asyncHooks

    this._enabled = false
    this._fallback = asyncHooks && promiseParentFallback
    this._stack = []
    this._resources = new Map() // async id → context, resources other than promises
    this._promises = new Map() // 'async-hooks' mode: async id → context, promises whose continuation is pending
    this._promiseContexts = new WeakMap() // promise → context (see above)
    this._detached = new WeakSet() // promises a run returned: no parent for the fallback
    this._pendingPromise = null // 'async-hooks' mode: see _onPromiseParent
    this._pendingPromiseId = 0
    this.enable()
  }

  /**
   * Entries of the hook table: resources by async id, and in 'async-hooks'
   * mode promises by async id.
   */
  get hookTableSize () {
    return this._resources.size + this._promises.size
  }

  /** The slot, through the liveness check. */
  getContext () {
    return this._live(this._current)
  }

  /** The slot only: the hook's `after` puts back the previous context at the end of the callback. */
  setContext (ctx) {
    if (this._diag !== null) this._diag.record(diag.SET, ctx)
    this._current = ctx === undefined ? null : ctx
  }

  enable () {
    if (!this._propagates || this._enabled) return this
    this._enabled = true
    attach(this)
    return this
  }

  disable () {
    if (!this._enabled) {
      // Not propagating: a plain slot, cleared (outside any callback, there
      // is nothing to give the context back to).
      if (this._stack.length === 0) this._current = null
      return this
    }
    this._enabled = false
    this._resources.clear()
    this._promises.clear()
    this._promiseContexts = new WeakMap()
    this._detached = new WeakSet()
    this._pendingPromise = null
    // Inside a callback, the callback keeps its context until it returns:
    // the hook's `after` gives back the context from before it, then lets go.
    if (this._stack.length === 0) {
      this._current = null
      detach(this)
    }
    return this
  }

  /** @private sets the slot, with no event (storage scopes) */
  _set (ctx) {
    this._current = ctx === undefined ? null : ctx
  }

  /** @private the stored value (diagnostics) */
  _stored () {
    return this._current
  }

  /** @private the hook's swaps are recorded as `propagate` events */
  _seesPropagation () {
    return this._propagates
  }

  /** @private runs `fn` with `ctx` current, the previous context back afterwards */
  _enter (ctx, fn, thisArg, args) {
    const previous = this._current
    this._current = ctx === undefined ? null : ctx
    try {
      return ReflectApply(fn, thisArg, args)
    } finally {
      this._current = previous
    }
  }

  /** @private the fallback stops at a promise a run returned (see the base class) */
  _detachResult (result) {
    if (this._fallback && result !== null && typeof result === 'object') this._detached.add(result)
    return result
  }

  /** @private the current context if it is to be propagated: not null, not ended */
  _propagated () {
    return this._live(this._current)
  }

  /** @private async init: a resource, or in 'async-hooks' mode a promise */
  _onInit (asyncId, type, resource) {
    if (!this._enabled) return
    let ctx = this._propagated()
    if (type !== 'PROMISE') {
      if (ctx !== null) this._resources.set(asyncId, ctx)
      return
    }
    if (ctx !== null) {
      if (this._fallback) this._promiseContexts.set(resource, ctx)
    } else {
      if (!this._fallback) return
      // The promise hook below runs for the same promise just before or just
      // after this one (their order is Node's business): either it has
      // already found the parent's context, or it will look for this id.
      ctx = this._promiseContexts.get(resource)
      if (ctx === undefined) {
        this._pendingPromise = resource
        this._pendingPromiseId = asyncId
        return
      }
    }
    this._promises.set(asyncId, ctx)
  }

  /** @private 'async-hooks' mode, v8 promise init: the parent fallback */
  _onPromiseParent (promise, parent) {
    if (!this._enabled) return
    const pending = this._pendingPromise
    this._pendingPromise = null
    if (this._propagated() !== null) return
    const ctx = this._parentContext(parent)
    if (ctx === null) return
    this._promiseContexts.set(promise, ctx)
    if (pending === promise) this._promises.set(this._pendingPromiseId, ctx)
  }

  /** @private 'async-hooks' mode: a promise's continuation is no longer pending */
  _onPromiseResolve (asyncId) {
    this._promises.delete(asyncId)
  }

  /** @private 'promise-hooks' mode, v8 promise init */
  _onPromiseInit (promise, parent) {
    if (!this._enabled) return
    let ctx = this._propagated()
    if (ctx === null) {
      if (!this._fallback) return
      ctx = this._parentContext(parent)
      if (ctx === null) return
    }
    this._promiseContexts.set(promise, ctx)
  }

  /**
   * @private the fallback's context for a promise made while none is
   * current: its parent's, if it has a live one and no run returned it
   */
  _parentContext (parent) {
    if (parent === undefined || this._detached.has(parent)) return null
    const ctx = this._promiseContexts.get(parent)
    return ctx === undefined ? null : this._live(ctx)
  }

  /** @private async before: a resource, or in 'async-hooks' mode a promise */
  _onBefore (asyncId) {
    let ctx = this._resources.get(asyncId)
    if (ctx === undefined) ctx = this._promises.get(asyncId)
    this._swapIn(ctx)
  }

  /** @private 'promise-hooks' mode, v8 promise before */
  _onPromiseBefore (promise) {
    this._swapIn(this._promiseContexts.get(promise))
  }

  /** @private makes `ctx` (none when undefined) current until the matching `_onAfter` */
  _swapIn (ctx) {
    this._stack.push(this._current)
    if (!this._enabled) {
      this._current = null // disabled: nothing propagates any more
      return
    }
    if (ctx === undefined) ctx = null
    this._current = ctx
    if (this._diag !== null && ctx !== null) this._diag.record(diag.PROPAGATE, ctx)
  }

  /** @private */
  _onAfter () {
    this._current = this._stack.length === 0 ? null : this._stack.pop()
    // Disabled inside a callback: let go once the outermost one has returned.
    if (!this._enabled && this._stack.length === 0) detach(this)
  }

  /** @private */
  _onDestroy (asyncId) {
    if (!this._resources.delete(asyncId)) this._promises.delete(asyncId)
  }
}

const LEGACY_KEYS = ['asyncHooks', 'promiseParentFallback']

/**
 * `config.legacy` / `options.legacy`: `undefined`/`null` for the defaults,
 * otherwise an object of known keys whose values are booleans.
 * @returns {{asyncHooks: boolean, promiseParentFallback: boolean}}
 */
function checkLegacyOptions (legacy, where) {
  const o = v.checkOptions(legacy, where, LEGACY_KEYS)
  return {
    asyncHooks: v.checkBoolean(o.asyncHooks, `${where}.asyncHooks`, true),
    promiseParentFallback: v.checkBoolean(o.promiseParentFallback, `${where}.promiseParentFallback`, true)
  }
}

module.exports = { LegacyContextManager, checkLegacyOptions }
