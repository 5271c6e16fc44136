'use strict'

// express 5, fastify 5, koa 3 and connect under concurrent load, on both
// managers, instrumented the way agents do (__test__/helpers/frameworks.js):
// every segment in its own request's trace, no lost context in the route
// handlers after awaits and timers, zero live records after draining; the
// break switch (no binding) must make the same checks fail.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { MANAGERS, createAgent } = require('../helpers/instrument')
const { startApp, requestFor, EXPECTED } = require('../helpers/frameworks')
const { runLoad } = require('../helpers/http-load')

const FRAMEWORKS = ['express', 'fastify', 'koa', 'connect']
const TOTAL = 240
const CONCURRENCY = 30

/** Runs the load against `framework`'s app on a new agent; returns what the checks need. */
async function loadApp (framework, key, { breakContext = false, total = TOTAL } = {}) {
  const agent = createAgent(key, { breakContext })
  try {
    const app = await startApp(framework, agent)
    let load
    try {
      load = await runLoad({ port: app.port, total, concurrency: CONCURRENCY, request: requestFor })
    } finally {
      await app.close()
    }
    const stats = await agent.drained()
    return { agent, load, stats }
  } finally {
    agent.close()
  }
}

/**
 * Each answered request's own trace: there, named after its route, holding
 * the route's expected segments, every one labelled with its rid (the
 * agent counted any that was not).
 */
function checkTraces (agent, load, total) {
  for (let i = 0; i < total; i++) {
    const rid = `r${i}`
    const body = load.bodies.get(rid)
    if (body === undefined) continue
    assert.equal(JSON.parse(body).rid, rid, `the response to ${rid} is its own`)
    const { route } = requestFor(i)
    const trace = agent.traces.get(rid)
    assert.ok(trace, `${rid} (${route}) has a trace of its own\n${agent.describe()}`)
    const names = trace.segments.map((s) => s.name)
    for (const name of EXPECTED[route]) {
      assert.ok(names.includes(name), `${rid}'s trace holds ${name}: ${names.join(', ')}`)
    }
    assert.ok(trace.segments.every((s) => s.attributes['request.id'] === rid), `${rid}: every segment is its own`)
  }
}

for (const framework of FRAMEWORKS) {
  describe(`${framework} under load`, () => {
    for (const { key, className } of MANAGERS) {
      it(`${className}: ${TOTAL} requests, ${CONCURRENCY} in flight: every segment in its own trace, no lost context, nothing left`, async () => {
        const { agent, load, stats } = await loadApp(framework, key)
        assert.equal(load.failed, 0, `failed requests: ${load.failures.join('; ')}`)
        assert.equal(agent.counts.transactions, TOTAL)
        assert.equal(agent.counts.joined, 0)
        assert.equal(agent.counts.conflations, 0, agent.describe())
        assert.equal(agent.counts.lostContexts, 0, agent.describe())
        assert.equal(agent.counts.wrongContexts, 0, agent.describe())
        assert.equal(agent.counts.truncated, 0, agent.describe())
        // Every check point ran: at least two per request.
        assert.ok(agent.counts.checks >= 2 * TOTAL, `${agent.counts.checks} check points`)
        checkTraces(agent, load, TOTAL)
        assert.equal(stats.liveTransactions, 0)
        assert.equal(stats.liveSegments, 0)
      })

      it(`${className}: the break switch (no binding) makes the checks fail`, async () => {
        const total = 120
        const { agent, load, stats } = await loadApp(framework, key, { breakContext: true, total })
        const { conflations, lostContexts, wrongContexts } = agent.counts
        // The pool's queued callbacks run in whichever request released a
        // slot: segments in the wrong trace and check points in the wrong
        // transaction.
        assert.ok(conflations > 0, `conflations without the binding: ${agent.describe()}`)
        assert.ok(wrongContexts + lostContexts > 0, `wrong or lost contexts without the binding: ${agent.describe()}`)
        assert.throws(() => checkTraces(agent, load, total), assert.AssertionError)
        // Broken context or not, every transaction ended and nothing is left.
        assert.equal(stats.liveTransactions, 0)
        assert.equal(stats.liveSegments, 0)
      })
    }
  })
}

// The team's koa and connect cases (../shared/seed/async-state-notes.md): a
// transaction active when the server is created propagates into every
// connection the server accepts, and an agent that sees a transaction
// current joins it. runWithoutContext around server creation is the cure.
for (const framework of ['koa', 'connect']) {
  describe(`${framework}: a transaction active at server creation`, () => {
    for (const { key, className } of MANAGERS) {
      /** Starts the app inside an active transaction; `create` wraps the server's creation. */
      async function run (cure) {
        const agent = createAgent(key)
        try {
          const outer = agent.startTransaction('Test/setup', 'setup')
          const app = await agent.manager.runInContext(outer, () => startApp(framework, agent, {
            create: cure ? (fn) => agent.manager.runWithoutContext(fn) : undefined
          }))
          let load
          try {
            load = await runLoad({ port: app.port, total: 60, concurrency: 10, request: requestFor })
          } finally {
            await app.close()
          }
          const setup = agent.endTransaction(outer)
          const stats = await agent.drained()
          return { agent, load, setup, stats }
        } finally {
          agent.close()
        }
      }

      it(`${className}: without the cure, the requests join the setup transaction`, async () => {
        const { agent, load, setup, stats } = await run(false)
        assert.equal(load.failed, 0, load.failures.join('; '))
        assert.equal(agent.counts.joined, 60, agent.describe())
        // The requests' work landed in the setup transaction's trace, and
        // none of them had a trace of its own.
        assert.ok(setup.segments.some((s) => s.attributes['request.id'] !== 'setup'), 'request segments in the setup trace')
        assert.ok(agent.counts.conflations > 0, agent.describe())
        assert.equal(agent.traces.get('r0'), undefined)
        assert.equal(stats.liveSegments, 0)
      })

      it(`${className}: with runWithoutContext around server creation, each request is its own`, async () => {
        const { agent, load, setup, stats } = await run(true)
        assert.equal(load.failed, 0, load.failures.join('; '))
        assert.equal(agent.counts.joined, 0, agent.describe())
        assert.equal(agent.counts.conflations, 0, agent.describe())
        assert.equal(agent.counts.lostContexts, 0, agent.describe())
        assert.deepEqual(setup.segments.map((s) => s.name), ['Test/setup'])
        checkTraces(agent, load, 60)
        assert.equal(stats.liveTransactions, 0)
        assert.equal(stats.liveSegments, 0)
      })
    }
  })
}
