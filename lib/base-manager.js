'use strict'

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

/**
 * What the two context managers share: running and binding on top of a
 * subclass's way of keeping the context, associations, and diagnostics.
 *
 * A subclass supplies `getContext()`, `setContext(ctx)`, `enable()`,
 * `disable()`, `_enter(ctx, fn, thisArg, args)` (call `fn` with `ctx`
 * current and the previous context back afterwards, also on a throw),
 * `_stored()` (the value it holds now, for the diagnostics' restore events)
 * and `_seesPropagation()` (whether diagnostics can record propagation).
 */
class ContextManagerBase {
  /**
   * @param {object} [options]
   * @param {object} [options.store] a SegmentStore: numeric contexts it does
   *   not report as active read as null
   */
  constructor (options) {
    const opts = checkOptions(options, 'options')
    this._store = checkStore(opts.store, 'options.store')
    this._associations = new WeakMap()
    this._emitters = new EmitterBinder(this)
    this._diag = null // the diagnostics recorder while it is on
    this._diagKept = null // the last recorder, still readable after disableDiagnostics()
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
    return ctx === undefined ? null : this._live(ctx)
  }

  /**
   * Start recording context transitions (`set`, `run`, `bound`, `restore`,
   * and on the legacy manager `propagate`) in a ring of `options.size`
   * events (default 4096), replacing any earlier ring. O(1) per event; while
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
    const propagation = this._seesPropagation()
    return r === null ? diag.emptyDump(propagation) : r.dump(this._diag === r, propagation)
  }

  /** @private `ctx`, or null when it is a handle of an ended transaction */
  _live (ctx) {
    return typeof ctx === 'number' && this._store !== null && !this._store.isActive(ctx) ? null : ctx
  }

  /** @private used by bound functions */
  _callInContext (ctx, fn, thisArg, args) {
    if (this._diag !== null) return this._recorded(diag.BOUND, ctx, fn, thisArg, args)
    return this._enter(ctx, fn, thisArg, args)
  }

  /** @private a run or bound call while diagnostics are on: records it and the restore. */
  _recorded (type, ctx, fn, thisArg, args) {
    const recorder = this._diag
    recorder.record(type, ctx)
    try {
      return this._enter(ctx, fn, thisArg, args)
    } finally {
      recorder.record(diag.RESTORE, this._stored())
    }
  }
}

module.exports = { ContextManagerBase }
