/**
 * OtelContextManager: `@opentelemetry/api`'s ContextManager on our context
 * managers.
 *
 * The OpenTelemetry types come from `@opentelemetry/api` when it is
 * installed. It is an optional peer dependency: without it, these
 * declarations still compile (also with `skipLibCheck: false`) and use the
 * local shapes below, which have the same members.
 */

import type { ContextManager as SegmentContextManager } from '../context/managers'

// The two `@ts-ignore`s below only matter when @opentelemetry/api is not
// installed: the imports then resolve to an error type that is assignable
// to anything, which Unresolved detects (the API's real interfaces are not
// assignable to a made-up shape; the tuples keep the error type from
// spreading through the conditional), and the local shapes are used.
// @ts-ignore -- optional peer dependency
type ApiContext = import('@opentelemetry/api').Context
// @ts-ignore -- optional peer dependency
type ApiContextManager = import('@opentelemetry/api').ContextManager

type Unresolved<T> = [T] extends [{ readonly __segmentContextUnresolved: true }] ? true : false

/** The shape of `@opentelemetry/api`'s Context, used when it is not installed. */
export interface OtelContextShape {
  getValue(key: symbol): unknown
  setValue(key: symbol, value: unknown): OtelContextShape
  deleteValue(key: symbol): OtelContextShape
}

/** The shape of `@opentelemetry/api`'s ContextManager, used when it is not installed. */
export interface OtelContextManagerShape {
  active(): OtelContextShape
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: OtelContextShape, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F>
  bind<T>(context: OtelContextShape, target: T): T
  enable(): this
  disable(): this
}

/** `@opentelemetry/api`'s `Context` (its local shape when the API is not installed). */
export type OtelContext = Unresolved<ApiContext> extends true ? OtelContextShape : ApiContext

/** `@opentelemetry/api`'s `ContextManager` (its local shape when the API is not installed). */
export type OtelApiContextManager = Unresolved<ApiContextManager> extends true ? OtelContextManagerShape : ApiContextManager

/**
 * The token of `attach()`: the same shape as `@opentelemetry/api`'s
 * ContextManagementToken (API 1.10 and later).
 */
export interface OtelContextToken {
  /**
   * Puts back the context that was active before `attach()`; later calls do
   * nothing. (At run time the token also has `[Symbol.dispose]`, the same
   * function; it is not declared here so that these types need neither
   * `@types/node` nor the `esnext.disposable` lib.)
   */
  dispose(): void
}

export interface OtelContextManagerOptions {
  /**
   * A manager from `createContextManager()`, given to this bridge alone: it
   * holds the OpenTelemetry Context objects, and the bridge's
   * `enable()`/`disable()` switch it. With the legacy manager, pass
   * `legacy: { promiseParentFallback: false }`. Default: a new
   * AsyncLocalContextManager.
   */
  manager?: SegmentContextManager<any> | null | undefined
}

/**
 * `@opentelemetry/api`'s ContextManager on one of our managers:
 * `context.setGlobalContextManager(new OtelContextManager())`.
 */
export declare class OtelContextManager implements OtelContextManagerShape {
  /**
   * @throws {Error} (code `SEGMENT_CONTEXT_OTEL_API_MISSING`) when
   *   `@opentelemetry/api` is not installed
   * @throws {TypeError} for options that are not an object, an unknown
   *   option, or a `manager` without a context manager's methods
   */
  constructor(options?: OtelContextManagerOptions | null)

  /** The context given to the innermost `with()` (the very object), or `ROOT_CONTEXT`. */
  active(): OtelContext

  /**
   * Run `fn` now with `context` active (`null`/`undefined`: ROOT_CONTEXT),
   * with `thisArg` as `this` and `args` as its arguments, and return its
   * result; the previous context is back afterwards, also when `fn` throws.
   */
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: OtelContext | null | undefined,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F>

  /**
   * A function: a wrapper that runs it with `context` active (`undefined`:
   * the context active now). An EventEmitter: listeners added from now on run
   * with `context` active. Anything else: returned unchanged.
   */
  bind<T>(context: OtelContext | null | undefined, target: T): T

  /**
   * Make `context` active until the token is disposed (experimental in
   * OpenTelemetry). Hazard: called in an async function before its first
   * `await`, it is active in the caller too, until the caller's `with()` or
   * callback ends. Prefer `with()`.
   */
  attach(context: OtelContext): OtelContextToken

  /** Switches the manager on. */
  enable(): this

  /**
   * Switches the manager off: `active()` is ROOT_CONTEXT here and in new
   * async work until the next `with()`, bound call or `attach()` (on Node 24,
   * callbacks scheduled before still see their context, as with
   * OpenTelemetry's own manager).
   */
  disable(): this
}
