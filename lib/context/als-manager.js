'use strict'

// AsyncLocalContextManager, the context manager on Node's AsyncLocalStorage,
// and isFrameBased(). The API is documented in managers.d.ts; the comments
// here are implementation notes.

const { AsyncLocalStorage, AsyncResource } = require('node:async_hooks')
const { ContextManagerBase } = require('./base-manager')
const { PromiseThen } = require('./settle')
const diag = require('./diagnostics')

const ReflectApply = Reflect.apply
const ObjectIs = Object.is

/** Calls `fn` with no `this` and no arguments. */
function callBare (fn) {
  return fn()
}

/**
 * One `AsyncLocalStorage` per manager instance; propagation is Node's own
 * (hence continuations follow registration, not the promise chain:
 * nodejs/help#3041).
 *
 * On Node 20 `AsyncLocalStorage` lives on async_hooks (a cheap `run`, an extra
 * cost per `await`); on Node 24 it lives on AsyncContextFrame (free
 * propagation, but each `run` allocates a frame). The same code is the right
 * choice on both; see `bindFunction` and `isFrameBased`.
 */
class AsyncLocalContextManager extends ContextManagerBase {
  /** `options.legacy` is the legacy manager's: not read here. */
  constructor (options) {
    super(options)
    this._als = new AsyncLocalStorage()
    this._sets = 0 // setContext() calls, see _enter
    this._disables = 0 // disable() calls, see _enter
    // The reactions runAndEnd puts on a promise, the same two for every call.
    this._endFulfilled = (value) => {
      this._endCurrent()
      return value
    }
    this._endRejected = (error) => {
      this._endCurrent()
      throw error
    }
  }

  /** The stored value, through the liveness check. */
  getContext () {
    const ctx = this._als.getStore()
    return ctx === undefined ? null : this._live(ctx)
  }

  /**
   * `enterWith`, counted in `_sets` (see `_runIn`). Nothing in this package
   * calls it internally.
   */
  setContext (ctx) {
    if (this._diag !== null) this._diag.record(diag.SET, ctx)
    this._sets++
    this._als.enterWith(ctx)
  }

  /** A no-op, kept for symmetry: the storage switches itself on at the next run. */
  enable () {
    return this
  }

  /** `als.disable()`, counted in `_disables` (see `_runIn`). */
  disable () {
    this._disables++
    this._als.disable()
    return this
  }

  /** @private sets the stored value, with no event (storage scopes) */
  _set (ctx) {
    this._sets++
    this._als.enterWith(ctx)
  }

  /** @private the stored value (diagnostics) */
  _stored () {
    return this._als.getStore()
  }

  /** @private AsyncLocalStorage propagates inside Node, out of the recorder's sight. */
  _seesPropagation () {
    return false
  }

  /**
   * @private `als.run(ctx, fn)`, except that a context set inside `fn` never
   * outlives it. `AsyncLocalStorage#run` returns early, without restoring
   * anything afterwards, when `ctx` is already the stored value (Node 20 and
   * 24 alike), so a `setContext` inside a nested run of the same context, or
   * inside a bound function called from its own context, would leak into the
   * caller. When `ctx` is not current, `run` restores the previous value on
   * the way out, a value set inside included.
   */
  _enter (ctx, fn, thisArg, args) {
    if (!ObjectIs(ctx, this._als.getStore())) {
      // Without `this` or arguments, skip Reflect.apply's indirection (about
      // 10-20 ns on Node 20); callBare still calls `fn` with `this` undefined.
      if (thisArg === undefined && args.length === 0) return this._als.run(ctx, callBare, fn)
      return this._als.run(ctx, ReflectApply, fn, thisArg, args)
    }
    // `ctx` is current already: `als.run` would return early and restore
    // nothing, so a setContext inside `fn` would leak out.
    return this._runIn(ctx, fn, thisArg, args)
  }

  /**
   * @private runAndEnd's end without a closure per call (see the base
   * class). `_callThenEnd` calls this in `segment`, so the manager's two
   * shared reactions are registered while it is current. A reaction runs
   * in the context current when it was registered (AsyncLocalStorage
   * propagates into promise reactions, on async hooks and on
   * AsyncContextFrame alike), so at settle time `getStore()` is `segment`
   * again and names what to end. If `fn` left another context current (a
   * setContext inside), the reactions would see that one, so that case
   * takes the base class's closures.
   */
  _endOnSettle (segment, promise) {
    if (ObjectIs(this._als.getStore(), segment)) return PromiseThen.call(promise, this._endFulfilled, this._endRejected)
    return super._endOnSettle(segment, promise)
  }

  /**
   * @private In a reaction of `_endOnSettle`: ends the segment current
   * there. After `disable()` nothing is current, and the segment stays open
   * until its transaction ends (which reports it truncated).
   */
  _endCurrent () {
    const segment = this._als.getStore()
    if (typeof segment === 'number') this._ender.endSegment(segment)
  }

  /**
   * @private With `ctx` already current: calls `fn`, then, only if
   * `setContext` was called meanwhile (counted, so the common path reads two
   * fields), puts `ctx` back. After a disable() inside `fn` nothing is put
   * back: the storage is left as `als.run` leaves it.
   */
  _runIn (ctx, fn, thisArg, args) {
    const sets = this._sets
    const disables = this._disables
    try {
      return ReflectApply(fn, thisArg, args)
    } finally {
      if (this._sets !== sets && this._disables === disables && !ObjectIs(this._als.getStore(), ctx)) this._als.enterWith(ctx)
    }
  }
}

let frameBased

/**
 * Found by behaviour once per process: async_hooks-based storage copies each
 * store's value onto every async resource created while it is set;
 * frame-based storage keeps the values in a frame and writes none onto the
 * resource. The probe only touches its own storage (disabled afterwards) and
 * its own two resources. Nothing in the managers branches on it (the same code
 * is the right one on both); tests and diagnostics use it.
 */
function isFrameBased () {
  if (frameBased === undefined) {
    const probe = new AsyncLocalStorage()
    const marker = {}
    // The outer scope is ours, so async_hooks-based storage writes its value
    // onto our resource, never onto whatever resource is current.
    const scope = new AsyncResource('SegmentContextProbe', { requireManualDestroy: true })
    const created = scope.runInAsyncScope(() => probe.run(marker, () =>
      new AsyncResource('SegmentContextProbe', { requireManualDestroy: true })))
    probe.disable()
    frameBased = !Object.getOwnPropertySymbols(created).some((key) => created[key] === marker)
    created.emitDestroy()
    scope.emitDestroy()
  }
  return frameBased
}

module.exports = { AsyncLocalContextManager, isFrameBased }
