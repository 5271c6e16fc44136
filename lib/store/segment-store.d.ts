// Types of lib/store/segment-store.js: the segment store. This is the one
// home of the store's API documentation.

/**
 * A segment handle: an integer from 0 to 2^30 - 1 (a V8 small integer, so
 * holding one in AsyncLocalStorage or a closure allocates nothing).
 */
export type SegmentHandle = number

export interface SegmentStoreOptions {
  /** Most segments a transaction records, the root included. Default 900. */
  maxSegmentsPerTransaction?: number
  /** Most attribute keys a segment keeps; later new keys are ignored. Default 64. */
  maxAttributesPerSegment?: number
  /**
   * Longest name, attribute key or string value, in UTF-8 bytes; longer ones
   * are cut at a character boundary. Default 255.
   */
  maxAttributeValueLength?: number
}

export type AttributeValue = string | number | boolean

export interface FinishedSegment {
  /** 16 lowercase hex digits, random, never all zeros. */
  id: string
  /** The parent's id; null for the root. */
  parentId: string | null
  name: string
  /** Offset of the start from the transaction's start, ms, rounded to the microsecond (as are `duration` and `exclusive`). */
  start: number
  /** ms, rounded to the microsecond. */
  duration: number
  /** Duration minus the union of the direct children's intervals, clipped to this segment's own; ms, rounded to the microsecond. */
  exclusive: number
  attributes: Record<string, AttributeValue>
  /** The segment was still open when its transaction ended; it was closed at the transaction's end. */
  truncated: boolean
}

export interface FinishedTrace {
  /** 32 lowercase hex digits, random, never all zeros (W3C trace-context). */
  traceId: string
  /** The root segment's name. */
  name: string
  /** Epoch milliseconds (performance.timeOrigin + the root's start), not rounded. */
  startTime: number
  /** The root's duration, ms, rounded to the microsecond. */
  duration: number
  /** Segments recorded, the root included. */
  segmentCount: number
  /** Segments refused at maxSegmentsPerTransaction. */
  droppedSegments: number
  /** The root first, then the rest in start order (ties: creation order). */
  segments: FinishedSegment[]
}

export interface StoreStats {
  /** Transactions started and not ended, counted slot by slot. */
  liveTransactions: number
  /** Segments of live transactions, the roots included, counted slot by slot. */
  liveSegments: number
  /** Slots in the table (it doubles when seven eighths are in use). */
  capacity: number
  totalTransactions: number
  totalSegments: number
  droppedSegments: number
}

export interface LeakReportOptions {
  segmentOlderThanMs?: number
  transactionOlderThanMs?: number
  /** The time to measure ages against; default performance.now(). */
  now?: number
  limit?: number
}

export interface LeakReport {
  now: number
  transactions: Array<{ handle: SegmentHandle; name: string; ageMs: number; segments: number }>
  segments: Array<{ handle: SegmentHandle; name: string; transaction: SegmentHandle; transactionName: string; ageMs: number }>
}

/**
 * Transactions and segments behind small integer handles. Times are
 * milliseconds on the performance.now() clock; omit them to use now.
 *
 * Handle arguments take a handle or null (no context: the call returns
 * null or does nothing); any other type is a TypeError.
 */
export declare class SegmentStore {
  constructor(options?: SegmentStoreOptions)
  /** Starts a transaction; returns the handle of its root segment. */
  startTransaction(name: string, startTime?: number): SegmentHandle
  /**
   * Starts a segment under `parent`; null when the parent is not active or
   * its transaction is at its segment limit (the drop is counted).
   */
  startSegment(parent: SegmentHandle | null, name: string, startTime?: number): SegmentHandle | null
  /** Ends a segment. The first end counts; an end before the start counts as the start. */
  endSegment(handle: SegmentHandle | null, endTime?: number): void
  /** Sets (or replaces) an attribute. A number must be finite. */
  setAttribute(handle: SegmentHandle | null, key: string, value: AttributeValue): void
  /** True while the handle's transaction has not ended; false for any other value. Never throws. */
  isActive(handle: unknown): boolean
  /** The root handle of the handle's transaction, or null when not active. */
  transactionOf(handle: SegmentHandle | null): SegmentHandle | null
  /** The parent's handle; null for a root or when not active. */
  parentOf(handle: SegmentHandle | null): SegmentHandle | null
  /** The segment's name as stored, or null when not active. */
  nameOf(handle: SegmentHandle | null): string | null
  /**
   * The id the segment will have in its finished trace (16 lowercase hex
   * digits), drawn when first asked for; null when not active.
   */
  spanIdOf(handle: SegmentHandle | null): string | null
  /** The trace id the handle's transaction will finish with (32 lowercase hex digits); null when not active. */
  traceIdOf(handle: SegmentHandle | null): string | null
  /**
   * Ends the transaction the handle belongs to (its root or any segment),
   * frees all its records and returns the finished trace; null when not active.
   */
  endTransaction(handle: SegmentHandle | null, endTime?: number): FinishedTrace | null
  /** The same as endTransaction, as a JSON string built in Rust. */
  endTransactionJSON(handle: SegmentHandle | null, endTime?: number): string | null
  /**
   * The same JSON as endTransactionJSON, as its UTF-8 bytes in a new Node
   * `Buffer` (a `Uint8Array`), for an agent that compresses or sends bytes:
   * it saves the copy and the encoding of `Buffer.from(json)`.
   */
  endTransactionJSONBytes(handle: SegmentHandle | null, endTime?: number): Uint8Array | null
  /** Live counts (read off every slot) and totals. */
  stats(): StoreStats
  /**
   * What looks leaked now, from one scan in Rust: transactions started more
   * than `transactionOlderThanMs` (default 300000) ago and not ended, and
   * open segments of live transactions started more than
   * `segmentOlderThanMs` (default 60000) ago. Oldest first, at most `limit`
   * (default 100) records in all.
   */
  leakReport(options?: LeakReportOptions): LeakReport
  /** Every broken invariant of the store; empty when it is sound. */
  verify(): string[]
}

/**
 * The SegmentStore class for a binding (the native addon or the pure-JS
 * backend: the same functions over the same buffer layout). Internal: the
 * package exports the store made for the binding it loaded.
 */
export declare function defineSegmentStore(binding: object): typeof SegmentStore
