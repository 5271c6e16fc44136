// Type-checked (never run) by `npm run test:types`: uses every export of
// segment-context through index.d.ts under strict settings, and checks that
// misuse is a type error (each @ts-expect-error must find one).

import { EventEmitter } from 'node:events'
import {
  SegmentStore,
  createContextManager,
  AsyncLocalContextManager,
  LegacyContextManager,
  ENV_FLAG,
  isFrameBased
} from '../..'
import type {
  SegmentHandle,
  SegmentStoreOptions,
  FinishedTrace,
  FinishedSegment,
  StoreStats,
  LeakReport,
  ContextManager,
  ContextManagerConfig
} from '../..'

// ---- the store
const options: SegmentStoreOptions = { maxSegmentsPerTransaction: 100, maxAttributesPerSegment: 8, maxAttributeValueLength: 64 }
const store = new SegmentStore(options)
const root: SegmentHandle = store.startTransaction('GET /', 0)
const child: SegmentHandle | null = store.startSegment(root, 'db', 1)
store.startSegment(null, 'no context')
store.setAttribute(child, 'db.rows', 3)
store.setAttribute(child, 'db.ok', true)
store.setAttribute(child, 'db.statement', 'SELECT 1')
store.endSegment(child, 2)
store.endSegment(null)
const active: boolean = store.isActive('anything at all')
const txn: SegmentHandle | null = store.transactionOf(child)
const parent: SegmentHandle | null = store.parentOf(child)
const name: string | null = store.nameOf(root)
const spanId: string | null = store.spanIdOf(child)
const traceId: string | null = store.traceIdOf(root)
const leaks: LeakReport = store.leakReport({ segmentOlderThanMs: 1000, transactionOlderThanMs: 5000, limit: 10 })
const leakNames: string[] = leaks.segments.map((s) => s.transactionName)
const trace: FinishedTrace | null = store.endTransaction(root, 3)
const json: string | null = store.endTransactionJSON(root)
const bytes: Uint8Array | null = store.endTransactionJSONBytes(root, 5)
if (trace !== null) {
  const first: FinishedSegment | undefined = trace.segments[0]
  const ids: Array<string | null> = trace.segments.map((s) => s.parentId)
  const truncated: boolean = first?.truncated ?? false
  void [ids, truncated, trace.traceId, trace.startTime, trace.droppedSegments]
}
const stats: StoreStats = store.stats()
const problems: string[] = store.verify()
// @ts-expect-error an attribute value is a string, a number or a boolean
store.setAttribute(root, 'k', { nested: true })
// @ts-expect-error names are strings
store.startTransaction(42)
// @ts-expect-error unknown option
new SegmentStore({ maxSegments: 5 })

// ---- the managers
const config: ContextManagerConfig = { feature_flag: { new_async_context: true }, store, legacy: { asyncHooks: true } }
const manager = createContextManager<SegmentHandle>(config)
const ctx: SegmentHandle | null = manager.getContext()
const doubled: number = manager.runInContext(root, (x: number) => x * 2, undefined, [21])
const viaThis: string = manager.runInContext(root, function (this: { tag: string }) { return this.tag }, { tag: 't' })
const none: string = manager.runWithoutContext(() => 'no context')
const ended: Promise<number> = manager.runAndEnd(store.startSegment(root, 'child'), async (x: number) => x, undefined, [1])
const bound: (a: string) => number = manager.bindFunction((a: string) => a.length, root)
const sameValue: number = manager.bindFunction(5)
const emitter: EventEmitter = manager.bindEmitter(new EventEmitter(), root)
manager.associate(emitter, root)
const associated: SegmentHandle | null = manager.contextOf(emitter)
manager.setContext(null)
manager.enable().disable()
// @ts-expect-error a context of the wrong type
manager.runInContext('not a handle', () => 1)
// @ts-expect-error args must be an array or arguments
manager.runInContext(root, (x: number) => x, undefined, 5)
// @ts-expect-error runAndEnd takes a segment handle
manager.runAndEnd('not a handle', () => 1)

const als: ContextManager<string> = new AsyncLocalContextManager<string>({ store })
const legacy = new LegacyContextManager({ legacy: { asyncHooks: false, promiseParentFallback: false } })
const tableSize: number = legacy.hookTableSize
const envName: 'SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT' = ENV_FLAG
const frames: boolean = isFrameBased()
// @ts-expect-error the flag is a boolean
createContextManager({ feature_flag: { new_async_context: 'yes' } })

void [active, txn, parent, name, spanId, traceId, leakNames, json, bytes, stats, problems, ctx, doubled, viaThis, none, ended, bound, sameValue, associated, als, tableSize, envName, frames]

// ---- the customer API and the OpenTelemetry bridge, through '..'
import { createContextApi, OtelContextManager } from '../..'
import type { ContextApi, TracedContextApi, TraceMetadata } from '../..'
import { ROOT_CONTEXT } from '@opentelemetry/api'

const plainApi: ContextApi<SegmentHandle> = createContextApi<SegmentHandle>(manager)
const traced: TracedContextApi<SegmentHandle> = createContextApi(manager, store)
const meta: TraceMetadata = traced.getTraceMetadata()
const apiResult: number = plainApi.runInContext(root, (a: number) => a + 1, undefined, [1])
const otel = new OtelContextManager({ manager: new AsyncLocalContextManager() })
const activeIsRoot: boolean = otel.enable().active() === ROOT_CONTEXT
otel.disable()
void [meta, apiResult, activeIsRoot]

// ---- diagnostics
import type { DiagnosticsDump, DiagnosticEvent } from '../..'
manager.enableDiagnostics({ size: 64 })
const dump: DiagnosticsDump = manager.diagnostics()
const firstEvent: DiagnosticEvent | undefined = dump.events[0]
const dropped: number = dump.dropped
manager.disableDiagnostics()
void [firstEvent, dropped]

// ---- the storage face, switch observers, liveness hooks, the env override
import { channel } from 'node:diagnostics_channel'
import type { ContextStorage, ContextTransition, ContextManagerBase, ContextSwitchListener } from '../..'

interface AgentContext { transaction: string; segment: string }
const objects = new AsyncLocalContextManager({ isActive: (ctx: AgentContext) => ctx.transaction !== '' })
const objectCtx: AgentContext | null = objects.getContext()
const storage: ContextStorage<AgentContext> = objects.storage
const inStore: AgentContext | undefined = storage.getStore()
const ran: number = storage.run({ transaction: 't', segment: 's' }, (a: number, b: number) => a + b, 1, 2)
const exited: string = storage.exit((s: string) => s, 'x')
storage.enterWith(null)
storage.disable()
channel('example:query').bindStore(storage, (message) => ({ transaction: String(message), segment: 'query' }))
// @ts-expect-error run passes its arguments on: they must fit fn
storage.run(null, (a: number) => a, 'not a number')
// @ts-expect-error storage is read-only
objects.storage = storage
// @ts-expect-error the storage face is made by its manager
new (storage.constructor as typeof ContextStorage)()

const heard: Array<[ContextTransition, AgentContext | null]> = []
const listener: ContextSwitchListener<AgentContext> = (type, ctx) => { heard.push([type, ctx]) }
const unsubscribe: () => void = objects.onContextSwitch(listener)
unsubscribe()
// @ts-expect-error a listener takes a transition and a context
objects.onContextSwitch((type: number) => type)
const asBase: ContextManagerBase<AgentContext> = objects
// @ts-expect-error isActive takes a context of the manager's type
new AsyncLocalContextManager<AgentContext>({ isActive: (ctx: number) => ctx > 0 })
// @ts-expect-error unknown constructor option
new LegacyContextManager({ stor: store })

const fromConfig = createContextManager<AgentContext>({
  feature_flag: { new_async_context: false, some_agent_flag: 'anything' },
  allowEnvOverride: true,
  isActive: (ctx) => ctx.segment !== '',
  legacy: { promiseParentFallback: false },
  agent_setting: 42
})
const fromConfigCtx: AgentContext | null = fromConfig.getContext()
// @ts-expect-error allowEnvOverride is a boolean
createContextManager({ allowEnvOverride: 'yes' })
// @ts-expect-error unknown legacy option
createContextManager({ legacy: { asyncHook: true } })

void [objectCtx, inStore, ran, exited, asBase, fromConfigCtx]

// ---- storage scopes (Node 26's runStores)
import type { ContextScope } from '../..'
const scope: ContextScope = objects.storage.withScope({ transaction: 't', segment: 's' })
scope.dispose()
// @ts-expect-error a scope holds a context of the manager's type
objects.storage.withScope(42)
