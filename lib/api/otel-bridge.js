'use strict'

/**
 * OtelContextManager: `@opentelemetry/api`'s ContextManager on one of our
 * context managers, so that code written against OpenTelemetry (`context.with`,
 * `context.bind`, `trace.setSpan`, ...) runs on the same propagation as the
 * agent. The API is documented in otel-bridge.d.ts; the comments here are
 * implementation notes.
 *
 * The OpenTelemetry Context object is what the manager holds, as it is: it
 * is the application's own immutable map, and `active()` must give back the
 * very object that was passed to `with()`.
 *
 * `@opentelemetry/api` is an optional peer dependency, required lazily (at the
 * first construction) and resolved normally from here, so that the
 * application's single copy is the one whose ROOT_CONTEXT `active()` returns.
 * Requiring this file does not load it.
 */

const { EventEmitter } = require('node:events')
const { AsyncLocalContextManager } = require('../context/als-manager')
const v = require('../validate')

const API_NAME = '@opentelemetry/api'
// What the bridge needs of a manager (both managers have all of them).
const MANAGER_METHODS = ['getContext', 'setContext', 'runInContext', 'bindFunction', 'bindEmitter', 'enable', 'disable']
const OPTION_KEYS = ['manager']

let api

/** `@opentelemetry/api`, loaded once; a clear Error when it is not installed. */
function loadApi () {
  if (api === undefined) {
    try {
      api = require(API_NAME)
    } catch (error) {
      if (error !== null && typeof error === 'object' && error.code === 'MODULE_NOT_FOUND' &&
          typeof error.message === 'string' && error.message.includes(`'${API_NAME}'`)) {
        const missing = new Error(`OtelContextManager needs ${API_NAME}, an optional peer dependency of ` +
          `segment-context that is not installed: run \`npm install ${API_NAME}\` in the application`)
        missing.code = 'SEGMENT_CONTEXT_OTEL_API_MISSING'
        missing.cause = error
        throw missing
      }
      throw error
    }
  }
  return api
}

function checkOptions (options) {
  const o = v.checkOptions(options, 'OtelContextManager: options', OPTION_KEYS)
  if (o.manager === undefined || o.manager === null) return undefined
  return v.checkManager(o.manager, 'OtelContextManager: options.manager', MANAGER_METHODS)
}

/**
 * The token of `attach()`: `dispose()` puts back the context that was current
 * before, once; later calls do nothing.
 */
class AttachToken {
  constructor (manager, previous) {
    this._manager = manager
    this._previous = previous
    this._disposed = false
  }

  dispose () {
    if (this._disposed) return
    this._disposed = true
    const previous = this._previous
    this._previous = null // keep nothing alive after disposal
    this._manager.setContext(previous)
  }
}
if (typeof Symbol.dispose === 'symbol') {
  // `using token = manager.attach(ctx)` where the language has it.
  Object.defineProperty(AttachToken.prototype, Symbol.dispose, {
    value: AttachToken.prototype.dispose,
    writable: true,
    configurable: true
  })
}

class OtelContextManager {
  /** Loads `@opentelemetry/api` first: without it, nothing else is checked. */
  constructor (options) {
    const otel = loadApi()
    const manager = checkOptions(options)
    this._manager = manager === undefined ? new AsyncLocalContextManager() : manager
    this._root = otel.ROOT_CONTEXT
    const m = this._manager
    this._detach = typeof m._detachResult === 'function' ? (result) => m._detachResult(result) : (result) => result
  }

  /** The manager holds the Context object itself; no context is ROOT_CONTEXT. */
  active () {
    const ctx = this._manager.getContext()
    return ctx === null ? this._root : ctx
  }

  /** The arguments after `thisArg` are copied only when there are any. */
  with (context, fn, thisArg) {
    const n = arguments.length
    // The result goes through the manager's _detachResult: on the legacy manager the
    // promise-parent fallback stops at it, so `await context.with(ctx, fn)`
    // leaves the caller in its own context, as OpenTelemetry's API requires.
    if (n <= 3) return this._detach(this._manager.runInContext(context, fn, thisArg))
    const args = new Array(n - 3)
    for (let i = 3; i < n; i++) args[i - 3] = arguments[i]
    return this._detach(this._manager.runInContext(context, fn, thisArg, args))
  }

  /** Only real EventEmitters are bound as emitters, as in OpenTelemetry's own managers. */
  bind (context, target) {
    if (typeof target === 'function') return this._manager.bindFunction(target, context)
    if (target instanceof EventEmitter) return this._manager.bindEmitter(target, context)
    return target
  }

  /** A setContext, and a token that remembers what to put back. */
  attach (context) {
    const token = new AttachToken(this._manager, this._manager.getContext())
    this._manager.setContext(context)
    return token
  }

  enable () {
    this._manager.enable()
    return this
  }

  disable () {
    const manager = this._manager
    manager.disable()
    // OpenTelemetry's disable() clears the active context at once. The
    // legacy manager keeps a callback's context until the callback returns
    // (managers.d.ts): clear it here (only when set: on the ALS manager a
    // set would switch the storage back on).
    if (manager.getContext() !== null) manager.setContext(null)
    return this
  }
}

module.exports = { OtelContextManager }
