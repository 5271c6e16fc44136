'use strict'

// LegacyContextManager, the context manager on a slot of its own carried by
// async_hooks, and the process's one hook that all legacy managers share.
// The API is documented in managers.d.ts; the comments here are
// implementation notes.

const { createHook } = require('node:async_hooks')
const { promiseHooks } = require('node:v8')
const { ContextManagerBase } = require('./base-manager')
const diag = require('./diagnostics')

const v = require('../validate')

const ReflectApply = Reflect.apply

// ---------------------------------------------------------------------------
// The process's one hook. Every legacy manager that propagates shares one
// async_hooks hook (and one v8 promise hook for the parent fallback), which
// calls each attached manager in turn: a process with many managers (an
// agent's test suite made 222) pays one native-to-JS crossing per async
// event, not one per manager. A manager is attached from construction (or
// `enable()`) until `disable()` — and, when it is disabled inside a callback,
// until that callback returns, so the callback keeps its context to the end.
// ---------------------------------------------------------------------------

let attached = [] // managers receiving events, in attach order
let withFallback = [] // those of them with the promise-parent fallback on
let hook = null
let stopPromiseInit = null

function attach (manager) {
  if (attached.includes(manager)) return
  attached = attached.concat([manager])
  refresh()
}

function detach (manager) {
  if (!attached.includes(manager)) return
  attached = attached.filter((m) => m !== manager)
  refresh()
}

/** Switches the shared hooks on or off to match the attached managers. */
function refresh () {
  withFallback = attached.filter((m) => m._fallback)
  if (attached.length > 0 && hook === null) {
    hook = createHook({
      init (asyncId, type, triggerAsyncId, resource) {
        const list = attached
        for (let i = 0; i < list.length; i++) list[i]._onInit(asyncId, type, resource)
      },
      before (asyncId) {
        const list = attached
        for (let i = 0; i < list.length; i++) list[i]._onBefore(asyncId)
      },
      after () {
        const list = attached
        for (let i = 0; i < list.length; i++) list[i]._onAfter()
      },
      destroy (asyncId) {
        const list = attached
        for (let i = 0; i < list.length; i++) list[i]._onDestroy(asyncId)
      },
      promiseResolve (asyncId) {
        const list = attached
        for (let i = 0; i < list.length; i++) list[i]._promises.delete(asyncId)
      }
    })
    hook.enable()
  } else if (attached.length === 0 && hook !== null) {
    hook.disable()
    hook = null
  }
  if (withFallback.length > 0 && stopPromiseInit === null) {
    stopPromiseInit = promiseHooks.onInit((promise, parent) => {
      const list = withFallback
      for (let i = 0; i < list.length; i++) list[i]._onPromiseInit(promise, parent)
    })
  } else if (withFallback.length === 0 && stopPromiseInit !== null) {
    stopPromiseInit()
    stopPromiseInit = null
  }
}

/** How many managers the shared hook serves now (for tests and diagnostics). */
function attachedManagers () {
  return attached.length
}

/**
 * A plain slot owned by the instance (`_current`), carried across async
 * boundaries by the process's shared hook (see above).
 *
 * - init: the current context (when not null, and live) is recorded for the
 *   new async id; before: it becomes current (null for an id with none, so a
 *   `setContext` in one callback never leaks into an unrelated one); after:
 *   the previous context is restored.
 * - Promise parent fallback: each promise's context is kept in a WeakMap
 *   keyed by the promise itself, and the link to the parent comes from
 *   `v8.promiseHooks.onInit(promise, parent)`.
 * - The hook table (async id → context, see `hookTableSize`) only holds what
 *   a callback still has to run in: entries leave on `destroy` (timers,
 *   immediates, ticks, handles) and, for promises, on `promiseResolve`. No GC
 *   needed.
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
    this._resources = new Map() // async id → context, non-promise resources
    this._promises = new Map() // async id → context, promises whose continuation is pending
    this._promiseContexts = new WeakMap() // promise → context, for the parent fallback
    this._pendingPromise = null // see _onPromiseInit
    this._pendingPromiseId = 0
    this.enable()
  }

  /** Both maps of the hook table. */
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
    if (this._fallback && result !== null && typeof result === 'object') this._promiseContexts.delete(result)
    return result
  }

  /** @private the current context if it is to be propagated: not null, not ended */
  _propagated () {
    return this._live(this._current)
  }

  /** @private */
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

  /** @private v8 promise init: the parent fallback */
  _onPromiseInit (promise, parent) {
    if (!this._enabled) return
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
    if (!this._enabled) {
      this._current = null // disabled: nothing propagates any more
      return
    }
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

module.exports = { LegacyContextManager, checkLegacyOptions, attachedManagers }
