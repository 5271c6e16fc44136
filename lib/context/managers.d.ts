/**
 * Context managers: which transaction/segment is running now, across
 * callbacks, timers, promises and await.
 *
 * A context is any value and comes back identical; `null` means none (an
 * `undefined` context reads back as `null`). With a store, a context that is
 * a number the store does not report as active (a handle of an ended
 * transaction) reads as `null` everywhere: `getContext()`, bound functions,
 * propagated callbacks, `contextOf()`.
 */

/** What the managers need of a SegmentStore: an O(1) check that never throws. */
export interface ActiveHandleStore {
  isActive(handle: unknown): boolean
}

/** Options of the legacy manager. */
export interface LegacyOptions {
  /** Propagate contexts through one async_hooks hook per manager. Default `true`. */
  asyncHooks?: boolean | undefined
  /**
   * A promise created with no current context takes the context of the
   * promise it chains from (so `p.then(cb)` attached from a contextless timer
   * runs `cb` in the context `p` was made in). Default `true`.
   */
  promiseParentFallback?: boolean | undefined
}

/** Constructor options, the same for both managers. */
export interface ContextManagerOptions {
  /** Handles this store does not report as active read as `null`. */
  store?: ActiveHandleStore | null | undefined
  /** Used by LegacyContextManager; AsyncLocalContextManager ignores it. */
  legacy?: LegacyOptions | null | undefined
}

/** Configuration of {@link createContextManager}; other keys are ignored. */
export interface ContextManagerConfig {
  feature_flag?: {
    /**
     * `false` selects LegacyContextManager; `true` or absent selects
     * AsyncLocalContextManager. Unknown flag names are warned about once per
     * name per process and ignored.
     */
    new_async_context?: boolean | undefined
    [flag: string]: unknown
  } | null | undefined
  store?: ActiveHandleStore | null | undefined
  legacy?: LegacyOptions | null | undefined
  [key: string]: unknown
}

/** Options of {@link ContextManager.enableDiagnostics}. Unknown keys are a TypeError. */
export interface DiagnosticsOptions {
  /** Events kept, the newest; an integer from 1 to 2^24. Default 4096. */
  size?: number | undefined
}

/**
 * A context transition:
 * - `set`: setContext(ctx)
 * - `run`: runInContext(ctx, …), or runWithoutContext(…) (handle -1), enters ctx
 * - `bound`: a bound function (bindFunction, or a bound emitter's listener) enters its ctx
 * - `restore`: that run or bound call returned or threw; `handle` is the context back in force
 * - `propagate`: legacy manager only: its hook made a non-null context
 *   current for an async callback (timer, immediate, tick, promise, I/O).
 *   AsyncLocalStorage propagates inside Node, where nothing can record it.
 */
export type ContextTransition = 'set' | 'run' | 'bound' | 'propagate' | 'restore'

export interface DiagnosticEvent {
  /** 0 for the first event since enableDiagnostics(), then 1, 2, … (gaps never; the oldest are overwritten). */
  seq: number
  type: ContextTransition
  /**
   * The context: the segment handle when it is one (an integer from 0 to
   * 2^30 - 1); -1 for no context (null or undefined); -2 for any other value.
   */
  handle: number
  /** The handle's transaction had already ended (the manager has a store that no longer reports it active). */
  ended: boolean
}

/** What {@link ContextManager.diagnostics} returns: plain data, `JSON.stringify` as it is. */
export interface DiagnosticsDump {
  /** Recording now. */
  enabled: boolean
  /** The ring's size; 0 when never enabled. */
  size: number
  /** Events recorded since enableDiagnostics(), kept or not. */
  recorded: number
  /** Events overwritten because the ring was full (`recorded - events.length`). */
  dropped: number
  /** Whether `propagate` events are recorded: true for the legacy manager with its hooks, false for ALS. */
  propagation: boolean
  /** The kept events, oldest first, `seq` consecutive. */
  events: DiagnosticEvent[]
}

/** Anything with EventEmitter's `on` or `addListener`. */
export type EmitterLike =
  | { on(event: string | symbol, listener: (...args: any[]) => void): unknown }
  | { addListener(event: string | symbol, listener: (...args: any[]) => void): unknown }

/** What both managers offer. `C` is the type of the contexts. */
export interface ContextManager<C = unknown> {
  /** The current context, or `null`. */
  getContext(): C | null

  /** Make `ctx` current from here on; prefer {@link runInContext}. */
  setContext(ctx: C | null | undefined): void

  /**
   * Run `fn` synchronously in `ctx` and return its result; the previous
   * context is back afterwards, also when `fn` throws (the error is
   * rethrown unchanged).
   * @throws {TypeError} when `fn` is not a function or `args` is neither an
   *   array nor an `arguments` object
   */
  runInContext<R, T = undefined, A extends unknown[] = unknown[]>(
    ctx: C | null | undefined,
    fn: (this: T, ...args: A) => R,
    thisArg?: T,
    args?: A | IArguments
  ): R

  /**
   * Run `fn` with no context: async work scheduled inside (timers, servers,
   * sockets, promises) carries `null`, not the caller's context.
   * @throws {TypeError} as {@link runInContext}
   */
  runWithoutContext<R, T = undefined, A extends unknown[] = unknown[]>(
    fn: (this: T, ...args: A) => R,
    thisArg?: T,
    args?: A | IArguments
  ): R

  /**
   * A wrapper that runs `fn` in `ctx` whatever context calls it; `this`,
   * arguments, return value, thrown errors, `name` and `length` are kept.
   * With `ctx` omitted or `undefined`, the context current at bind time is
   * captured; `null` binds to no context. A non-function comes back
   * unchanged. `fn` itself is not modified.
   */
  bindFunction<F>(fn: F, ctx?: C | null): F

  /**
   * Listeners added from now on (`on`, `addListener`, `once`,
   * `prependListener`, `prependOnceListener`) run in `ctx` (default: the
   * current context) whatever context emits. `removeListener`/`off` with
   * the original listener removes them; `listeners()` reports the original.
   *
   * Footprint: no own property is added. The emitter's prototype becomes
   * one (made once per manager and original prototype) that holds the
   * patched add/remove methods and inherits from the original, so
   * `instanceof` and `constructor` are unchanged. An emitter with listener
   * methods of its own has those replaced in place, keeping their
   * enumerability.
   * Binding an emitter again never wraps twice: listeners added afterwards
   * use the new context. Frozen emitters are returned unbound.
   * @returns the emitter
   * @throws {TypeError} when `emitter` has neither `on` nor `addListener`
   */
  bindEmitter<E extends EmitterLike>(emitter: E, ctx?: C | null): E

  /** Remember `ctx` for `object` in a per-manager WeakMap (`null`/`undefined` forgets it). */
  associate<O extends object>(object: O, ctx: C | null | undefined): O

  /** The context associated with `object`, or `null`. */
  contextOf(object: object): C | null

  enable(): this
  disable(): this

  /**
   * Record context transitions in a ring of `options.size` events (default
   * 4096), from now on, replacing any earlier ring. Off by default; O(1) and
   * no allocation per event while on; one branch per call while off.
   * @throws {TypeError} options not an object, an unknown option, size not a number
   * @throws {RangeError} size not an integer from 1 to 2^24
   */
  enableDiagnostics(options?: DiagnosticsOptions | null): this
  /** Stop recording; what was recorded stays readable. */
  disableDiagnostics(): this
  /** The recorded events, oldest first; a new plain object each call. */
  diagnostics(): DiagnosticsDump
}

/**
 * Contexts on Node's AsyncLocalStorage (one per manager). A continuation
 * takes its context from where it was registered (`.then()`, `setTimeout()`),
 * never from the promise it chains from.
 */
export declare class AsyncLocalContextManager<C = unknown> implements ContextManager<C> {
  constructor(options?: ContextManagerOptions | null)
  getContext(): C | null
  /**
   * `AsyncLocalStorage#enterWith`. Hazard: inside an async function before
   * its first `await`, the context leaks into the caller; on Node 24 each
   * call allocates a frame. Prefer {@link runInContext}.
   */
  setContext(ctx: C | null | undefined): void
  runInContext<R, T = undefined, A extends unknown[] = unknown[]>(
    ctx: C | null | undefined, fn: (this: T, ...args: A) => R, thisArg?: T, args?: A | IArguments): R
  runWithoutContext<R, T = undefined, A extends unknown[] = unknown[]>(
    fn: (this: T, ...args: A) => R, thisArg?: T, args?: A | IArguments): R
  bindFunction<F>(fn: F, ctx?: C | null): F
  bindEmitter<E extends EmitterLike>(emitter: E, ctx?: C | null): E
  associate<O extends object>(object: O, ctx: C | null | undefined): O
  contextOf(object: object): C | null
  /** No-op: AsyncLocalStorage switches itself back on at the next run. */
  enable(): this
  /**
   * `AsyncLocalStorage#disable()`: the context reads as `null` until the
   * next `runInContext`/`setContext`/bound call (on Node 24 Node clears only
   * the current frame).
   */
  disable(): this
  /** Records set, run, bound and restore; never propagate (`propagation: false`). */
  enableDiagnostics(options?: DiagnosticsOptions | null): this
  disableDiagnostics(): this
  diagnostics(): DiagnosticsDump
}

/**
 * Contexts in a slot owned by the manager, propagated by one async_hooks
 * hook per manager, enabled at construction. A promise created with no
 * context falls back to the context of the promise it chains from.
 */
export declare class LegacyContextManager<C = unknown> implements ContextManager<C> {
  /** @throws {TypeError} for a bad store or non-boolean legacy options */
  constructor(options?: ContextManagerOptions | null)
  /**
   * Entries of the hook table (async id → context); back to 0 once async
   * work is done. Node's own lazily made timers count too while pending: the
   * HTTP server's Date-header cache timer, made inside whichever request
   * first needed it, holds one entry for up to a second.
   */
  readonly hookTableSize: number
  getContext(): C | null
  /** Lasts until the end of the current callback, and reaches what it schedules. */
  setContext(ctx: C | null | undefined): void
  runInContext<R, T = undefined, A extends unknown[] = unknown[]>(
    ctx: C | null | undefined, fn: (this: T, ...args: A) => R, thisArg?: T, args?: A | IArguments): R
  runWithoutContext<R, T = undefined, A extends unknown[] = unknown[]>(
    fn: (this: T, ...args: A) => R, thisArg?: T, args?: A | IArguments): R
  bindFunction<F>(fn: F, ctx?: C | null): F
  bindEmitter<E extends EmitterLike>(emitter: E, ctx?: C | null): E
  associate<O extends object>(object: O, ctx: C | null | undefined): O
  contextOf(object: object): C | null
  /** Switch the hook back on (no effect with `asyncHooks: false`). */
  enable(): this
  /**
   * Switch the hook off: nothing propagates and the hook table is emptied;
   * get/set/run/bind keep working synchronously.
   */
  disable(): this
  /** Records set, run, bound, restore and propagate (the hook's swap-in of a non-null context). */
  enableDiagnostics(options?: DiagnosticsOptions | null): this
  disableDiagnostics(): this
  diagnostics(): DiagnosticsDump
}

/**
 * The name of the environment variable that overrides
 * `config.feature_flag.new_async_context`.
 */
export declare const ENV_FLAG: 'SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT'

/**
 * Make the manager the configuration asks for.
 *
 * The environment variable `SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT`,
 * read at each call, overrides `config.feature_flag.new_async_context`:
 * `true`/`false` (any case, surrounding blanks ignored; empty means unset).
 * Any other value is not an error: it is reported once per value through
 * `process.emitWarning` (code `SEGMENT_CONTEXT_INVALID_ENV`) and ignored, so
 * a typo in the environment never stops an application from starting.
 * Unknown names under `feature_flag` (code `SEGMENT_CONTEXT_UNKNOWN_FLAG`)
 * and under `legacy` (code `SEGMENT_CONTEXT_UNKNOWN_OPTION`) are warned
 * about once per name per process.
 *
 * @throws {TypeError} naming the option: config not an object, flag not a
 *   boolean, store without an `isActive` function, legacy options not booleans
 */
export declare function createContextManager<C = unknown>(
  config?: ContextManagerConfig | null
): AsyncLocalContextManager<C> | LegacyContextManager<C>

/**
 * Whether AsyncLocalStorage runs on AsyncContextFrame (Node 24's default)
 * rather than on async_hooks (Node 20); found once by behaviour, not from
 * the version number.
 */
export declare function isFrameBased(): boolean
