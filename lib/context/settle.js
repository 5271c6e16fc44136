'use strict'

// What runAndEnd (ContextManagerBase, AsyncLocalContextManager) needs to end
// a segment when a function's promise settles.

const { isPromise } = require('node:util').types

const PromiseThen = Promise.prototype.then

/**
 * True for a native promise (of any realm). runAndEnd waits for these only:
 * calling `then` on any other thenable can start work (a query builder's
 * `then` runs the query).
 */
function isNativePromise (value) {
  return typeof value === 'object' && value !== null && (value instanceof Promise || isPromise(value))
}

/**
 * `promise` followed by `store.endSegment(segment)` once it settles: a
 * promise with the same value or reason. Allocates two closures; see the
 * AsyncLocalStorage manager for the way without.
 */
function endWhenSettled (store, segment, promise) {
  return PromiseThen.call(promise, (value) => {
    store.endSegment(segment)
    return value
  }, (error) => {
    store.endSegment(segment)
    throw error
  })
}

module.exports = { isNativePromise, endWhenSettled, PromiseThen }
