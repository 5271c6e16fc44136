'use strict'

// End to end: OtelContextManager registered as @opentelemetry/api's global
// context manager, used only through the API (context.with, context.bind,
// trace.setSpan/getSpan, a tracer's startActiveSpan) across timers and awaits.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { EventEmitter } = require('node:events')
const { context, trace, ROOT_CONTEXT, TraceFlags, createContextKey } = require('@opentelemetry/api')
const { OtelContextManager } = require('../../lib/api/otel-bridge')
const { AsyncLocalContextManager } = require('../../lib/context/als-manager')
const { LegacyContextManager } = require('../../lib/context/legacy-manager')
const { deferred, sleep, immediate } = require('../helpers/harness')

const BACKINGS = [
  { name: 'new OtelContextManager() (its own AsyncLocalContextManager)', make: () => new OtelContextManager() },
  {
    name: 'LegacyContextManager (async hooks on, promiseParentFallback off)',
    make: () => new OtelContextManager({ manager: new LegacyContextManager({ legacy: { promiseParentFallback: false } }) })
  }
]

let nextId = 1

/** A span (non-recording, as the API makes without an SDK) with its own ids. */
function span () {
  const n = nextId++
  return trace.wrapSpanContext({
    traceId: n.toString(16).padStart(32, '0'),
    spanId: n.toString(16).padStart(16, '0'),
    traceFlags: TraceFlags.SAMPLED
  })
}

/** The span of the active context, through the API only. */
function activeSpan () {
  return trace.getSpan(context.active())
}

/** Registers a bridge as the global context manager until the test ends. */
function register (backing, t) {
  const cm = backing.make()
  assert.equal(context.setGlobalContextManager(cm), true, 'no other global context manager is registered')
  t.after(() => context.disable())
  return cm
}

for (const backing of BACKINGS) {
  describe(`@opentelemetry/api on ${backing.name}`, () => {
    it('context.active() is ROOT_CONTEXT until context.with(); the very context inside', (t) => {
      register(backing, t)
      assert.equal(context.active(), ROOT_CONTEXT)
      const ctx = trace.setSpan(ROOT_CONTEXT, span())
      assert.equal(context.with(ctx, () => context.active()), ctx)
      assert.equal(context.active(), ROOT_CONTEXT)
    })

    it('context.with forwards thisArg, arguments and the return value', (t) => {
      register(backing, t)
      const self = {}
      const result = context.with(ROOT_CONTEXT, function (a, b) {
        return [this, a, b]
      }, self, 'one', 2)
      assert.deepEqual(result, [self, 'one', 2])
    })

    it('trace.setSpan/getSpan: the span follows timers, immediates, ticks, promises and awaits', async (t) => {
      register(backing, t)
      const request = span()
      const seen = await context.with(trace.setSpan(context.active(), request), async () => {
        const found = { sync: activeSpan() }
        found.timeout = await new Promise((resolve) => setTimeout(() => resolve(activeSpan()), 5))
        found.immediate = await new Promise((resolve) => setImmediate(() => resolve(activeSpan())))
        found.tick = await new Promise((resolve) => process.nextTick(() => resolve(activeSpan())))
        found.then = await Promise.resolve().then(() => activeSpan())
        await sleep(2)
        found.afterAwait = activeSpan()
        found.active = trace.getActiveSpan()
        return found
      })
      for (const [where, found] of Object.entries(seen)) assert.equal(found, request, where)
      assert.equal(activeSpan(), undefined)
    })

    it('a child span set inside a request is seen inside, and the parent is back afterwards, across awaits', async (t) => {
      register(backing, t)
      const parent = span()
      const child = span()
      const seen = []
      await context.with(trace.setSpan(ROOT_CONTEXT, parent), async () => {
        await context.with(trace.setSpan(context.active(), child), async () => {
          await immediate()
          seen.push(activeSpan())
        })
        seen.push(activeSpan())
        await sleep(1)
        seen.push(activeSpan())
      })
      assert.deepEqual(seen, [child, parent, parent])
    })

    it('concurrent requests each see only their own span', async (t) => {
      register(backing, t)
      const requests = [span(), span(), span()]
      const results = await Promise.all(requests.map((request, i) =>
        context.with(trace.setSpan(ROOT_CONTEXT, request), async () => {
          const seen = []
          for (let step = 0; step < 3; step++) {
            await sleep((i * 3 + step) % 4)
            seen.push(activeSpan())
            await new Promise((resolve) => setImmediate(resolve))
            seen.push(activeSpan())
          }
          return seen
        })))
      results.forEach((seen, i) => {
        assert.equal(seen.length, 6)
        for (const found of seen) assert.equal(found, requests[i])
      })
    })

    it('context.bind(ctx, fn): a callback queued elsewhere runs in the bound context', async (t) => {
      register(backing, t)
      const request = span()
      const queue = []
      context.with(trace.setSpan(ROOT_CONTEXT, request), () => {
        queue.push(context.bind(context.active(), () => activeSpan()))
        queue.push(() => activeSpan())
      })
      await sleep(1)
      const [bound, unbound] = queue
      assert.equal(bound(), request)
      assert.equal(unbound(), undefined)
    })

    it('context.bind(ctx, emitter): listeners see the bound span whoever emits', async (t) => {
      register(backing, t)
      const request = span()
      const other = span()
      const emitter = new EventEmitter()
      const seen = []
      context.with(trace.setSpan(ROOT_CONTEXT, request), () => {
        context.bind(context.active(), emitter)
      })
      const listener = () => seen.push(activeSpan())
      emitter.on('data', listener)
      emitter.once('end', () => seen.push(activeSpan()))
      await sleep(1)
      context.with(trace.setSpan(ROOT_CONTEXT, other), () => emitter.emit('data'))
      setImmediate(() => emitter.emit('end'))
      await immediate()
      emitter.off('data', listener)
      emitter.emit('data')
      assert.deepEqual(seen, [request, request])
    })

    it('a tracer\'s startActiveSpan makes its span active for the callback and what it awaits', async (t) => {
      register(backing, t)
      const tracer = trace.getTracer('segment-context-e2e')
      const values = await tracer.startActiveSpan('operation', async (started) => {
        const sync = trace.getActiveSpan()
        await sleep(1)
        return [started, sync, trace.getActiveSpan()]
      })
      const [started, sync, later] = values
      assert.equal(sync, started)
      assert.equal(later, started)
      assert.equal(trace.getActiveSpan(), undefined)
    })

    it('other context keys travel the same way', async (t) => {
      register(backing, t)
      const key = createContextKey('tenant')
      const seen = await context.with(context.active().setValue(key, 'acme'), async () => {
        await sleep(1)
        return context.active().getValue(key)
      })
      assert.equal(seen, 'acme')
    })

    it('the bridge and the agent\'s own manager do not see each other', async (t) => {
      register(backing, t)
      const agent = new AsyncLocalContextManager()
      t.after(() => agent.disable())
      const request = span()
      const seen = await agent.runInContext(42, () =>
        context.with(trace.setSpan(ROOT_CONTEXT, request), async () => {
          await sleep(1)
          return [agent.getContext(), activeSpan(), agent.runInContext(7, () => activeSpan())]
        }))
      assert.deepEqual(seen, [42, request, request])
      assert.equal(agent.getContext(), null)
      assert.equal(activeSpan(), undefined)
    })

    it('context.disable() switches the bridge off and unregisters it', async (t) => {
      const cm = backing.make()
      t.after(() => cm.disable())
      assert.equal(context.setGlobalContextManager(cm), true)
      const ctx = trace.setSpan(ROOT_CONTEXT, span())
      const inTimer = deferred()
      context.with(ctx, () => setTimeout(() => inTimer.resolve(cm.active()), 1))
      assert.equal(await inTimer.promise, ctx)
      context.disable()
      assert.equal(cm.active(), ROOT_CONTEXT)
      // The API is back on its no-op manager: with() runs fn, nothing is active.
      assert.equal(context.with(ctx, () => context.active()), ROOT_CONTEXT)
      assert.equal(context.setGlobalContextManager(cm), true, 'it can be registered again')
      context.disable()
    })
  })
}
