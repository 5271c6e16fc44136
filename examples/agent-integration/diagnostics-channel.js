'use strict'

// Wiring diagnostics_channel subscribers to the manager's storage face.
//
// Libraries that publish a TracingChannel (fastify, undici, and more each
// release) run their work inside `start.runStores(...)`. Binding the
// manager's AsyncLocalStorage-shaped `manager.storage` to `start` runs that
// work in a segment of the agent's, with no monkey-patching; the other
// events (end, asyncEnd, error) end it.
//
//   node examples/agent-integration/diagnostics-channel.js

const assert = require('node:assert/strict')
const dc = require('node:diagnostics_channel')
const { SegmentStore, createContextManager } = require('../..')

// A library (a database driver, say) that publishes its queries.
const queries = dc.tracingChannel('example-db:query')
function libraryQuery (sql) {
  return queries.tracePromise(async () => {
    await new Promise((resolve) => setTimeout(resolve, 1))
    return [{ sql }]
  }, { sql })
}

async function main () {
  for (const flag of [true, false]) {
    const store = new SegmentStore()
    const manager = createContextManager({ feature_flag: { new_async_context: flag }, store })

    // The agent's side: the segment is the query's context; it ends at asyncEnd.
    const segmentOf = new WeakMap()
    const transform = (message) => {
      const segment = store.startSegment(manager.getContext(), `Datastore/${message.sql.split(' ')[0]}`)
      segmentOf.set(message, segment)
      return segment // null outside a transaction: the library then runs with no context
    }
    const handlers = {
      asyncEnd: (message) => store.endSegment(segmentOf.get(message) ?? null),
      error: (message) => store.setAttribute(segmentOf.get(message) ?? null, 'error', String(message.error))
    }
    queries.start.bindStore(manager.storage, transform)
    queries.subscribe(handlers)

    const txn = store.startTransaction('GET /report')
    await manager.runInContext(txn, async () => {
      let inside
      queries.start.subscribe(function probe () {
        inside = manager.getContext() // subscribers run inside the bound store
        queries.start.unsubscribe(probe)
      })
      const rows = await libraryQuery('SELECT 1')
      assert.equal(rows[0].sql, 'SELECT 1')
      assert.equal(store.nameOf(inside), 'Datastore/SELECT')
      assert.equal(manager.getContext(), txn, 'after the query: the caller\'s context again')
    })
    const trace = store.endTransaction(txn)
    assert.deepEqual(trace.segments.map((s) => s.name), ['GET /report', 'Datastore/SELECT'])
    assert.equal(trace.segments[1].truncated, false)

    queries.start.unbindStore(manager.storage)
    queries.unsubscribe(handlers)
    manager.disable()
    console.log(`${manager.constructor.name}: the library's query ran in the agent's segment`)
  }
  console.log('ok')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
