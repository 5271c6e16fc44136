'use strict'

/**
 * Binding code shared by both context managers: bound emitters, the bound
 * function wrapper, and the argument checks the managers have in common.
 * There is one implementation of each; the managers only supply
 * `_callInContext(ctx, fn, thisArg, args)`, their way of running a call in a
 * context.
 *
 * Nothing here writes a property onto a user's function or object. The one
 * footprint is on bound emitters: their add/remove listener methods are
 * replaced by non-enumerable, string-keyed own properties.
 */

const { isArgumentsObject } = require('node:util').types

const EMPTY_ARGS = Object.freeze([])

// ---------------------------------------------------------------------------
// Argument checks
// ---------------------------------------------------------------------------

/**
 * The `args` of runInContext/runWithoutContext: `undefined`, an array or an
 * `arguments` object. Anything else is a TypeError naming the method.
 */
function toArgs (args, method) {
  if (args === undefined) return EMPTY_ARGS
  if (Array.isArray(args) || isArgumentsObject(args)) return args
  throw new TypeError(`${method}: args must be an array or an arguments object`)
}

function checkFunction (fn, method) {
  if (typeof fn !== 'function') throw new TypeError(`${method}: fn must be a function`)
}

/** Keys of the associate/contextOf WeakMap: objects and functions only. */
function checkKey (object, method) {
  if (object === null || (typeof object !== 'object' && typeof object !== 'function')) {
    throw new TypeError(`${method}: object must be an object or a function`)
  }
}

/** `undefined`/`null` → null; otherwise an object with an `isActive` function. */
function checkStore (store, name) {
  if (store === undefined || store === null) return null
  if ((typeof store !== 'object' && typeof store !== 'function') || typeof store.isActive !== 'function') {
    throw new TypeError(`${name} must be a SegmentStore (an object with an isActive(handle) function)`)
  }
  return store
}

/** Constructor options: `undefined`/`null` → {}; otherwise a plain object. */
function checkOptions (options, name) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`${name} must be an object`)
  return options
}

// ---------------------------------------------------------------------------
// Bound functions
// ---------------------------------------------------------------------------

// A wrapper's `length` comes from its declared parameters and its `name` from
// the computed property key it is created under. For lengths 0-6 that costs
// nothing for anonymous functions and one computed-key literal (about 0.2 µs)
// for named ones, where Object.defineProperty of name and length costs about
// 1 µs per bind (measured on Node 20 and 24).
/* eslint-disable no-unused-vars */
const ANONYMOUS = [
  (m, fn, ctx) => function () { return m._callInContext(ctx, fn, this, arguments) },
  (m, fn, ctx) => function (a) { return m._callInContext(ctx, fn, this, arguments) },
  (m, fn, ctx) => function (a, b) { return m._callInContext(ctx, fn, this, arguments) },
  (m, fn, ctx) => function (a, b, c) { return m._callInContext(ctx, fn, this, arguments) },
  (m, fn, ctx) => function (a, b, c, d) { return m._callInContext(ctx, fn, this, arguments) },
  (m, fn, ctx) => function (a, b, c, d, e) { return m._callInContext(ctx, fn, this, arguments) },
  (m, fn, ctx) => function (a, b, c, d, e, f) { return m._callInContext(ctx, fn, this, arguments) }
]
const NAMED = [
  (m, fn, ctx, n) => ({ [n]: function () { return m._callInContext(ctx, fn, this, arguments) } })[n],
  (m, fn, ctx, n) => ({ [n]: function (a) { return m._callInContext(ctx, fn, this, arguments) } })[n],
  (m, fn, ctx, n) => ({ [n]: function (a, b) { return m._callInContext(ctx, fn, this, arguments) } })[n],
  (m, fn, ctx, n) => ({ [n]: function (a, b, c) { return m._callInContext(ctx, fn, this, arguments) } })[n],
  (m, fn, ctx, n) => ({ [n]: function (a, b, c, d) { return m._callInContext(ctx, fn, this, arguments) } })[n],
  (m, fn, ctx, n) => ({ [n]: function (a, b, c, d, e) { return m._callInContext(ctx, fn, this, arguments) } })[n],
  (m, fn, ctx, n) => ({ [n]: function (a, b, c, d, e, f) { return m._callInContext(ctx, fn, this, arguments) } })[n]
]
/* eslint-enable no-unused-vars */

/**
 * A wrapper that runs `fn` in `ctx` through `manager._callInContext`, with
 * `fn`'s `name` and `length`. `this`, arguments, the return value and thrown
 * errors pass through. `fn` itself is not touched.
 */
function wrapFunction (manager, fn, ctx) {
  const name = fn.name
  const length = fn.length
  if (typeof name === 'string' && Number.isInteger(length) && length >= 0 && length < ANONYMOUS.length) {
    return name === '' ? ANONYMOUS[length](manager, fn, ctx) : NAMED[length](manager, fn, ctx, name)
  }
  // Rare shapes (7+ parameters, or a redefined name/length): define them on
  // the wrapper, which is our own object.
  const wrapper = ANONYMOUS[0](manager, fn, ctx)
  Object.defineProperty(wrapper, 'length', { value: length, configurable: true })
  Object.defineProperty(wrapper, 'name', { value: name, configurable: true })
  return wrapper
}

// ---------------------------------------------------------------------------
// Bound emitters
// ---------------------------------------------------------------------------

const ADD_METHODS = ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener']
const ONCE_METHODS = new Set(['once', 'prependOnceListener'])
const REMOVE_METHODS = ['removeListener', 'off']

// EventEmitter#once wraps its listener and adds that wrapper with this.on().
// While a patched once() runs, the patched on() lets Node's wrapper of our
// wrapper (recognised by its `.listener`) through without wrapping it again.
let onceInFlight = null

/**
 * Binds emitters for one manager: listeners added after `bind(emitter, ctx)`
 * run in `ctx`. State lives in a WeakMap keyed by the emitter, never on it.
 */
class EmitterBinder {
  constructor (manager) {
    this._manager = manager
    this._bindings = new WeakMap()
  }

  /**
   * A frozen emitter, or one whose listener methods are non-configurable own
   * properties, cannot be patched and is returned unbound.
   * @param {object} emitter an EventEmitter (anything with on/addListener)
   * @param {*} ctx the context listeners run in (already resolved by the manager)
   * @returns {object} the emitter
   */
  bind (emitter, ctx) {
    if (emitter === null || (typeof emitter !== 'object' && typeof emitter !== 'function') ||
        (typeof emitter.on !== 'function' && typeof emitter.addListener !== 'function')) {
      throw new TypeError('bindEmitter: emitter must be an EventEmitter')
    }
    const existing = this._bindings.get(emitter)
    if (existing !== undefined) {
      // Already patched for this manager: never wrap twice. Listeners added
      // from now on run in the new context; earlier ones keep theirs.
      existing.ctx = ctx
      return emitter
    }
    if (!canPatch(emitter)) return emitter
    const binding = { ctx }
    this._bindings.set(emitter, binding)
    for (const method of ADD_METHODS) patchAdd(this._manager, emitter, method, binding)
    for (const method of REMOVE_METHODS) patchRemove(emitter, method)
    return emitter
  }
}

/** Frozen emitters, or ones with non-configurable methods, are left unbound. */
function canPatch (emitter) {
  if (!Object.isExtensible(emitter)) return false
  for (const method of ADD_METHODS.concat(REMOVE_METHODS)) {
    const own = Object.getOwnPropertyDescriptor(emitter, method)
    if (own !== undefined && !own.configurable) return false
  }
  return true
}

/** Replace `emitter[method]`, keeping enumerability of an own method, else non-enumerable. */
function define (emitter, method, value) {
  const own = Object.getOwnPropertyDescriptor(emitter, method)
  Object.defineProperty(emitter, method, {
    value,
    writable: true,
    configurable: true,
    enumerable: own !== undefined && own.enumerable === true
  })
}

function patchAdd (manager, emitter, method, binding) {
  const original = emitter[method]
  if (typeof original !== 'function') return
  const isOnce = ONCE_METHODS.has(method)
  define(emitter, method, function (event, listener) {
    if (typeof listener !== 'function' || (onceInFlight !== null && listener.listener === onceInFlight)) {
      return Reflect.apply(original, this, arguments)
    }
    const wrapped = manager.bindFunction(listener, binding.ctx)
    // Like Node's own once wrapper: listeners()/'newListener'/'removeListener'
    // report the user's listener, and removal can find it.
    wrapped.listener = listener
    const args = Array.prototype.slice.call(arguments)
    args[1] = wrapped
    if (!isOnce) return Reflect.apply(original, this, args)
    const outer = onceInFlight
    onceInFlight = wrapped
    try {
      return Reflect.apply(original, this, args)
    } finally {
      onceInFlight = outer
    }
  })
}

function patchRemove (emitter, method) {
  const original = emitter[method]
  if (typeof original !== 'function') return
  define(emitter, method, function (event, listener) {
    const entry = typeof listener === 'function' ? findEntry(this, event, listener) : undefined
    if (entry === undefined || entry === listener) return Reflect.apply(original, this, arguments)
    const args = Array.prototype.slice.call(arguments)
    args[1] = entry
    return Reflect.apply(original, this, args)
  })
}

const MAX_UNWRAP = 16

/**
 * The registered entry that removing `listener` must remove: like Node, the
 * last one that is `listener` or wraps it (through `.listener` links: our
 * wrappers, Node's once wrappers, and those of other managers).
 */
function findEntry (emitter, event, listener) {
  if (typeof emitter.rawListeners !== 'function') return undefined
  const entries = emitter.rawListeners(event)
  for (let i = entries.length - 1; i >= 0; i--) {
    let fn = entries[i]
    for (let depth = 0; depth < MAX_UNWRAP && typeof fn === 'function'; depth++) {
      if (fn === listener) return entries[i]
      fn = fn.listener
    }
  }
  return undefined
}

module.exports = {
  EmitterBinder,
  wrapFunction,
  toArgs,
  checkFunction,
  checkKey,
  checkStore,
  checkOptions
}
