'use strict'

// Mapping "no context" (null) to the agent's own empty context object.
//
// Many agents never hand out null: they have an empty context (OpenTelemetry's
// ROOT_CONTEXT, a `new Context()` with no segment). The managers speak null
// for "none", and a stale handle (ended transaction) reads as null too. Map
// at the one boundary, both ways, so neither side sees the other's value.
//
//   node examples/agent-integration/null-to-empty-context.js

const assert = require('node:assert/strict')
const { SegmentStore, createContextManager } = require('../..')

/** The agent's context type: immutable, with one shared empty instance. */
class AgentContext {
  constructor (segment) {
    this.segment = segment
    Object.freeze(this)
  }
}
AgentContext.EMPTY = new AgentContext(null)

/** The agent's context API over a manager, mapping null <-> AgentContext.EMPTY. */
function contextApi (manager) {
  const toAgent = (ctx) => ctx === null ? AgentContext.EMPTY : ctx
  const toManager = (ctx) => ctx === AgentContext.EMPTY ? null : ctx
  return {
    active: () => toAgent(manager.getContext()),
    with: (ctx, fn, ...args) => manager.runInContext(toManager(ctx), fn, undefined, args),
    bind: (ctx, fn) => manager.bindFunction(fn, toManager(ctx))
  }
}

for (const flag of [true, false]) {
  const store = new SegmentStore()
  const manager = createContextManager({ feature_flag: { new_async_context: flag }, store })
  const api = contextApi(manager)

  assert.equal(api.active(), AgentContext.EMPTY, 'outside any context: the empty context, not null')

  // A context object that holds a store handle: liveness is the agent's
  // business here, so check the handle where the segment is read.
  const txn = store.startTransaction('job')
  const ctx = new AgentContext(txn)
  api.with(ctx, () => {
    assert.equal(api.active(), ctx)
    // Running with the empty context is running with none.
    api.with(AgentContext.EMPTY, () => assert.equal(manager.getContext(), null))
    manager.runWithoutContext(() => assert.equal(api.active(), AgentContext.EMPTY))
    assert.equal(api.active(), ctx)
  })

  // With plain handles as contexts, an ended transaction maps to EMPTY too.
  const bound = api.bind(txn, () => api.active())
  assert.equal(bound(), txn)
  store.endTransaction(txn)
  assert.equal(bound(), AgentContext.EMPTY, 'a stale handle reads as null, so as EMPTY')
  manager.disable()
  console.log(`${manager.constructor.name}: null never reaches the agent; EMPTY never reaches the manager`)
}
console.log('ok')
