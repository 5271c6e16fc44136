/**
 * The customer context API: what an agent hands to the application it runs
 * in. A small, safe subset of a context manager, with no imperative set.
 */

import type { ContextManager, EmitterLike } from '../context/managers'

/** What `getTraceMetadata` needs of a SegmentStore: the ids of a live segment. */
export interface TraceIdStore {
  /**
   * The trace id the handle's transaction will finish with (32 lowercase hex
   * digits), or `null` when the handle is not active.
   */
  traceIdOf(handle: number): string | null
  /**
   * The id the segment will have in its finished trace (16 lowercase hex
   * digits), or `null` when the handle is not active.
   */
  spanIdOf(handle: number): string | null
}

/**
 * `{ traceId, spanId }` of the current segment, for log correlation; `{}`
 * outside a live transaction.
 */
export type TraceMetadata =
  | { traceId: string; spanId: string }
  | { traceId?: never; spanId?: never }

/** The context API of `createContextApi(manager)`. `C` is the type of the contexts. */
export interface ContextApi<C = unknown> {
  /** The current context (the agent's), or `null`. */
  getContext(): C | null

  /**
   * Run `fn` now in `ctx` (from `getContext()`, or `null` for none) and
   * return its result; the previous context is back afterwards, also when
   * `fn` throws.
   * @throws {TypeError} when `ctx` is `undefined`, `fn` is not a function or
   *   `args` is neither an array nor an `arguments` object
   */
  runInContext<R, T = undefined, A extends unknown[] = unknown[]>(
    ctx: C | null,
    fn: (this: T, ...args: A) => R,
    thisArg?: T,
    args?: A | IArguments
  ): R

  /**
   * A wrapper that runs `fn` in `ctx` (omitted or `undefined`: the context
   * current now; `null`: none) whoever calls it. `this`, arguments, return
   * value, errors, `name` and `length` pass through; `fn` is not modified.
   * @throws {TypeError} when `fn` is not a function
   */
  bindFunction<F extends (...args: any[]) => any>(fn: F, ctx?: C | null): F

  /**
   * Listeners added to `emitter` from now on run in `ctx` (omitted or
   * `undefined`: the context current now) whoever emits; removing the
   * original listener removes them.
   * @returns the emitter
   * @throws {TypeError} when `emitter` has neither `on` nor `addListener`, is
   *   not extensible (frozen, sealed) or has non-configurable listener methods
   */
  bindEmitter<E extends EmitterLike>(emitter: E, ctx?: C | null): E

  /**
   * Run `fn` with no context: timers, intervals, servers, sockets and
   * promises created inside never carry the caller's context.
   * @throws {TypeError} when `fn` is not a function or `args` is neither an
   *   array nor an `arguments` object
   */
  runWithoutContext<R, T = undefined, A extends unknown[] = unknown[]>(
    fn: (this: T, ...args: A) => R,
    thisArg?: T,
    args?: A | IArguments
  ): R
}

/** The context API of `createContextApi(manager, store)`. */
export interface TracedContextApi<C = unknown> extends ContextApi<C> {
  /**
   * `{ traceId, spanId }` of the current segment: the finished trace's
   * `traceId` and that segment's `id`. `{}` with no context, a context that
   * is not a handle, or a transaction that has ended. A new object each call.
   */
  getTraceMetadata(): TraceMetadata
}

/**
 * The customer API over `manager`: a frozen object whose methods need no
 * `this` and give no way to reach the manager.
 * @throws {TypeError} when `manager` lacks a context manager's methods, or
 *   `store` lacks `traceIdOf`/`spanIdOf`
 */
export declare function createContextApi<C = unknown>(
  manager: ContextManager<C>,
  store: TraceIdStore
): Readonly<TracedContextApi<C>>
export declare function createContextApi<C = unknown>(
  manager: ContextManager<C>,
  store?: null | undefined
): Readonly<ContextApi<C>>
