'use strict'

// Every public argument check of the package, in one place and one style.
//
// A check names where the value was given and what was expected, then what
// it got: `runInContext: fn must be a function, got number 5`. A value of the
// wrong type is a TypeError, a value of the right type out of range a
// RangeError.
//
// The one rule for unknown options: an options object of ours (the store's,
// a manager's, the diagnostics', the bridge's, `config.legacy`) refuses a key
// it does not know with a TypeError, so a typo never passes silently. The
// agent's own configuration handed to `createContextManager(config)` is read,
// never checked: only the keys this package knows are looked at, and the
// agent's other settings and feature flags are left alone without a word.

const { isArgumentsObject } = require('node:util').types

const EMPTY_ARGS = Object.freeze([])
const SHOWN = 40

/**
 * A short description of a value for error messages: its kind, and for
 * primitives the value itself, strings cut to 40 characters (a 1 MB string
 * must not make a 1 MB message).
 * @param {unknown} value
 * @returns {string}
 */
function describe (value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  const type = typeof value
  if (type === 'string') {
    const shown = value.length > SHOWN ? value.slice(0, SHOWN) + '…' : value
    return `a string (${JSON.stringify(shown)}, length ${value.length})`
  }
  if (type === 'number' || type === 'boolean' || type === 'bigint') return `${type} ${String(value)}`
  if (type === 'function') return 'a function'
  if (type === 'object') return 'an object'
  return type
}

/** The TypeError `<where> must be <expected>, got <value>`. */
function typeError (where, expected, value) {
  return new TypeError(`${where} must be ${expected}, got ${describe(value)}`)
}

/** True for a plain options-like object: not null, not an array, not a function. */
function isObject (value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * An options object: `undefined`/`null` give `{}`; otherwise an object whose
 * own keys are all in `known` (a TypeError naming the first unknown one).
 * @param {unknown} options
 * @param {string} where e.g. 'SegmentStore: options'
 * @param {readonly string[]} known
 * @returns {object}
 */
function checkOptions (options, where, known) {
  if (options === undefined || options === null) return {}
  if (!isObject(options)) throw typeError(where, 'an object', options)
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const shown = key.length > SHOWN ? `${key.slice(0, SHOWN)}… (${key.length} characters)` : key
      throw new TypeError(`${where}: unknown option ${JSON.stringify(shown)} (known: ${known.join(', ')})`)
    }
  }
  return options
}

/**
 * An object that is read for the keys this package knows and never checked
 * for others (the agent's configuration): `undefined`/`null` give `{}`.
 */
function checkConfig (config, where) {
  if (config === undefined || config === null) return {}
  if (!isObject(config)) throw typeError(where, 'an object', config)
  return config
}

function checkFunction (fn, where) {
  if (typeof fn !== 'function') throw typeError(where, 'a function', fn)
  return fn
}

/** `undefined` → `fallback`; otherwise a boolean. */
function checkBoolean (value, where, fallback) {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw typeError(where, 'a boolean', value)
  return value
}

/** `undefined` → `fallback`; otherwise an integer in `[min, max]`. */
function checkInteger (value, where, min, max, fallback) {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw typeError(where, 'a number', value)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${where} must be an integer from ${min} to ${max}, got ${value}`)
  }
  return value
}

/**
 * The `args` of runInContext/runWithoutContext: `undefined` (none), an array
 * or an `arguments` object.
 */
function checkArgs (args, where) {
  if (args === undefined) return EMPTY_ARGS
  if (Array.isArray(args) || isArgumentsObject(args)) return args
  throw typeError(where, 'an array or an arguments object', args)
}

/** A WeakMap key (associate/contextOf): an object or a function. */
function checkKey (object, where) {
  if (object === null || (typeof object !== 'object' && typeof object !== 'function')) {
    throw typeError(where, 'an object or a function', object)
  }
  return object
}

/**
 * What the managers need of a store: `undefined`/`null` → null; otherwise
 * something with an `isActive(handle)` function.
 */
function checkStore (store, where) {
  if (store === undefined || store === null) return null
  if ((typeof store !== 'object' && typeof store !== 'function') || typeof store.isActive !== 'function') {
    throw typeError(where, 'a SegmentStore (an object with an isActive(handle) function)', store)
  }
  return store
}

/**
 * A time in ms on the performance.now() clock: `undefined` → `now()`;
 * otherwise a finite number >= 0, with -0 made 0 (so that it orders and
 * prints as 0).
 */
function checkTime (value, where, now) {
  if (value === undefined) return now()
  if (typeof value !== 'number') throw typeError(where, 'a number (ms on the performance.now() clock)', value)
  if (!(value >= 0 && value < Infinity)) throw new RangeError(`${where} must be a finite number >= 0, got ${value}`)
  return value + 0
}

function checkString (value, where) {
  if (typeof value !== 'string') throw typeError(where, 'a string', value)
  return value
}

/** A segment handle or null: true for a number, false for null. */
function checkHandle (value, where) {
  if (typeof value === 'number') return true
  if (value === null) return false
  throw typeError(where, 'a segment handle (a number) or null', value)
}

/**
 * Something with every method in `methods`: a context manager, for the
 * customer API and the OpenTelemetry bridge.
 */
function checkManager (manager, where, methods) {
  if (manager === null || typeof manager !== 'object') {
    throw typeError(where, 'a context manager from createContextManager()', manager)
  }
  for (const method of methods) {
    if (typeof manager[method] !== 'function') {
      throw new TypeError(`${where} must be a context manager from createContextManager() (it has no ${method} method)`)
    }
  }
  return manager
}

// The listener methods a manager patches on a bound emitter.
const EMITTER_ADD_METHODS = Object.freeze(['on', 'addListener', 'prependListener', 'once', 'prependOnceListener'])
const EMITTER_REMOVE_METHODS = Object.freeze(['removeListener', 'off'])
const EMITTER_METHODS = Object.freeze(EMITTER_ADD_METHODS.concat(EMITTER_REMOVE_METHODS))

/** True for something with `on` or `addListener`. */
function isEmitter (emitter) {
  return emitter !== null && (typeof emitter === 'object' || typeof emitter === 'function') &&
    (typeof emitter.on === 'function' || typeof emitter.addListener === 'function')
}

/** An EventEmitter (anything with `on` or `addListener`). */
function checkEmitter (emitter, where) {
  if (!isEmitter(emitter)) throw typeError(where, 'an EventEmitter (with on or addListener)', emitter)
  return emitter
}

/**
 * An emitter whose listeners can be bound: a frozen one, or one whose
 * listener methods are non-configurable own properties, would come back
 * unbound and its listeners would lose the context without a word. The
 * managers return such an emitter unbound; the customer API refuses it.
 */
function checkBindableEmitter (emitter, where) {
  checkEmitter(emitter, where)
  if (!Object.isExtensible(emitter)) {
    throw new TypeError(`${where} is frozen, sealed or not extensible, so its listeners cannot be bound`)
  }
  for (const method of EMITTER_METHODS) {
    const own = Object.getOwnPropertyDescriptor(emitter, method)
    if (own !== undefined && !own.configurable) {
      throw new TypeError(`${where}.${method} is a non-configurable property, so its listeners cannot be bound`)
    }
  }
  return emitter
}

module.exports = {
  describe,
  typeError,
  isObject,
  checkOptions,
  checkConfig,
  checkFunction,
  checkBoolean,
  checkInteger,
  checkArgs,
  checkKey,
  checkStore,
  checkTime,
  checkString,
  checkHandle,
  checkManager,
  isEmitter,
  checkEmitter,
  checkBindableEmitter,
  EMITTER_ADD_METHODS,
  EMITTER_REMOVE_METHODS,
  EMITTER_METHODS
}
