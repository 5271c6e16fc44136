'use strict'

// Replacing an agent's own context manager with segment-context's.
//
// The agent keeps its interface (here: tracer.getSegment / runInSegment /
// bindCallback) and its feature flag; behind it, one manager from
// createContextManager, picked by `new_async_context`, and the segment store
// so that handles of ended transactions read as "no context".
//
//   node examples/agent-integration/replace-context-manager.js

const assert = require('node:assert/strict')
const { SegmentStore, createContextManager } = require('../..')

/** The agent's tracer, before: a hand-written slot plus wrapping everywhere. Now: */
function createTracer (agentConfig) {
  const store = new SegmentStore()
  const manager = createContextManager({ feature_flag: agentConfig.feature_flag, store })
  return {
    store,
    manager,
    getSegment: () => manager.getContext(),
    runInSegment: (segment, fn, ...args) => manager.runInContext(segment, fn, undefined, args),
    bindCallback: (fn, segment) => manager.bindFunction(fn, segment)
  }
}

async function main () {
  for (const flag of [true, false]) {
    const tracer = createTracer({ feature_flag: { new_async_context: flag } })
    const { store } = tracer
    const txn = store.startTransaction('GET /users/:id')

    await tracer.runInSegment(txn, async () => {
      const db = store.startSegment(tracer.getSegment(), 'Datastore/select')
      await new Promise((resolve) => setTimeout(resolve, 1))
      // Across a timer and an await: still this transaction.
      assert.equal(tracer.getSegment(), txn)
      store.endSegment(db)
      // A callback bound here runs here, whoever calls it later.
      const later = tracer.bindCallback(() => tracer.getSegment())
      assert.equal(await new Promise((resolve) => setImmediate(() => resolve(later()))), txn)
    })

    // After awaiting the run from a place with no context, the two differ on
    // purpose: AsyncLocalStorage continues in the awaiting caller's context
    // (none); the legacy manager's parent-promise fallback gives a promise
    // made with no context the context of the promise it chains from (the
    // run's). Agents that must not care start their next unit of work with
    // runInContext / runWithoutContext rather than rely on either.
    assert.equal(tracer.getSegment(), flag ? null : txn)
    assert.equal(tracer.manager.runWithoutContext(() => tracer.getSegment()), null)
    const trace = store.endTransaction(txn)
    assert.deepEqual(trace.segments.map((s) => s.name), ['GET /users/:id', 'Datastore/select'])
    // An ended transaction's handle reads as no context, even where it is still held.
    assert.equal(tracer.runInSegment(txn, () => tracer.getSegment()), null)
    assert.equal(store.stats().liveSegments, 0)
    tracer.manager.disable()
    console.log(`${tracer.manager.constructor.name}: context survives timers, awaits and bound callbacks`)
  }
  console.log('ok')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
