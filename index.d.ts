// Types of segment-context: every export of index.js. Each module's types,
// and the documentation of its API, live beside it in lib/ and are
// re-exported here.

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
export * from './lib/context/managers'
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
