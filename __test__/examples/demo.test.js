'use strict'

// The main job (npm start, examples/demo-server.js) as an end-to-end check:
// a real node:http server under autocannon load, with each manager. A short
// run must find zero conflation and zero live records after draining, and the
// checker must notice when context is broken on purpose.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')

const { runDemo } = require('../helpers/run-demo')

/** stdout parsed as the one JSON object the demo prints with --json. */
function parseJson (result) {
  try {
    return JSON.parse(result.stdout)
  } catch (err) {
    assert.fail(`stdout is not one JSON object (exit ${result.code}): ${result.stdout}\nstderr: ${result.stderr}`)
  }
}

const DOCUMENTED = [
  'name', 'requestsPerSecond', 'p99Ms', 'relativeThroughput', 'conflations',
  'liveTransactions', 'liveSegments', 'heapBeforeMB', 'heapAfterMB'
]

describe('npm start (examples/demo-server.js)', () => {
  it('--duration 1 --json: both managers, zero conflation, zero live records after draining', async () => {
    const result = await runDemo(['--duration', '1', '--json'])
    const out = parseJson(result)
    assert.equal(result.code, 0, `exit code (stderr: ${result.stderr})`)
    assert.equal(out.node, process.version)
    assert.equal(out.ok, true)
    assert.deepEqual(out.configurations.map((c) => c.name), ['none', 'als', 'legacy'])

    for (const c of out.configurations) {
      for (const key of DOCUMENTED) assert.ok(Object.hasOwn(c, key), `${c.name}: ${key} missing`)
      assert.equal(typeof c.requestsPerSecond, 'number')
      assert.ok(c.requestsPerSecond > 0, `${c.name}: requestsPerSecond ${c.requestsPerSecond}`)
      assert.ok(typeof c.p99Ms === 'number' && c.p99Ms > 0, `${c.name}: p99Ms ${c.p99Ms}`)
      assert.ok(typeof c.relativeThroughput === 'number' && c.relativeThroughput > 0,
        `${c.name}: relativeThroughput ${c.relativeThroughput}`)
      assert.ok(c.heapBeforeMB > 0 && c.heapAfterMB > 0, `${c.name}: heap ${c.heapBeforeMB} -> ${c.heapAfterMB}`)
      assert.equal(c.errors, 0, `${c.name}: load errors`)
      assert.equal(c.non2xx, 0, `${c.name}: non-2xx responses`)
    }

    const [none, ...instrumented] = out.configurations
    assert.equal(none.relativeThroughput, 1)
    // No agent, no store: nothing to count.
    assert.equal(none.conflations, null)
    assert.equal(none.liveTransactions, null)
    assert.equal(none.liveSegments, null)

    assert.deepEqual(instrumented.map((c) => c.manager), ['AsyncLocalContextManager', 'LegacyContextManager'])
    for (const c of instrumented) {
      assert.equal(c.conflations, 0, `${c.name}: conflations, first: ${JSON.stringify(c.firstConflation)}`)
      assert.equal(c.lostContexts, 0, `${c.name}: lost contexts`)
      assert.equal(c.backgroundLeaks, 0, `${c.name}: background runs in a request's context`)
      assert.equal(c.liveTransactions, 0, `${c.name}: live transactions after draining`)
      assert.equal(c.liveSegments, 0, `${c.name}: live segments after draining`)
      assert.equal(c.storeProblems, 0, `${c.name}: store.verify()`)
      assert.equal(c.truncatedSegments, 0, `${c.name}: segments still open when their transaction ended`)
      // Every response was a transaction (plus the warm-up's), each with its segments.
      assert.ok(c.transactions >= c.requests, `${c.name}: ${c.transactions} transactions for ${c.requests} requests`)
      assert.ok(c.segments > 5 * c.transactions, `${c.name}: ${c.segments} segments for ${c.transactions} transactions`)
      assert.ok(c.backgroundTransactions > 0, `${c.name}: the background refresher never ran`)
    }
  })

  it('notices broken context: conflation and lost contexts, exit code 1', async () => {
    // SEGMENT_CONTEXT_DEMO_BREAK=1: the agent skips bindEmitter on the
    // request and bindFunction in its pool and queue shims, so pool callbacks
    // run in whichever request released the connection, and body listeners
    // and queue jobs run with no context.
    const result = await runDemo(['--duration', '1', '--mode', 'als', '--json'],
      { SEGMENT_CONTEXT_DEMO_BREAK: '1' })
    const out = parseJson(result)
    assert.equal(result.code, 1)
    assert.equal(out.ok, false)
    assert.deepEqual(out.configurations.map((c) => c.name), ['none', 'als'])
    const als = out.configurations[1]
    assert.ok(als.conflations > 0, `conflations: ${als.conflations}`)
    assert.ok(als.lostContexts > 0, `lost contexts: ${als.lostContexts}`)
    assert.notEqual(als.firstConflation.traceRequestId, als.firstConflation.segmentRequestId)
    // Broken context or not, every transaction still ends.
    assert.equal(als.liveTransactions, 0)
    assert.equal(als.liveSegments, 0)
  })

  it('rejects bad arguments with exit code 2 and the usage', async () => {
    const result = await runDemo(['--mode', 'both'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /--mode must be all, als or legacy/)
    assert.match(result.stderr, /usage:/)
    assert.equal(result.stdout, '')
  })
})
