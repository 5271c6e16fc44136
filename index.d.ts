// Types of segment-context: every export of index.js. Each module's types,
// and the documentation of its API, live beside it in lib/ and are
// re-exported here; __test__/types/declarations.test.js checks these lists
// against index.js and the lib declarations.

export {
  SegmentHandle,
  SegmentStoreOptions,
  AttributeValue,
  FinishedSegment,
  FinishedTrace,
  StoreStats,
  LeakReportOptions,
  LeakReport,
  SegmentStore
} from './lib/store/segment-store'
export {
  ActiveHandleStore,
  LegacyOptions,
  ContextManagerOptions,
  ContextManagerConfig,
  DiagnosticsOptions,
  ContextTransition,
  DiagnosticEvent,
  DiagnosticsDump,
  EmitterLike,
  ContextSwitchListener,
  ContextScope,
  ContextManager,
  AsyncLocalContextManager,
  LegacyContextManager,
  ENV_FLAG,
  createContextManager,
  isFrameBased
} from './lib/context/managers'
// Types only: the package does not export these classes at run time (the
// base class is internal; the storage face is made by each manager).
export type { ContextManagerBase, ContextStorage } from './lib/context/managers'
export * from './lib/api/context-api'
export * from './lib/api/otel-bridge'

/**
 * Which binding the package runs on: `'native'` (the Rust addon) or `'js'`
 * (the pure-JS backend, a fallback where no binary loads; slower, same
 * behaviour). See docs/platforms.md.
 */
export declare const backend: 'native' | 'js'
/** Why the native addon did not load, when `backend` is `'js'` (null when native, or when the JS backend was asked for). */
export declare const backendError: Error | null
