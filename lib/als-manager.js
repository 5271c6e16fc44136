'use strict'

const { AsyncLocalStorage, AsyncResource } = require('node:async_hooks')
const {
  EmitterBinder,
  wrapFunction,
  toArgs,
  checkFunction,
  checkKey,
  checkStore,
  checkOptions
} = require('./bind-emitter')
const diag = require('./diagnostics')

const ReflectApply = Reflect.apply
const ObjectIs = Object.is

/**
 * Context manager on Node's `AsyncLocalStorage`: one storage per manager
 * instance, propagation is Node's own. A continuation takes its context from
 * where it was registered (`.then()`, `setTimeout()`, …), never from the
 * promise it chains from (nodejs/help#3041).
 *
 * On Node 20 `AsyncLocalStorage` lives on async_hooks (a cheap `run`, an extra
 * cost per `await`); on Node 24 it lives on AsyncContextFrame (free
 * propagation, but each `run` allocates a frame). The same code is the right
 * choice on both; see `bindFunction` and `isFrameBased`.
 */
class AsyncLocalContextManager {
  /**
   * @param {object} [options]
   * @param {object} [options.store] a SegmentStore: numeric contexts it does
   *   not report as active read as null
   * @param {object} [options.legacy] ignored (LegacyContextManager options)
   */
  constructor (options) {
    const opts = checkOptions(options, 'options')
    this._store = checkStore(opts.store, 'options.store')
    this._als = new AsyncLocalStorage()
    this._associations = new WeakMap()
    this._emitters = new EmitterBinder(this)
    this._sets = 0 // setContext() calls, see _enter
    this._disables = 0 // disable() calls, see _enter
    this._diag = null // the diagnostics recorder while it is on
    this._diagKept = null // the last recorder, still readable after disableDiagnostics()
  }

  /**
   * The current context, or null. A handle of an ended transaction (a number
   * the store does not report as active) reads as null.
   */
  getContext () {
    const ctx = this._als.getStore()
    if (ctx === undefined) return null
    if (typeof ctx === 'number' && this._store !== null && !this._store.isActive(ctx)) return null
    return ctx
  }

  /**
   * Make `ctx` current for the rest of the current synchronous execution and
   * everything it schedules (`AsyncLocalStorage#enterWith`).
   *
   * Hazard: called inside an async function before its first `await`, the
   * context leaks into the caller's frame, and on Node 24 each call allocates
   * a frame. Prefer `runInContext`; nothing in this package uses it internally.
   * @param {*} ctx any value; `undefined` reads back as null
   */
  setContext (ctx) {
    if (this._diag !== null) this._diag.record(diag.SET, ctx)
    this._sets++
    this._als.enterWith(ctx)
  }

  /**
   * Run `fn` synchronously with `ctx` as the current context and return its
   * result; the previous context is back afterwards, also when `fn` throws.
   * @param {*} ctx
   * @param {Function} fn
   * @param {*} [thisArg]
   * @param {Array|IArguments} [args]
   */
  runInContext (ctx, fn, thisArg, args) {
    checkFunction(fn, 'runInContext')
    args = toArgs(args, 'runInContext')
    if (this._diag !== null) return this._recorded(diag.RUN, ctx, fn, thisArg, args)
    return this._enter(ctx, fn, thisArg, args)
  }

  /**
   * Run `fn` with no context: async work scheduled inside carries null, not
   * the caller's context (stops go-forward propagation into servers, pools
   * and background timers).
   */
  runWithoutContext (fn, thisArg, args) {
    checkFunction(fn, 'runWithoutContext')
    args = toArgs(args, 'runWithoutContext')
    if (this._diag !== null) return this._recorded(diag.RUN, null, fn, thisArg, args)
    return this._enter(null, fn, thisArg, args)
  }

  /**
   * A wrapper that runs `fn` in `ctx` whatever context calls it, keeping
   * `name` and `length`. With `ctx` omitted (or `undefined`) the context
   * current now is captured. A non-function is returned unchanged.
   *
   * The wrapper is a closure around `als.run`, on Node 20 and Node 24 alike.
   * `AsyncLocalStorage.bind`/`snapshot` (and `AsyncResource.bind`) cost
   * 2-13 µs to create. On Node 24 a function made by them is cheaper to call
   * (it switches to a captured frame instead of allocating two per `run`),
   * but instrumentation mostly binds a callback and calls it once, so that
   * never pays off; they would also freeze every other AsyncLocalStorage's
   * value at bind time, where the closure leaves them to the caller. We found
   * no cheaper safe path on Node 24, so `isFrameBased()` selects nothing here.
   * (A call from the bound context itself costs about one `getStore()` on
   * both, see `_enter`.)
   */
  bindFunction (fn, ctx) {
    if (typeof fn !== 'function') return fn
    return wrapFunction(this, fn, ctx === undefined ? this.getContext() : ctx)
  }

  /**
   * Listeners added to `emitter` from now on (`on`, `addListener`, `once`,
   * `prependListener`, `prependOnceListener`) run in `ctx` (default: the
   * current context) whatever context emits; removing the original listener
   * removes them. See EmitterBinder for the footprint (a patched prototype
   * that inherits from the original; no own property). Binding again changes
   * the context for listeners added afterwards and never wraps twice.
   * @returns the emitter
   */
  bindEmitter (emitter, ctx) {
    return this._emitters.bind(emitter, ctx === undefined ? this.getContext() : ctx)
  }

  /** `AsyncLocalStorage` needs no switching on: a no-op, kept for symmetry. */
  enable () {
    return this
  }

  /**
   * `AsyncLocalStorage#disable()`: the context reads as null until the next
   * `runInContext`/`setContext`/bound call, which enables the storage again.
   * On Node 24 Node clears only the current frame.
   */
  disable () {
    this._disables++
    this._als.disable()
    return this
  }

  /**
   * Start recording context transitions (`set`, `run`, `bound`, `restore`)
   * in a ring of `options.size` events (default 4096), replacing any earlier
   * ring. Propagation is AsyncLocalStorage's own, inside Node, so it is not
   * recorded: `diagnostics().propagation` is false. O(1) per event; while
   * off, the only cost is one branch per run/bound call/set.
   * @param {{size?: number}} [options]
   */
  enableDiagnostics (options) {
    const size = diag.readDiagnosticsOptions(options)
    this._diag = this._diagKept = new diag.Recorder(size, this._store)
    return this
  }

  /** Stop recording; the events recorded so far stay readable through `diagnostics()`. */
  disableDiagnostics () {
    this._diag = null
    return this
  }

  /**
   * The recorded events, oldest first, as a plain JSON-able object:
   * `{ enabled, size, recorded, dropped, propagation, events: [{ seq, type, handle, ended }] }`.
   */
  diagnostics () {
    const r = this._diagKept
    return r === null ? diag.emptyDump(false) : r.dump(this._diag === r, false)
  }

  /** Remember `ctx` for `object` (a per-manager WeakMap; nothing is written on the object). */
  associate (object, ctx) {
    checkKey(object, 'associate')
    if (ctx === undefined || ctx === null) this._associations.delete(object)
    else this._associations.set(object, ctx)
    return object
  }

  /** The context associated with `object`, or null (also for an ended transaction). */
  contextOf (object) {
    checkKey(object, 'contextOf')
    const ctx = this._associations.get(object)
    if (ctx === undefined) return null
    if (typeof ctx === 'number' && this._store !== null && !this._store.isActive(ctx)) return null
    return ctx
  }

  /** @private used by bound functions */
  _callInContext (ctx, fn, thisArg, args) {
    if (this._diag !== null) return this._recorded(diag.BOUND, ctx, fn, thisArg, args)
    return this._enter(ctx, fn, thisArg, args)
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
    if (!ObjectIs(ctx, this._als.getStore())) return this._als.run(ctx, ReflectApply, fn, thisArg, args)
    // `ctx` is current already: `als.run` would return early and restore
    // nothing, so a setContext inside `fn` would leak out.
    return this._runIn(ctx, fn, thisArg, args)
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

  /** @private a run or bound call while diagnostics are on: records it and the restore. */
  _recorded (type, ctx, fn, thisArg, args) {
    const recorder = this._diag
    recorder.record(type, ctx)
    try {
      return this._enter(ctx, fn, thisArg, args)
    } finally {
      recorder.record(diag.RESTORE, this._als.getStore())
    }
  }
}

let frameBased

/**
 * Whether `AsyncLocalStorage` is built on AsyncContextFrame (Node 24's
 * default) rather than on async_hooks (Node 20), found by behaviour once per
 * process, not from the version number: async_hooks-based storage copies each
 * store's value onto every async resource created while it is set;
 * frame-based storage keeps the values in a frame and writes none onto the
 * resource. The probe only touches its own storage (disabled afterwards) and
 * its own two resources. Nothing in the managers branches on it (the same code
 * is the right one on both); tests and diagnostics use it.
 * @returns {boolean}
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
