'use strict'

const { createHook } = require('node:async_hooks')
const { promiseHooks } = require('node:v8')
const { ContextManagerBase } = require('./base-manager')
const diag = require('./diagnostics')

const ReflectApply = Reflect.apply

/**
 * Context manager with a plain slot owned by the instance, carried across
 * async boundaries by one `async_hooks` hook per manager.
 *
 * - init: the current context (when not null, and not an ended transaction)
 *   is recorded for the new async id; before: it becomes current (null for an
 *   id with none, so a `setContext` in one callback never leaks into an
 *   unrelated one); after: the previous context is restored.
 * - Promise parent fallback: a promise created with no current context takes
 *   the context of the promise it chains from, so `p.then(cb)` attached from
 *   a contextless timer runs `cb` in the context `p` was made in. async_hooks
 *   only gives the parent's async id, and a settled promise can get `.then()`
 *   calls for as long as it lives, so a table keyed by id could only forget a
 *   parent when it is garbage collected. Instead each promise's context is
 *   kept in a WeakMap keyed by the promise itself, and the link to the parent
 *   object comes from `v8.promiseHooks.onInit(promise, parent)`.
 * - The hook table (async id → context, see `hookTableSize`) thus only holds
 *   what a callback still has to run in: entries leave on `destroy` (timers,
 *   immediates, ticks, handles) and, for promises, on `promiseResolve`: the
 *   continuation of `p.then(cb)` runs as the child promise, which settles
 *   when `cb` returns (an `await` continuation likewise settles its own
 *   promise), and a child resolved with a thenable keeps its entry until
 *   the thenable job that follows has run. No GC needed.
 *
 * With `asyncHooks: false` it is a plain slot: getContext/setContext, and
 * runInContext/bindFunction synchronously.
 */
class LegacyContextManager extends ContextManagerBase {
  /**
   * The hook is created once and enabled here; `disable()`/`enable()` switch
   * it off and on. An enabled hook keeps its manager alive: `disable()` a
   * manager that is no longer used.
   * @param {object} [options]
   * @param {object} [options.store] a SegmentStore: numeric contexts it does
   *   not report as active read as null and are not propagated
   * @param {object} [options.legacy]
   * @param {boolean} [options.legacy.asyncHooks=true] propagate through async_hooks
   * @param {boolean} [options.legacy.promiseParentFallback=true] a promise
   *   created with no context takes the context of the promise it chains from
   */
  constructor (options) {
    super(options) // checks options and options.store
    const { asyncHooks, promiseParentFallback } = checkLegacyOptions(options?.legacy, 'options.legacy')
    this._current = null
    this._disables = 0 // disable() calls, see _enter

    this._enabled = false
    this._fallback = asyncHooks && promiseParentFallback
    this._stack = []
    this._resources = new Map() // async id → context, non-promise resources
    this._promises = new Map() // async id → context, promises whose continuation is pending
    this._promiseContexts = new WeakMap() // promise → context, for the parent fallback
    this._pendingPromise = null // see _onPromiseInit
    this._pendingPromiseId = 0
    this._stopPromiseInit = null
    this._hook = asyncHooks
      ? createHook({
        init: (asyncId, type, triggerAsyncId, resource) => this._onInit(asyncId, type, resource),
        before: (asyncId) => this._onBefore(asyncId),
        after: () => this._onAfter(),
        destroy: (asyncId) => this._onDestroy(asyncId),
        promiseResolve: (asyncId) => this._promises.delete(asyncId)
      })
      : null
    this.enable()
  }

  /** Entries in the hook table (async id → context): for tests and diagnostics. */
  get hookTableSize () {
    return this._resources.size + this._promises.size
  }

  /** The current context, or null; a handle of an ended transaction reads as null. */
  getContext () {
    return this._live(this._current)
  }

  /**
   * Make `ctx` current until the end of the current callback (the hook
   * restores the previous context after it) and for everything scheduled
   * meanwhile. Prefer `runInContext`.
   * @param {*} ctx any value; `undefined` reads back as null
   */
  setContext (ctx) {
    if (this._diag !== null) this._diag.record(diag.SET, ctx)
    this._current = ctx === undefined ? null : ctx
  }

  /**
   * Switch the hook on (it is on after construction). No effect with
   * `asyncHooks: false`.
   */
  enable () {
    if (this._hook === null || this._enabled) return this
    this._enabled = true
    this._hook.enable()
    if (this._fallback) {
      this._stopPromiseInit = promiseHooks.onInit((promise, parent) => this._onPromiseInit(promise, parent))
    }
    return this
  }

  /**
   * Switch the hook off: nothing propagates any more and the hook table is
   * emptied; the slot itself (get/set/run/bind) keeps working synchronously.
   */
  disable () {
    // Called inside a callback that had a context, the hook's `after` will
    // not run to restore it: clear the slot now (and make an enclosing
    // runInContext/bound call leave it clear, see _enter).
    this._disables++
    this._current = null
    if (!this._enabled) return this
    this._enabled = false
    this._hook.disable()
    if (this._stopPromiseInit !== null) this._stopPromiseInit()
    this._stopPromiseInit = null
    this._resources.clear()
    this._promises.clear()
    this._promiseContexts = new WeakMap()
    this._pendingPromise = null
    this._stack.length = 0
    return this
  }

  /** @private the stored value (diagnostics) */
  _stored () {
    return this._current
  }

  /** @private the hook's swaps are recorded as `propagate` events */
  _seesPropagation () {
    return this._hook !== null
  }

  /** @private runs `fn` with `ctx` current, the previous context back afterwards */
  _enter (ctx, fn, thisArg, args) {
    const previous = this._current
    const disables = this._disables
    this._current = ctx === undefined ? null : ctx
    try {
      return ReflectApply(fn, thisArg, args)
    } finally {
      // After a disable() inside `fn`, the previous context may be one the
      // hook had swapped in and will no longer swap out: leave the slot clear.
      this._current = this._disables === disables ? previous : null
    }
  }

  /** @private the current context if it is to be propagated: not null, not ended */
  _propagated () {
    return this._live(this._current)
  }

  /** @private */
  _onInit (asyncId, type, resource) {
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

  /** @private v8 promise init: the parent fallback */
  _onPromiseInit (promise, parent) {
    const pending = this._pendingPromise
    this._pendingPromise = null
    if (parent === undefined || this._propagated() !== null) return
    const ctx = this._promiseContexts.get(parent)
    if (ctx === undefined || this._live(ctx) === null) return
    this._promiseContexts.set(promise, ctx)
    if (pending === promise) this._promises.set(this._pendingPromiseId, ctx)
  }

  /** @private */
  _onBefore (asyncId) {
    this._stack.push(this._current)
    let ctx = this._resources.get(asyncId)
    if (ctx === undefined) {
      ctx = this._promises.get(asyncId)
      if (ctx === undefined) ctx = null
    }
    this._current = ctx
    if (this._diag !== null && ctx !== null) this._diag.record(diag.PROPAGATE, ctx)
  }

  /** @private */
  _onAfter () {
    this._current = this._stack.length === 0 ? null : this._stack.pop()
  }

  /** @private */
  _onDestroy (asyncId) {
    if (!this._resources.delete(asyncId)) this._promises.delete(asyncId)
  }
}

const LEGACY_KEYS = ['asyncHooks', 'promiseParentFallback']

/**
 * `config.legacy` / `options.legacy`: `undefined`/`null` for the defaults,
 * otherwise an object whose known keys are booleans.
 * @returns {{asyncHooks: boolean, promiseParentFallback: boolean}}
 */
function checkLegacyOptions (legacy, name) {
  const result = { asyncHooks: true, promiseParentFallback: true }
  if (legacy === undefined || legacy === null) return result
  if (typeof legacy !== 'object' || Array.isArray(legacy)) throw new TypeError(`${name} must be an object`)
  for (const key of LEGACY_KEYS) {
    const value = legacy[key]
    if (value === undefined) continue
    if (typeof value !== 'boolean') throw new TypeError(`${name}.${key} must be a boolean`)
    result[key] = value
  }
  return result
}

module.exports = { LegacyContextManager, checkLegacyOptions }
