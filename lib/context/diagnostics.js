'use strict'

/**
 * The context managers' optional recorder of context transitions: a ring of
 * fixed size in two typed arrays, O(1) per event, no allocation per event,
 * off by default. A manager holds `null` while it is off, so the hot path
 * pays one predictable branch on a field and nothing else.
 *
 * Each event is a type and a context reduced to a number: the handle itself
 * when the context is a segment handle (an integer from 0 to 2^30 - 1), -1
 * for no context (null or undefined), -2 for any other value (a string, an
 * object, another number). With a store, a handle whose transaction had
 * already ended when the event happened is flagged `ended`: that is the
 * signature of a context kept alive by a timer, a pool or a closure.
 *
 * Types:
 * - `set`: setContext(ctx)
 * - `run`: runInContext(ctx, …) or runWithoutContext(…) (ctx -1) enters ctx
 * - `bound`: a bound function (bindFunction, a bound emitter's listener) enters its ctx
 * - `restore`: such a run or bound call returned (or threw); the context back in force
 * - `propagate`: the legacy manager's hook made a non-null context current
 *   for an async callback (timers, immediates, ticks, promises, I/O). The
 *   ALS manager has no such event: AsyncLocalStorage propagates inside Node,
 *   invisibly.
 */

const { checkOptions, checkInteger } = require('../validate')
const { readLayout } = require('../store/layout')

const TYPE_NAMES = ['set', 'run', 'bound', 'propagate', 'restore']
const SET = 0
const RUN = 1
const BOUND = 2
const PROPAGATE = 3
const RESTORE = 4
const ENDED = 0x80
const TYPE_MASK = 0x7f

const NONE = -1
const OTHER = -2
// The largest handle, from the store's layout; read when the first recorder
// is made, so that requiring the managers loads no binding.
let MAX_HANDLE
const DEFAULT_SIZE = 4096
const MAX_SIZE = 1 << 24

/** `enableDiagnostics(options)`: the ring size, or a TypeError/RangeError naming the option. */
function readDiagnosticsOptions (options) {
  const o = checkOptions(options, 'enableDiagnostics: options', ['size'])
  return checkInteger(o.size, 'enableDiagnostics: options.size', 1, MAX_SIZE, DEFAULT_SIZE)
}

class Recorder {
  /**
   * @param {number} size events kept (the newest)
   * @param {((ctx: unknown) => boolean)|null} isLive the manager's liveness check: flags ended contexts
   */
  constructor (size, isLive) {
    if (MAX_HANDLE === undefined) MAX_HANDLE = readLayout(require('../native').binding).MAX_HANDLE
    this.size = size
    this.isLive = isLive
    this.types = new Uint8Array(size)
    this.handles = new Int32Array(size)
    this.at = 0 // where the next event goes
    this.count = 0 // events recorded since enabled
  }

  /** O(1): overwrites the oldest event once the ring is full. */
  record (type, ctx) {
    let code
    if (typeof ctx === 'number' && (ctx & MAX_HANDLE) === ctx) {
      code = ctx
      if (this.isLive !== null && !this.isLive(ctx)) type |= ENDED
    } else {
      code = ctx === null || ctx === undefined ? NONE : OTHER
    }
    const i = this.at
    this.types[i] = type
    this.handles[i] = code
    this.at = i + 1 === this.size ? 0 : i + 1
    this.count++
  }

  /** The ring as a plain, JSON-able object, oldest event first. */
  dump (enabled, propagation) {
    const n = Math.min(this.count, this.size)
    const first = this.count - n // seq of the oldest event kept
    const start = this.count > this.size ? this.at : 0
    const events = new Array(n)
    for (let k = 0; k < n; k++) {
      let i = start + k
      if (i >= this.size) i -= this.size
      const t = this.types[i]
      events[k] = { seq: first + k, type: TYPE_NAMES[t & TYPE_MASK], handle: this.handles[i], ended: (t & ENDED) !== 0 }
    }
    return { enabled, size: this.size, recorded: this.count, dropped: first, propagation, events }
  }
}

/** What `diagnostics()` gives when the recorder was never enabled. */
function emptyDump (propagation) {
  return { enabled: false, size: 0, recorded: 0, dropped: 0, propagation, events: [] }
}

module.exports = {
  Recorder,
  TYPE_NAMES,
  readDiagnosticsOptions,
  emptyDump,
  SET,
  RUN,
  BOUND,
  PROPAGATE,
  RESTORE,
  NONE,
  OTHER,
  DEFAULT_SIZE,
  MAX_SIZE
}
