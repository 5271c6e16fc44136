// Type checks of lib/context-api.d.ts and lib/otel-bridge.d.ts, with
// @opentelemetry/api installed (tsc -p __test__/tsconfig.context-api.json;
// __test__/otel-types.test.js runs it, and the same without the API).

import { EventEmitter } from 'node:events'
import {
  context,
  trace,
  ROOT_CONTEXT,
  type Context,
  type ContextManager as OtelApiManager
} from '@opentelemetry/api'
import { createContextApi, type ContextApi, type TracedContextApi, type TraceMetadata } from '../../lib/api/context-api'
import { OtelContextManager, type OtelContext, type OtelContextToken } from '../../lib/api/otel-bridge'
import { createContextManager, AsyncLocalContextManager, type ContextManager } from '../../lib/context/managers'
import { SegmentStore } from '../..'

declare const store: {
  isActive(handle: unknown): boolean
  traceIdOf(handle: number): string | null
  spanIdOf(handle: number): string | null
}

const manager: ContextManager<number> = new AsyncLocalContextManager<number>()

// The customer API
const plain: Readonly<ContextApi<number>> = createContextApi(manager)
const traced: Readonly<TracedContextApi<number>> = createContextApi(manager, store)
const current: number | null = plain.getContext()
const sum: number = plain.runInContext(current, (a: number, b: number) => a + b, undefined, [1, 2])
const self: string = traced.runWithoutContext(function (this: { s: string }) { return this.s }, { s: 'x' })
const bound: (x: string) => number = plain.bindFunction((x: string) => x.length)
const boundIn: () => void = plain.bindFunction(() => {}, 5)
const emitter: EventEmitter = plain.bindEmitter(new EventEmitter(), null)
const meta: TraceMetadata = traced.getTraceMetadata()
const fromRealStore: Readonly<TracedContextApi<number>> = createContextApi(manager, new SegmentStore())
if (meta.traceId !== undefined) {
  const ids: string = meta.traceId + meta.spanId
  void ids
}
// @ts-expect-error no getTraceMetadata without a store
plain.getTraceMetadata()
// @ts-expect-error no imperative set
plain.setContext(1)
// @ts-expect-error the API is read-only
traced.getContext = () => null
// @ts-expect-error ctx is required (null for none), never undefined
plain.runInContext(undefined, () => 1)
// @ts-expect-error bindFunction takes functions only
plain.bindFunction('not a function')
// @ts-expect-error a store needs traceIdOf and spanIdOf
createContextApi(manager, { isActive: () => true })

// The bridge
const bridge = new OtelContextManager()
const onManager = new OtelContextManager({ manager: createContextManager() })
const asApi: OtelApiManager = bridge
context.setGlobalContextManager(onManager)
const active: Context = bridge.active()
const same: OtelContext = active
const result: string = bridge.with(ROOT_CONTEXT, function (this: { p: string }, n: number) { return this.p + n }, { p: 'p' }, 1)
const rooted: number = bridge.with(null, () => 1)
const boundFn: (n: number) => string = bridge.bind(ROOT_CONTEXT, (n: number) => String(n))
const boundEe: EventEmitter = bridge.bind(trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext({
  traceId: '0'.repeat(31) + '1', spanId: '0'.repeat(15) + '1', traceFlags: 1
})), new EventEmitter())
const token: OtelContextToken = bridge.attach(active)
token.dispose()
const chained: OtelContextManager = bridge.enable().disable()
// @ts-expect-error active() is a Context, not any
const notANumber: number = bridge.active()
// @ts-expect-error options are an object with `manager`
new OtelContextManager({ manger: manager })
// @ts-expect-error with() needs a function
bridge.with(ROOT_CONTEXT, 42)

void [notANumber, fromRealStore, sum, self, bound, boundIn, emitter, asApi, same, result, rooted, boundFn, boundEe, chained]
