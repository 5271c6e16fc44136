'use strict'

// What the two context managers share: running and binding on top of a
// subclass's way of keeping the context, liveness (stale contexts read as
// null), associations, the storage face, switch observers and diagnostics.
// The public contract is documented once, in managers.d.ts.
//
// A subclass supplies `getContext()`, `setContext(ctx)`, `enable()`,
// `disable()`, `_enter(ctx, fn, thisArg, args)` (call `fn` with `ctx`
// current and the previous context back afterwards, also on a throw),
// `_stored()` (the value it holds now, for `restore` events), `_set(ctx)`
// (make the raw value current, with no event: for scopes) and
// `_seesPropagation()` (whether it can report propagation). A subclass may
// replace `_endOnSettle` (the AsyncLocalStorage manager does, to end a
// runAndEnd without a closure per call).

const v = require('../validate')
const { EmitterBinder } = require('./bind-emitter')
const { wrapFunction } = require('./bind-function')
const diag = require('./diagnostics')
const { isNativePromise, endWhenSettled } = require('./settle')

const ReflectApply = Reflect.apply
const NO_ARGS = Object.freeze([])

/** The option keys both managers take (the legacy manager reads `legacy`). */
const MANAGER_OPTIONS = ['store', 'isActive', 'legacy']

/**
 * The liveness check of a manager: the agent's own `isActive(ctx)` when
 * given, else, with a store, "not a number, or a handle the store reports as
 * active"; null when every context is live.
 */
function livenessOf (store, isActive) {
  if (isActive !== null) return isActive
  if (store === null) return null
  return (ctx) => typeof ctx !== 'number' || store.isActive(ctx)
}

/**
 * `manager.storage`: made lazily, once per manager. Each method is one call
 * of the manager's, so nothing here has semantics of its own.
 */
class ContextStorage {
  constructor (manager) {
    this._manager = manager
  }

  getStore () {
    const ctx = this._manager.getContext()
    return ctx === null ? undefined : ctx
  }

  run (store, fn, ...args) {
    return this._manager.runInContext(store, fn, undefined, args)
  }

  enterWith (store) {
    this._manager.setContext(store)
  }

  exit (fn, ...args) {
    return this._manager.runWithoutContext(fn, undefined, args)
  }

  disable () {
    this._manager.disable()
  }

  /** Node 26's `runStores` calls this instead of `run`; see ContextScope. */
  withScope (store) {
    return new ContextScope(this._manager, store)
  }
}

/**
 * The disposable of `ContextStorage#withScope`: it switches with the
 * subclass's `_set` (no `set` event) and records `run` and `restore` itself,
 * as `_recorded` does around a run.
 */
class ContextScope {
  constructor (manager, store) {
    this._manager = manager
    this._previous = manager._stored()
    this._disposed = false
    if (manager._diag !== null) manager._diag.record(diag.RUN, store)
    manager._set(store)
  }

  dispose () {
    if (this._disposed) return
    this._disposed = true
    const manager = this._manager
    const previous = this._previous
    this._previous = undefined // keep nothing alive after disposal
    manager._set(previous)
    if (manager._diag !== null) manager._diag.record(diag.RESTORE, manager._stored())
  }
}
if (typeof Symbol.dispose === 'symbol') {
  Object.defineProperty(ContextScope.prototype, Symbol.dispose, {
    value: ContextScope.prototype.dispose,
    writable: true,
    configurable: true
  })
}

/**
 * The events of one manager, fanned out to its recorder and its switch
 * listeners. A manager holds it in `_diag` only while someone listens, so
 * that the hot path pays one branch on a field and nothing else.
 */
class SwitchEvents {
  constructor (recorder, listeners) {
    this.recorder = recorder
    this.listeners = listeners
  }

  record (type, ctx) {
    if (this.recorder !== null) this.recorder.record(type, ctx)
    const listeners = this.listeners
    if (listeners.length === 0) return
    const name = diag.TYPE_NAMES[type]
    const value = ctx === undefined ? null : ctx
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i](name, value)
      } catch (error) {
        // An observer's bug must not break the app's context switch.
        process.nextTick(() => { throw error })
      }
    }
  }
}

class ContextManagerBase {
  constructor (options) {
    const opts = v.checkOptions(options, 'options', MANAGER_OPTIONS)
    this._store = v.checkStore(opts.store, 'options.store')
    const isActive = opts.isActive === undefined || opts.isActive === null
      ? null
      : v.checkFunction(opts.isActive, 'options.isActive')
    this._liveness = livenessOf(this._store, isActive)
    // What runAndEnd ends segments in: the store, when it has endSegment.
    this._ender = this._store !== null && typeof this._store.endSegment === 'function' ? this._store : null
    // runAndEnd's call, handed to _callThenEnd through these fields (see _runAndEnd).
    this._pendingSegment = undefined
    this._pendingFn = undefined
    this._pendingThis = undefined
    this._pendingArgs = undefined
    this._runPending = () => {
      const segment = this._pendingSegment
      const fn = this._pendingFn
      const thisArg = this._pendingThis
      const args = this._pendingArgs
      this._pendingSegment = this._pendingFn = this._pendingThis = this._pendingArgs = undefined
      return this._callThenEnd(segment, fn, thisArg, args)
    }
    this._associations = new WeakMap()
    this._emitters = new EmitterBinder(this)
    this._storage = null
    this._recorder = null // the diagnostics ring while it is on
    this._recorderKept = null // the last ring, still readable after disableDiagnostics()
    this._listeners = [] // onContextSwitch listeners
    this._diag = null // what records events: null while nobody listens
  }

  get storage () {
    if (this._storage === null) this._storage = new ContextStorage(this)
    return this._storage
  }

  runInContext (ctx, fn, thisArg, args) {
    if (typeof fn !== 'function') v.checkFunction(fn, 'runInContext: fn')
    args = v.checkArgs(args, 'runInContext: args')
    if (this._diag !== null) return this._recorded(diag.RUN, ctx, fn, thisArg, args)
    return this._enter(ctx, fn, thisArg, args)
  }

  runAndEnd (segment, fn, thisArg, args) {
    const given = v.checkHandle(segment, 'runAndEnd: segment')
    if (typeof fn !== 'function') v.checkFunction(fn, 'runAndEnd: fn')
    args = v.checkArgs(args, 'runAndEnd: args')
    if (this._ender === null) {
      throw new TypeError('runAndEnd: this manager has no store to end segments in: pass options.store (a SegmentStore, or an object with isActive and endSegment) to createContextManager')
    }
    if (!given) return this.runInContext(null, fn, thisArg, args)
    return this._runAndEnd(segment, fn, thisArg, args)
  }

  runWithoutContext (fn, thisArg, args) {
    if (typeof fn !== 'function') v.checkFunction(fn, 'runWithoutContext: fn')
    args = v.checkArgs(args, 'runWithoutContext: args')
    if (this._diag !== null) return this._recorded(diag.RUN, null, fn, thisArg, args)
    return this._enter(null, fn, thisArg, args)
  }

  bindFunction (fn, ctx) {
    if (typeof fn !== 'function') return fn
    return wrapFunction(this, fn, ctx === undefined ? this.getContext() : ctx)
  }

  bindEmitter (emitter, ctx) {
    return this._emitters.bind(emitter, ctx === undefined ? this.getContext() : ctx)
  }

  associate (object, ctx) {
    v.checkKey(object, 'associate: object')
    if (ctx === undefined || ctx === null) this._associations.delete(object)
    else this._associations.set(object, ctx)
    return object
  }

  contextOf (object) {
    v.checkKey(object, 'contextOf: object')
    const ctx = this._associations.get(object)
    return ctx === undefined ? null : this._live(ctx)
  }

  onContextSwitch (listener) {
    v.checkFunction(listener, 'onContextSwitch: listener')
    // A new array each time, so that a listener removed while events are
    // being delivered does not shift the ones still to be called.
    this._listeners = this._listeners.concat([listener])
    this._updateEvents()
    let subscribed = true
    return () => {
      if (!subscribed) return
      subscribed = false
      const i = this._listeners.indexOf(listener)
      if (i >= 0) this._listeners = this._listeners.slice(0, i).concat(this._listeners.slice(i + 1))
      this._updateEvents()
    }
  }

  enableDiagnostics (options) {
    const size = diag.readDiagnosticsOptions(options)
    this._recorder = this._recorderKept = new diag.Recorder(size, this._liveness)
    this._updateEvents()
    return this
  }

  disableDiagnostics () {
    this._recorder = null
    this._updateEvents()
    return this
  }

  diagnostics () {
    const r = this._recorderKept
    const propagation = this._seesPropagation()
    return r === null ? diag.emptyDump(propagation) : r.dump(this._recorder === r, propagation)
  }

  /** @private `_diag`: null while nobody listens; else what delivers events. */
  _updateEvents () {
    if (this._listeners.length === 0) this._diag = this._recorder
    else this._diag = new SwitchEvents(this._recorder, this._listeners)
  }

  /** @private `ctx`, or null when the liveness check says it has ended */
  _live (ctx) {
    const isLive = this._liveness
    return isLive === null || ctx === null || isLive(ctx) ? ctx : null
  }

  /** @private used by bound functions */
  _callInContext (ctx, fn, thisArg, args) {
    if (this._diag !== null) return this._recorded(diag.BOUND, ctx, fn, thisArg, args)
    return this._enter(ctx, fn, thisArg, args)
  }

  /**
   * @private runAndEnd once its arguments are checked: runs `fn` in
   * `segment` through `_enter` (or `_recorded` while someone listens) and
   * `_callThenEnd`. On the common path the call reaches `_callThenEnd`
   * through the `_pending*` fields and `_runPending`, made once: `_enter`
   * calls it synchronously, before any other code, so nothing is allocated
   * per call and the fields cannot be overwritten in between. While someone
   * listens a listener runs first (and may call runAndEnd itself), so the
   * call travels as arguments instead.
   */
  _runAndEnd (segment, fn, thisArg, args) {
    if (this._diag !== null) return this._recorded(diag.RUN, segment, this._callThenEnd, this, [segment, fn, thisArg, args])
    this._pendingSegment = segment
    this._pendingFn = fn
    this._pendingThis = thisArg
    this._pendingArgs = args
    return this._enter(segment, this._runPending, undefined, NO_ARGS)
  }

  /**
   * @private In `segment`: calls `fn` and ends the segment when it returns
   * or throws, or arranges the end (`_endOnSettle`) for the native promise
   * it returns.
   */
  _callThenEnd (segment, fn, thisArg, args) {
    const store = this._ender
    let result
    try {
      result = thisArg === undefined && args.length === 0 ? fn() : ReflectApply(fn, thisArg, args)
    } catch (error) {
      store.endSegment(segment)
      throw error
    }
    if (!isNativePromise(result)) {
      store.endSegment(segment)
      return result
    }
    return this._endOnSettle(segment, result)
  }

  /**
   * @private Still in `segment`: `promise`, followed by the segment's end.
   * Here through two closures; the AsyncLocalStorage manager replaces it.
   */
  _endOnSettle (segment, promise) {
    return endWhenSettled(this._ender, segment, promise)
  }

  /** @private a run or bound call while someone listens: records it and the restore. */
  _recorded (type, ctx, fn, thisArg, args) {
    const events = this._diag
    events.record(type, ctx)
    try {
      return this._enter(ctx, fn, thisArg, args)
    } finally {
      events.record(diag.RESTORE, this._stored())
    }
  }

  /**
   * @private The promise-parent fallback (legacy manager) stops at this
   * result: a promise returned by a run does not hand its context to what
   * the caller chains on it. No-op here; see LegacyContextManager.
   */
  _detachResult (result) {
    return result
  }
}

module.exports = { ContextManagerBase, ContextStorage, MANAGER_OPTIONS }
