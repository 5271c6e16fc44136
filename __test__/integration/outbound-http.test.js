'use strict'

// Outbound HTTP from concurrent transactions to a local server on
// 127.0.0.1, on both managers: node:http through a keep-alive http.Agent
// pool small enough that requests wait for a socket (a socket freed by one
// transaction is handed to the next waiting one), and fetch (undici, built
// into Node) observed through its diagnostics channels. Each response's
// continuation runs in its own transaction, every segment lands in its own
// trace, nothing is left after draining. For fetch the break switch (the
// channel subscriber without its request -> segment association) makes the
// checks fail. For http.Agent Node keeps the context without the agent's
// binding (asserted), so a sabotaged binding shows the checks are real.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const { MANAGERS, createAgent, sleep } = require('../helpers/instrument')
const { httpRequest, instrumentFetch } = require('../helpers/instrument-outbound')

let server
let port

// The remote service: uninstrumented, answers after 1-3 ms in two chunks
// (two 'data' events), echoing the caller's x-rid.
before(async () => {
  server = http.createServer((req, res) => {
    const rid = req.headers['x-rid']
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write(`{"rid":"${rid}",`)
      setImmediate(() => res.end(`"path":${JSON.stringify(req.url)}}`))
    }, 1 + (Number(rid.slice(1)) % 3))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = server.address().port
})

after(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

/** Runs `fn(i)` for i in [0, total), `concurrency` at a time. */
async function concurrently (total, concurrency, fn) {
  let next = 0
  const worker = async () => {
    while (next < total) await fn(next++)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

/** Each trace holds `expected` segments (name → count), every one its own. */
function checkTraces (agent, total, expected) {
  for (let i = 0; i < total; i++) {
    const rid = `r${i}`
    const trace = agent.traces.get(rid)
    assert.ok(trace, `${rid} has a trace`)
    const names = trace.segments.map((s) => s.name)
    for (const [name, count] of Object.entries(expected)) {
      assert.equal(names.filter((n) => n === name).length, count, `${rid}: ${count} × ${name} in ${names.join(', ')}`)
    }
  }
}

/** One transaction: two GETs in sequence through the pooled agent, callbacks and listeners checked. */
function viaHttpAgent (agent, request, pool, i) {
  const rid = `r${i}`
  const get = (path) => new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: pool, headers: { 'x-rid': rid } }, (res) => {
      agent.expectRid(rid, 'in the response callback')
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        body += chunk
        agent.expectRid(rid, "in the response's 'data' listener")
      })
      res.on('end', () => {
        agent.expectRid(rid, "in the response's 'end' listener")
        agent.segment('App/handle-response', rid, () => resolve(JSON.parse(body)))
      })
    })
    req.on('error', reject)
    req.end()
  })
  return agent.transaction(`Job ${rid}`, rid, async () => {
    const first = await get(`/a?rid=${rid}`)
    assert.equal(first.rid, rid)
    await sleep(1)
    agent.expectRid(rid, 'after a timer between the two requests')
    const second = await get(`/b?rid=${rid}`)
    assert.equal(second.rid, rid)
  })
}

/** One transaction: two fetches, the continuations checked. */
function viaFetch (agent, i) {
  const rid = `r${i}`
  return agent.transaction(`Job ${rid}`, rid, async () => {
    for (const path of ['a', 'b']) {
      const res = await fetch(`http://127.0.0.1:${port}/${path}?rid=${rid}`, { headers: { 'x-rid': rid } })
      agent.expectRid(rid, 'after await fetch()')
      const body = await res.json()
      agent.expectRid(rid, 'after await res.json()')
      assert.equal(body.rid, rid)
      agent.segment('App/handle-response', rid, () => {})
    }
  })
}

for (const { key, className } of MANAGERS) {
  describe(`outbound HTTP: ${className}`, () => {
    it('http.Agent keep-alive pool of 2 sockets, 60 transactions, 20 at a time: each response in its own transaction', async (t) => {
      const agent = createAgent(key)
      t.after(() => agent.close())
      const pool = agent.manager.runWithoutContext(() => new http.Agent({ keepAlive: true, maxSockets: 2 }))
      t.after(() => pool.destroy())
      await concurrently(60, 20, (i) => viaHttpAgent(agent, httpRequest(agent), pool, i))
      const stats = await agent.drained()
      assert.equal(agent.counts.conflations, 0, agent.describe())
      assert.equal(agent.counts.lostContexts, 0, agent.describe())
      assert.equal(agent.counts.wrongContexts, 0, agent.describe())
      assert.equal(agent.counts.truncated, 0, agent.describe())
      // Per request: the callback, 2 'data' and 'end' (4); twice; plus one between.
      assert.equal(agent.counts.checks, 60 * 9)
      checkTraces(agent, 60, { 'External/127.0.0.1/GET': 2, 'App/handle-response': 2 })
      assert.equal(stats.liveTransactions, 0)
      assert.equal(stats.liveSegments, 0)
    })

    it('http.Agent without the binding: Node itself keeps each response in its transaction', async (t) => {
      // Node hands a freed keep-alive socket to a waiting request inside
      // that request's async scope (and resets the socket's async id), so
      // removing the agent's binding changes nothing here, on every Node
      // line tested. The next test shows that the checks would see it if not.
      const agent = createAgent(key, { breakContext: true })
      t.after(() => agent.close())
      const pool = agent.manager.runWithoutContext(() => new http.Agent({ keepAlive: true, maxSockets: 2 }))
      t.after(() => pool.destroy())
      await concurrently(40, 20, (i) => viaHttpAgent(agent, httpRequest(agent), pool, i))
      const stats = await agent.drained()
      assert.equal(agent.counts.conflations, 0, agent.describe())
      assert.equal(agent.counts.lostContexts, 0, agent.describe())
      assert.equal(agent.counts.wrongContexts, 0, agent.describe())
      assert.equal(agent.counts.checks, 40 * 9)
      assert.equal(stats.liveSegments, 0)
    })

    it('http.Agent, each response bound to the wrong transaction: the checks fail', async (t) => {
      const agent = createAgent(key)
      t.after(() => agent.close())
      const pool = agent.manager.runWithoutContext(() => new http.Agent({ keepAlive: true, maxSockets: 2 }))
      t.after(() => pool.destroy())
      const request = httpRequest(agent, { misroute: true })
      await concurrently(40, 20, (i) => viaHttpAgent(agent, request, pool, i))
      const stats = await agent.drained()
      assert.ok(agent.counts.wrongContexts > 0, agent.describe())
      assert.ok(agent.counts.conflations > 0, agent.describe())
      assert.throws(() => checkTraces(agent, 40, { 'External/127.0.0.1/GET': 2, 'App/handle-response': 2 }), assert.AssertionError)
      assert.equal(stats.liveTransactions, 0)
      assert.equal(stats.liveSegments, 0)
    })

    it('fetch (undici), 60 transactions, 20 at a time: continuations and channel segments in their own transaction', async (t) => {
      const agent = createAgent(key)
      t.after(() => agent.close())
      instrumentFetch(agent)
      await concurrently(60, 20, (i) => viaFetch(agent, i))
      const stats = await agent.drained()
      assert.equal(agent.counts.conflations, 0, agent.describe())
      assert.equal(agent.counts.lostContexts, 0, agent.describe())
      assert.equal(agent.counts.wrongContexts, 0, agent.describe())
      assert.equal(agent.counts.truncated, 0, agent.describe())
      assert.equal(agent.counts.checks, 60 * 4)
      checkTraces(agent, 60, { 'External/fetch/GET': 2, 'External/fetch/headers': 2, 'App/handle-response': 2 })
      // The headers segment is the fetch segment's child.
      const trace = agent.traces.get('r7')
      const fetchIds = trace.segments.filter((s) => s.name === 'External/fetch/GET').map((s) => s.id)
      for (const s of trace.segments.filter((s) => s.name === 'External/fetch/headers')) {
        assert.ok(fetchIds.includes(s.parentId), 'External/fetch/headers under External/fetch/GET')
      }
      assert.equal(stats.liveTransactions, 0)
      assert.equal(stats.liveSegments, 0)
    })

    it('fetch break switch: the headers channel read without the association lands elsewhere', async (t) => {
      const agent = createAgent(key, { breakContext: true })
      t.after(() => agent.close())
      instrumentFetch(agent)
      await concurrently(40, 20, (i) => viaFetch(agent, i))
      const stats = await agent.drained()
      assert.ok(agent.counts.conflations + agent.counts.lostContexts > 0, agent.describe())
      assert.throws(() => checkTraces(agent, 40, { 'External/fetch/headers': 2 }), assert.AssertionError)
      assert.equal(stats.liveTransactions, 0)
      assert.equal(stats.liveSegments, 0)
    })
  })
}
