/**
 * Types of lib/context/: the context managers, which say which
 * transaction/segment is running now, across callbacks, timers, promises and
 * await. This is the one home of the managers' API documentation (the JS
 * files carry implementation notes only); the behaviour contract is
 * docs/semantics.md.
 *
 * The shared API is declared once, on {@link ContextManagerBase} (the class
 * both managers extend, lib/context/base-manager.js);
 * {@link AsyncLocalContextManager} and {@link LegacyContextManager} declare
 * only what differs. One declaration file covers the folder's modules:
 * base-manager.js, als-manager.js, legacy-manager.js and
 * create-context-manager.js (their internal helpers are not declared).
 *
 * A context is any value and comes back identical; `null` means none (an
 * `undefined` context reads back as `null`). A context that has ended (see
 * {@link ContextManagerOptions.isActive}) reads as `null` everywhere:
 * `getContext()`, bound functions, propagated callbacks, `contextOf()`,
 * `storage.getStore()`.
 */

/** What the managers need of a SegmentStore: an O(1) check that never throws. */
export interface ActiveHandleStore {
  isActive(handle: unknown): boolean
  /** What {@link ContextManagerBase.runAndEnd} calls; a SegmentStore has it. */
  endSegment?(handle: number): void
}

/** Options of the legacy manager (`options.legacy`, `config.legacy`). Unknown keys are a TypeError. */
export interface LegacyOptions {
  /** Propagate contexts through the process's shared async_hooks hook. Default `true`. */
  asyncHooks?: boolean | undefined
  /**
   * A promise created with no current context takes the context of the
   * promise it chains from (so `p.then(cb)` attached from a contextless timer
   * runs `cb` in the context `p` was made in). Default `true`.
   */
  promiseParentFallback?: boolean | undefined
}

/** Constructor options, the same for both managers. Unknown keys are a TypeError. */
export interface ContextManagerOptions<C = unknown> {
  /** Handles this store does not report as active read as `null` (unless `isActive` is given). */
  store?: ActiveHandleStore | null | undefined
  /**
   * Whether `ctx` is still live: a context for which it returns false reads
   * as `null` wherever a context is read (`getContext()`, bound functions,
   * propagated callbacks, `contextOf()`), and is not propagated. The
   * liveness hook for agents whose contexts are objects; `null` and
   * `undefined` never reach it. When given it replaces the store's check.
   * Default: with a `store`, a number the store does not report as active
   * is stale (any other value is live); without one, every context is live.
   */
  isActive?: ((ctx: C) => boolean) | null | undefined
  /** Used by LegacyContextManager; AsyncLocalContextManager ignores it. */
  legacy?: LegacyOptions | null | undefined
}

/**
 * Configuration of {@link createContextManager}: the agent's own
 * configuration, read and never checked for keys this package does not
 * know: other settings and unknown feature flags are silently ignored.
 */
export interface ContextManagerConfig<C = unknown> {
  feature_flag?: {
    /**
     * `false` selects LegacyContextManager; `true` or absent selects
     * AsyncLocalContextManager.
     */
    new_async_context?: boolean | undefined
    [flag: string]: unknown
  } | null | undefined
  /**
   * `true`: the environment variable
   * `SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT` ({@link ENV_FLAG}), when
   * set, wins over `feature_flag.new_async_context`. Default `false`: the
   * environment is not read.
   */
  allowEnvOverride?: boolean | undefined
  /** Passed to the manager: see {@link ContextManagerOptions.store}. */
  store?: ActiveHandleStore | null | undefined
  /** Passed to the manager: see {@link ContextManagerOptions.isActive}. */
  isActive?: ((ctx: C) => boolean) | null | undefined
  /** Passed to the legacy manager; checked whichever manager is made (unknown keys are a TypeError). */
  legacy?: LegacyOptions | null | undefined
  [key: string]: unknown
}

/** Options of {@link ContextManagerBase.enableDiagnostics}. Unknown keys are a TypeError. */
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

/** What {@link ContextManagerBase.diagnostics} returns: plain data, `JSON.stringify` as it is. */
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

/**
 * A listener of {@link ContextManagerBase.onContextSwitch}: the kind of
 * transition and the context it makes current (the value as given; `null`
 * for none).
 */
export type ContextSwitchListener<C = unknown> = (type: ContextTransition, ctx: C | null) => void

/**
 * `manager.storage`: an `AsyncLocalStorage`-shaped face of a manager, for
 * code that expects one: `diagnostics_channel`'s `channel.bindStore(store,
 * transform)` and `TracingChannel`, and agents written against
 * `AsyncLocalStorage`. Every call goes through the manager, so its
 * semantics (stale contexts, restore on throw, propagation) and its
 * observers apply. Made by the manager, one per manager.
 */
export declare class ContextStorage<C = unknown> {
  private constructor()
  /** `getContext()`, except that no context (and an ended one) reads as `undefined`. */
  getStore(): C | undefined
  /**
   * `runInContext(store, fn, undefined, args)`: runs `fn(...args)` in
   * `store` and returns its result; the previous context is back
   * afterwards, also when `fn` throws.
   */
  run<R, A extends unknown[] = []>(store: C | null | undefined, fn: (...args: A) => R, ...args: A): R
  /** `setContext(store)`, with its hazards (see the manager's setContext). */
  enterWith(store: C | null | undefined): void
  /** `runWithoutContext(fn, undefined, args)`: runs `fn(...args)` with no context. */
  exit<R, A extends unknown[] = []>(fn: (...args: A) => R, ...args: A): R
  /** The manager's `disable()`. */
  disable(): void
  /**
   * Make `store` current until the returned scope is disposed, which puts
   * the previous context back (once). Node 26's diagnostics_channel
   * `runStores` uses this instead of `run`. Observers see `run` and
   * `restore`, as for a run.
   */
  withScope(store: C | null | undefined): ContextScope
}

/** What {@link ContextStorage.withScope} returns. */
export interface ContextScope {
  /**
   * Puts back the context that was current before `withScope()`; later
   * calls do nothing. (At run time the scope also has `[Symbol.dispose]`,
   * the same function, for `using`; it is not declared here so that these
   * types need no `esnext.disposable` lib.)
   */
  dispose(): void
}

/**
 * What both managers offer: running and binding on top of a subclass's way
 * of keeping the context, liveness (ended contexts read as `null`),
 * associations, the storage face, switch observers and diagnostics. `C` is
 * the type of the contexts. Internal at run time (the package exports the
 * two managers, not this class); its type is {@link ContextManager}.
 */
export declare abstract class ContextManagerBase<C = unknown> {
  /** @throws {TypeError} naming the option: options not an object, an unknown option, a bad store, isActive not a function */
  constructor(options?: ContextManagerOptions<C> | null)

  /** The current context, or `null`; an ended context reads as `null`. */
  abstract getContext(): C | null

  /** Make `ctx` current from here on; prefer {@link runInContext}. */
  abstract setContext(ctx: C | null | undefined): void

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
   * Run `fn` in `segment`, as {@link runInContext} does, and end the
   * segment (`store.endSegment(segment)`) when `fn` is done: at once when
   * it returns or throws, or, when it returns a native promise, once that
   * settles. Returns what `fn` returns; for a native promise, a new promise
   * that settles with the same value or reason after the end. Other
   * thenables are not waited for (calling `then` can start work, as a query
   * builder's does): the segment ends when `fn` returns; end it yourself
   * for those. With `segment` null, `fn` runs with no context and nothing
   * is ended (`startSegment` returns null at the segment limit).
   *
   * The span pattern in one call, and cheaper than `runInContext(h,
   * fn).then(() => store.endSegment(h))`: the AsyncLocalStorage manager
   * ends through two reactions shared by every call, reading the segment
   * from the context they run in, so no closure is made per call. After
   * `disable()` a promise that settles later ends nothing there; its
   * transaction's end reports the segment truncated.
   * @throws {TypeError} when `segment` is neither a number nor null, `fn`
   *   is not a function, `args` is neither an array nor an `arguments`
   *   object, or the manager has no store with `endSegment` (options.store)
   */
  runAndEnd<R, T = undefined, A extends unknown[] = unknown[]>(
    segment: number | null,
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

  /**
   * Remember `ctx` for `object` in a per-manager WeakMap (`null`/`undefined` forgets it).
   * @throws {TypeError} when `object` is neither an object nor a function
   */
  associate<O extends object>(object: O, ctx: C | null | undefined): O

  /**
   * The context associated with `object`, or `null` (also when it has ended).
   * @throws {TypeError} when `object` is neither an object nor a function
   */
  contextOf(object: object): C | null

  /** Switch propagation on. */
  abstract enable(): this
  /** Switch propagation off. */
  abstract disable(): this

  /** An `AsyncLocalStorage`-shaped face of this manager: one object, the same on every read. */
  readonly storage: ContextStorage<C>

  /**
   * Call `listener(type, ctx)` at every context switch: `set`, `run`,
   * `bound`, `restore`, and on the legacy manager `propagate` (see
   * {@link ContextTransition}). Costs nothing when nobody listens (one
   * branch on a field). A listener that throws never breaks the switch: its
   * error is rethrown on the next tick (an `uncaughtException`). Listeners
   * and the diagnostics ring see the same events, independently.
   * @returns a function that unsubscribes `listener` (calling it again does nothing)
   * @throws {TypeError} when `listener` is not a function
   */
  onContextSwitch(listener: ContextSwitchListener<C>): () => void

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

/** What both managers offer (the type of either); `C` is the type of the contexts. */
export type ContextManager<C = unknown> = ContextManagerBase<C>

/**
 * Contexts on Node's AsyncLocalStorage (one per manager). A continuation
 * takes its context from where it was registered (`.then()`, `setTimeout()`),
 * never from the promise it chains from. Its diagnostics record set, run,
 * bound and restore; never propagate (`propagation: false`).
 */
export declare class AsyncLocalContextManager<C = unknown> extends ContextManagerBase<C> {
  getContext(): C | null
  /**
   * `AsyncLocalStorage#enterWith`: `ctx` is current for the rest of the
   * current synchronous execution and everything it schedules. Hazard:
   * inside an async function before its first `await`, the context leaks
   * into the caller; on Node 24 each call allocates a frame. Prefer
   * {@link runInContext}.
   */
  setContext(ctx: C | null | undefined): void
  /** No-op: AsyncLocalStorage switches itself back on at the next run. */
  enable(): this
  /**
   * `AsyncLocalStorage#disable()`: the context reads as `null` until the
   * next `runInContext`/`setContext`/bound call (on Node 24 Node clears only
   * the current frame).
   */
  disable(): this
}

/**
 * Contexts in a slot owned by the manager, propagated by the process's one
 * shared async_hooks hook: all legacy managers of a process share one hook
 * (and one v8 promise hook for those with the fallback), which calls each
 * attached manager in turn. A manager is attached from construction (or
 * `enable()`) until `disable()`. A promise created with no context falls
 * back to the context of the promise it chains from. Its diagnostics record
 * set, run, bound, restore and propagate (the hook's swap-in of a non-null
 * context).
 */
export declare class LegacyContextManager<C = unknown> extends ContextManagerBase<C> {
  /**
   * Attaches to the shared hook at once (unless `legacy.asyncHooks` is false).
   * @throws {TypeError} as the base constructor, and for unknown or non-boolean legacy options
   */
  constructor(options?: ContextManagerOptions<C> | null)
  /**
   * Entries of the hook table (async id → context); back to 0 once async
   * work is done. Node's own lazily made timers count too while pending: the
   * HTTP server's Date-header cache timer, made inside whichever request
   * first needed it, holds one entry for up to a second. Promises count only
   * where `async_hooks.createHook` has no `trackPromises` option (Node 20,
   * 22, 24 before 24.14); elsewhere the manager takes promises from
   * `v8.promiseHooks` and keeps each one's context in a `WeakMap` keyed by
   * the promise, so it goes when the promise is collected.
   */
  readonly hookTableSize: number
  getContext(): C | null
  /**
   * Lasts until the end of the current callback (the hook restores the
   * previous context after it), and reaches what it schedules meanwhile.
   * Prefer {@link runInContext}.
   */
  setContext(ctx: C | null | undefined): void
  /**
   * Attach to the shared hook again: async work created from then on
   * propagates (no effect with `asyncHooks: false`).
   */
  enable(): this
  /**
   * Detach from the shared hook: nothing propagates and the hook table is
   * emptied; get/set/run/bind keep working synchronously. Called inside a
   * callback, that callback keeps its context until it returns; the manager
   * lets go then. With `asyncHooks: false`, clears the slot.
   */
  disable(): this
}

/**
 * The name of the environment variable that overrides
 * `config.feature_flag.new_async_context` when `config.allowEnvOverride` is true.
 */
export declare const ENV_FLAG: 'SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT'

/**
 * Make the manager the configuration asks for:
 * `config.feature_flag.new_async_context` `false` gives
 * LegacyContextManager, `true` or absent AsyncLocalContextManager.
 * `config.store`, `config.isActive` and `config.legacy` are passed on.
 *
 * The agent's configuration is read, never checked for keys this package
 * does not know: unknown feature flags and other settings are silently
 * ignored. `config.legacy` is our own options object: an unknown key there
 * is a TypeError.
 *
 * With `config.allowEnvOverride: true`, the environment variable
 * `SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT` ({@link ENV_FLAG}), read
 * at each call, wins over the flag: `true`/`false` (any case, surrounding
 * blanks ignored; empty means unset). Any other value is not an error: it is
 * reported once per value through `process.emitWarning` (code
 * `SEGMENT_CONTEXT_INVALID_ENV`) and ignored, so a typo in the environment
 * never stops an application from starting. Without `allowEnvOverride` the
 * environment is not read.
 *
 * @throws {TypeError} naming the option: config or feature_flag not an
 *   object, the flag or allowEnvOverride not a boolean, store without an
 *   `isActive` function, isActive not a function, legacy not an object, an
 *   unknown legacy option, legacy options not booleans
 */
export declare function createContextManager<C = unknown>(
  config?: ContextManagerConfig<C> | null
): AsyncLocalContextManager<C> | LegacyContextManager<C>

/**
 * Whether AsyncLocalStorage runs on AsyncContextFrame (Node 24's default)
 * rather than on async_hooks (Node 20); found once by behaviour, not from
 * the version number.
 */
export declare function isFrameBased(): boolean
