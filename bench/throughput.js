'use strict'

// Section 5: HTTP throughput. A node:http server on 127.0.0.1 whose handler
// does about 10 segments of async work per request, loaded by autocannon
// (as a library, 10 connections) for a fixed time.
//
// The handler's steps: awaits, two promise chains, three setImmediate
// waits, a nextTick, a sync render, and a setTimeout made during the request
// whose callback runs after the response (in the request's ended context).
// No step waits for a timer: a timer's 1 ms granularity would otherwise set
// the request rate (10 connections / whole milliseconds of latency), and
// the comparison would measure timer rounding, not instrumentation (seen in
// a first version: the uninstrumented server was 32 % busy).
//
// Set-up on a 2-core machine: the server runs in a fresh child process per
// configuration and round (one core's worth of JS); autocannon runs in the
// orchestrating process (the other core). Neither is pinned. Each run starts
// with a short warm-up load that is not counted. The child reports its own
// CPU time over the measured window, so "server CPU per request" is known
// even when the load generator, not the server, is the bottleneck.
//
// Configurations (same handler, same async work):
//   none    no instrumentation: the handler without manager or store calls
//   raw-als the same store calls, contexts on a bare AsyncLocalStorage
//           (getStore/run): what the runtime itself costs, for reference
//   als     AsyncLocalContextManager + SegmentStore
//   legacy  LegacyContextManager + SegmentStore (async hooks on)
// With a manager, each request is a transaction on the store, each step a
// segment started under the current context and run in its own context,
// ended when it settles; the transaction ends (endTransaction, the finished
// trace as objects, then dropped) when the response is sent.
//
//   node bench/throughput.js [--quick]

const { fork } = require('node:child_process')
const http = require('node:http')

const CONFIGS = [
  { id: 'none', label: 'no instrumentation' },
  { id: 'raw-als', label: 'raw AsyncLocalStorage + store (for reference)' },
  { id: 'als', label: 'ours: AsyncLocalContextManager + store' },
  { id: 'legacy', label: 'ours: LegacyContextManager + store, async hooks on' }
]
const CONNECTIONS = 10

// ---------------------------------------------------------------------------
// The server (child)
// ---------------------------------------------------------------------------

function serve (config) {
  const lib = require('..')
  const store = new lib.SegmentStore()
  let m = null
  if (config === 'als') m = new lib.AsyncLocalContextManager({ store })
  else if (config === 'legacy') m = new lib.LegacyContextManager({ store })
  else if (config === 'raw-als') {
    // The same calls on a bare AsyncLocalStorage: what the runtime costs.
    const { AsyncLocalStorage } = require('node:async_hooks')
    const als = new AsyncLocalStorage()
    m = {
      getContext: () => als.getStore() ?? null,
      runInContext: (ctx, fn, thisArg, args) => als.run(ctx, fn, ...(args || []))
    }
  }
  const agent = m !== null
  let traces = 0
  let traceSegments = 0

  /** Runs `work` as a segment of the current context (with an agent), awaiting it either way. */
  async function traced (name, work, attribute) {
    if (!agent) return await work()
    const h = store.startSegment(m.getContext(), name)
    if (attribute !== undefined) store.setAttribute(h, 'detail', attribute)
    try {
      return await m.runInContext(h, work)
    } finally {
      store.endSegment(h)
    }
  }

  const immediate = () => new Promise((resolve) => setImmediate(resolve))
  const users = [{ id: 1, name: 'ada' }, { id: 2, name: 'grace' }, { id: 3, name: 'edsger' }]
  const cache = new Map()
  let staleContexts = 0

  // Runs after the response (a timer made during the request, 1 ms later):
  // off the request's path, so the timer's millisecond does not set the
  // request rate, but its callback runs in the request's (ended) context.
  function cacheWrite (key, value) {
    if (agent && m.getContext() === null) staleContexts++
    cache.set(key, value)
  }

  async function handle (req, res) {
    const path = await traced('middleware/route', async () => {
      await null
      return req.url.split('?')[0]
    })
    const user = await traced('middleware/auth', () => Promise.resolve(req.headers['user-agent'] || '')
      .then((ua) => ua.length)
      .then((n) => ({ id: (n % 3) + 1 })))
    const rows = await traced('Datastore/postgres/select users', async () => {
      await immediate()
      return users.filter((u) => u.id === user.id)
    }, 'SELECT * FROM users WHERE id = $1')
    const cached = await traced('cache/get', async () => {
      await null
      await null
      return cache.has(path)
    })
    const orders = await traced('Datastore/postgres/select orders', async () => {
      await immediate()
      return [{ id: 10, total: 99.5 }, { id: 11, total: 12 }]
    }, 'SELECT * FROM orders WHERE user_id = $1')
    const price = await traced('external/pricing', () => Promise.resolve(orders)
      .then((os) => os.map((o) => o.total))
      .then((ts) => ts.reduce((a, b) => a + b, 0)))
    await traced('cache/set', async () => {
      setTimeout(cacheWrite, 0, path, price)
      await null
    })
    await traced('nextTick/flush', () => new Promise((resolve) => process.nextTick(resolve)))
    const items = await traced('Datastore/postgres/select items', async () => {
      await immediate()
      return orders.length * 3
    })
    const body = await traced('view/render', async () => JSON.stringify({ path, user: rows[0], cached, orders, price, items }))
    await traced('http/respond', async () => {
      res.setHeader('content-type', 'application/json')
      res.end(body)
    })
  }

  const server = http.createServer((req, res) => {
    if (!agent) {
      handle(req, res).catch((e) => { res.statusCode = 500; res.end(String(e)) })
      return
    }
    const txn = store.startTransaction('GET /users/:id')
    m.runInContext(txn, handle, null, [req, res])
      .catch((e) => { res.statusCode = 500; res.end(String(e)) })
      .finally(() => {
        const trace = store.endTransaction(txn)
        if (trace !== null) {
          traces++
          traceSegments += trace.segmentCount
        }
      })
  })

  let cpu0 = null
  let served0 = 0
  let served = 0
  server.on('request', () => { served++ })
  process.on('message', (msg) => {
    if (msg.type === 'start') {
      cpu0 = process.cpuUsage()
      served0 = served
      process.send({ type: 'started' })
    } else if (msg.type === 'stop') {
      const cpu = process.cpuUsage(cpu0)
      const requests = served - served0
      // Live counts once the requests still in flight have finished.
      setTimeout(() => reportStopped(cpu, requests), 300)
    } else if (msg.type === 'exit') {
      server.close()
      process.exit(0)
    }
  })
  function reportStopped (cpu, requests) {
    const stats = store.stats()
    process.send({
      type: 'stopped',
      cpuMs: (cpu.user + cpu.system) / 1000,
      requests,
      traces,
      segmentsPerTrace: traces ? traceSegments / traces : 0,
      liveTransactions: stats.liveTransactions,
      liveSegments: stats.liveSegments,
      hookTableSize: config === 'legacy' ? m.hookTableSize : null,
      staleContexts
    })
  }
  server.listen(0, '127.0.0.1', () => process.send({ type: 'listening', port: server.address().port }))
}

// ---------------------------------------------------------------------------
// The load (parent)
// ---------------------------------------------------------------------------

function startServer (config) {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--serve', config], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT: '' }
    })
    const waiters = new Map()
    child.on('message', (msg) => {
      if (msg.type === 'listening') resolve({ child, port: msg.port, ask })
      const w = waiters.get(msg.type)
      if (w) {
        waiters.delete(msg.type)
        w(msg)
      }
    })
    child.on('error', reject)
    child.on('exit', (code) => reject(new Error(`server (${config}) exited with ${code}`)))
    function ask (type, answer) {
      return new Promise((resolve) => {
        waiters.set(answer, resolve)
        child.send({ type })
      })
    }
  })
}

function load (port, duration) {
  const autocannon = require('autocannon')
  return autocannon({ url: `http://127.0.0.1:${port}/users/2?x=1`, connections: CONNECTIONS, duration })
}

async function measureConfig (config, { duration, warmup }) {
  const server = await startServer(config)
  try {
    await load(server.port, warmup)
    await server.ask('start', 'started')
    const r = await load(server.port, duration)
    const s = await server.ask('stop', 'stopped')
    if (r.errors || r.non2xx || r.timeouts) throw new Error(`${config}: ${r.errors} errors, ${r.non2xx} non-2xx, ${r.timeouts} timeouts`)
    return {
      requests: r.requests.total,
      seconds: r.duration,
      rps: r.requests.total / r.duration,
      mean: r.latency.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      serverCpuMs: s.cpuMs,
      serverRequests: s.requests,
      cpuPerRequestUs: (s.cpuMs * 1000) / s.requests,
      serverCpuShare: s.cpuMs / (r.duration * 1000),
      segmentsPerTrace: s.segmentsPerTrace,
      live: { liveTransactions: s.liveTransactions, liveSegments: s.liveSegments, hookTableSize: s.hookTableSize },
      staleContexts: s.staleContexts
    }
  } finally {
    server.child.removeAllListeners('exit')
    server.child.send({ type: 'exit' })
  }
}

async function run ({ quick, log = () => {} }) {
  const rounds = quick ? 1 : 2
  const duration = quick ? 3 : 4 // seconds per round: 3 s quick, 2 × 4 s = 8 s full
  const warmup = quick ? 0.5 : 1
  const runs = {}
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? CONFIGS : [...CONFIGS].reverse()
    for (const c of order) {
      log(`throughput: ${c.id}, round ${round + 1}/${rounds}, ${duration} s`)
      ;(runs[c.id] ??= []).push(await measureConfig(c.id, { duration, warmup }))
    }
  }
  const table = {}
  for (const c of CONFIGS) {
    const rs = runs[c.id]
    const requests = rs.reduce((a, r) => a + r.requests, 0)
    const seconds = rs.reduce((a, r) => a + r.seconds, 0)
    const cpuMs = rs.reduce((a, r) => a + r.serverCpuMs, 0)
    const served = rs.reduce((a, r) => a + r.serverRequests, 0)
    table[c.id] = {
      rps: requests / seconds,
      p99: rs.reduce((a, r) => a + r.p99, 0) / rs.length,
      p50: rs.reduce((a, r) => a + r.p50, 0) / rs.length,
      mean: rs.reduce((a, r) => a + r.mean, 0) / rs.length,
      cpuPerRequestUs: (cpuMs * 1000) / served,
      serverCpuShare: cpuMs / (seconds * 1000),
      segmentsPerTrace: rs[0].segmentsPerTrace,
      live: rs[rs.length - 1].live,
      rounds: rs
    }
  }
  for (const c of CONFIGS) {
    table[c.id].ofNone = table[c.id].rps / table.none.rps
    table[c.id].cpuOfNone = table[c.id].cpuPerRequestUs / table.none.cpuPerRequestUs
  }
  return { connections: CONNECTIONS, secondsPerConfig: duration * rounds, rounds, configs: CONFIGS, table }
}

const { parseOptions, QUICK } = require('./lib/args')
const cli = require.main === module ? parseOptions({ ...QUICK, serve: { type: 'string' } }) : {}
if (cli.serve !== undefined) {
  serve(cli.serve)
} else if (require.main === module) {
  run({ quick: cli.quick, log: (m) => console.error(m) })
    .then((r) => console.log(JSON.stringify(r, null, 2)))
}

module.exports = { run, CONFIGS }
