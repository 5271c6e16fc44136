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
const MAX_HANDLE = 2 ** 30 - 1
const DEFAULT_SIZE = 4096
const MAX_SIZE = 1 << 24

function describe (v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'string') return `a string of length ${v.length}`
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`
  return typeof v
}

/** `enableDiagnostics(options)`: the ring size, or a TypeError/RangeError naming the option. */
function readDiagnosticsOptions (options) {
  if (options === undefined || options === null) return DEFAULT_SIZE
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`enableDiagnostics: options must be an object, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (key !== 'size') throw new TypeError(`enableDiagnostics: unknown option "${key}" (known: size)`)
  }
  const size = options.size
  if (size === undefined) return DEFAULT_SIZE
  if (typeof size !== 'number') throw new TypeError(`enableDiagnostics: options.size must be a number, got ${describe(size)}`)
  if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) {
    throw new RangeError(`enableDiagnostics: options.size must be an integer from 1 to ${MAX_SIZE}, got ${size}`)
  }
  return size
}

class Recorder {
  /**
   * @param {number} size events kept (the newest)
   * @param {{isActive(h: unknown): boolean}|null} store flags handles of ended transactions
   */
  constructor (size, store) {
    this.size = size
    this.store = store
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
      if (this.store !== null && !this.store.isActive(ctx)) type |= ENDED
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
