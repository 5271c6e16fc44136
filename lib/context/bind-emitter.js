'use strict'

// Bound emitters, for both context managers: listeners added after
// `bind(emitter, ctx)` run in `ctx` through `manager.bindFunction`.
//
// Nothing here writes a property onto a user's function or object. The one
// footprint is on the emitter: its prototype becomes one that holds the
// patched add/remove listener methods and inherits from the original (see
// EmitterBinder).

const { checkEmitter, EMITTER_ADD_METHODS: ADD_METHODS, EMITTER_REMOVE_METHODS: REMOVE_METHODS, EMITTER_METHODS: METHODS } = require('../validate')

// once/prependOnceListener are done here, on top of on/prependListener, so
// that the one-shot wrapper's `.listener` is the user's listener (Node's own
// once wrapper around our wrapper would make listeners() report ours).
const ONCE_BASE = { once: 'on', prependOnceListener: 'prependListener' }

/**
 * Binds emitters for one manager: listeners added after `bind(emitter, ctx)`
 * run in `ctx`. State lives in a WeakMap keyed by the emitter, never on it.
 *
 * How the add/remove methods are replaced, without a property on the
 * emitter: the emitter's prototype becomes a prototype made once per manager
 * and original prototype, which holds the patched methods and inherits from
 * the original (so `instanceof`, `constructor` and every other method are
 * unchanged). That costs about 0.1 µs per bind; defining seven own
 * properties cost about 4 µs (V8 turns the emitter into a dictionary). Only
 * an emitter with listener methods of its own gets its own properties
 * replaced instead (keeping their enumerability).
 */
class EmitterBinder {
  constructor (manager) {
    this._manager = manager
    this._bindings = new WeakMap()
    this._prototypes = new WeakMap() // original prototype → patched prototype
  }

  /**
   * A frozen emitter, or one whose listener methods are non-configurable own
   * properties, cannot be patched and is returned unbound.
   * @param {object} emitter an EventEmitter (anything with on/addListener)
   * @param {*} ctx the context listeners run in (already resolved by the manager)
   * @returns {object} the emitter
   */
  bind (emitter, ctx) {
    checkEmitter(emitter, 'bindEmitter: emitter')
    const existing = this._bindings.get(emitter)
    if (existing !== undefined) {
      // Already patched for this manager: never wrap twice. Listeners added
      // from now on run in the new context; earlier ones keep theirs.
      existing.ctx = ctx
      return emitter
    }
    if (!Object.isExtensible(emitter)) return emitter
    let ownMethods = false
    for (let i = 0; i < METHODS.length; i++) {
      if (Object.hasOwn(emitter, METHODS[i])) ownMethods = true
    }
    if (ownMethods) return this._bindOwnMethods(emitter, ctx)
    const proto = Object.getPrototypeOf(emitter)
    let patched = this._prototypes.get(proto)
    if (patched === undefined) {
      patched = Object.create(proto, patchedMethods(this._manager, this._bindings, (method) => proto[method]))
      this._prototypes.set(proto, patched)
    }
    this._bindings.set(emitter, { ctx })
    Object.setPrototypeOf(emitter, patched)
    return emitter
  }

  /** The rare emitter with listener methods of its own: replace those properties. */
  _bindOwnMethods (emitter, ctx) {
    for (const method of METHODS) {
      const own = Object.getOwnPropertyDescriptor(emitter, method)
      if (own !== undefined && !own.configurable) return emitter
    }
    const originals = {}
    for (const method of METHODS) originals[method] = emitter[method]
    const descriptors = patchedMethods(this._manager, this._bindings, (method) => originals[method])
    this._bindings.set(emitter, { ctx })
    for (const method of METHODS) {
      const own = Object.getOwnPropertyDescriptor(emitter, method)
      Object.defineProperty(emitter, method, { ...descriptors[method], enumerable: own !== undefined && own.enumerable === true })
    }
    return emitter
  }
}

/**
 * The patched add/remove methods, as non-enumerable property descriptors.
 * `originalOf(method)` gives the method each one replaces. Called on an
 * object this manager did not bind (borrowed with `.call`), a patched method
 * behaves as the original.
 */
function patchedMethods (manager, bindings, originalOf) {
  const descriptors = {}
  const define = (method, value) => {
    descriptors[method] = { value, writable: true, configurable: true, enumerable: false }
  }
  for (const method of ADD_METHODS) {
    const base = ONCE_BASE[method]
    define(method, function (event, listener) {
      const original = originalOf(method)
      const binding = bindings.get(this)
      if (binding === undefined || typeof listener !== 'function') return Reflect.apply(original, this, arguments)
      const wrapped = manager.bindFunction(listener, binding.ctx)
      // Like Node's own once wrapper: listeners()/'newListener'/'removeListener'
      // report the user's listener, and removal can find it.
      wrapped.listener = listener
      let entry = wrapped
      let add = original
      if (base !== undefined && typeof originalOf(base) === 'function') {
        entry = oneShot(this, event, wrapped, listener, originalOf('removeListener'))
        add = originalOf(base)
      }
      const args = Array.prototype.slice.call(arguments)
      args[1] = entry
      return Reflect.apply(add, this, args)
    })
  }
  for (const method of REMOVE_METHODS) {
    define(method, function (event, listener) {
      const original = originalOf(method)
      const entry = typeof listener === 'function' ? findEntry(this, event, listener) : undefined
      if (entry === undefined || entry === listener) return Reflect.apply(original, this, arguments)
      const args = Array.prototype.slice.call(arguments)
      args[1] = entry
      return Reflect.apply(original, this, args)
    })
  }
  return descriptors
}

/**
 * A listener that removes itself, then calls `wrapped`, the first time it
 * runs (EventEmitter#once's semantics), with `.listener` the user's.
 */
function oneShot (emitter, event, wrapped, listener, removeListener) {
  let fired = false
  const once = function () {
    if (fired) return undefined
    fired = true
    if (typeof removeListener === 'function') Reflect.apply(removeListener, emitter, [event, once])
    return Reflect.apply(wrapped, this, arguments)
  }
  once.listener = listener
  return once
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

module.exports = { EmitterBinder }
