'use strict'

// One configuration of the demo, in a process of its own (forked by
// examples/demo-server.js with --expose-gc and an IPC channel), so that its
// heap and live-record numbers are its own:
//
//   node --expose-gc examples/demo/server.js none|als|legacy|otel
//
// `otel` is the same app on OpenTelemetry's SDK (otel-instrumentation.js)
// instead of this package, for the comparison.
//
// Starts the instrumented node:http server on 127.0.0.1 (an ephemeral port)
// and answers the parent's messages:
//   -> { type: 'ready', port }                     once listening
//   <- { type: 'cpu' }    -> { type: 'cpu', micros }  (process.cpuUsage, user + system)
//   <- { type: 'mark' }   -> { type: 'marked', heapBeforeMB }
//   <- { type: 'drain' }  -> { type: 'report', ... } after the load has
//      drained (the server closed, every transaction ended, the background
//      job stopped), then exits.
//
// SEGMENT_CONTEXT_DEMO_PG (a JSON pg connection config, set by the parent
// for --db postgres) puts the app's pool on that PostgreSQL.
//
// SEGMENT_CONTEXT_DEMO_BREAK=1 makes the agent skip its bindEmitter (request
// body) and the bindFunction calls of its pool and queue shims: a negative
// control, to see the check fire.

const http = require('node:http')
const { createAgent } = require('./instrumentation')
const { createOtelAgent } = require('./otel-instrumentation')
const { createApp } = require('./app')

const config = process.argv[2]
if (!['none', 'als', 'legacy', 'otel'].includes(config)) {
  console.error(`usage: node --expose-gc ${__filename} none|als|legacy|otel`)
  process.exit(2)
}
if (typeof process.send !== 'function') {
  console.error('examples/demo/server.js is started by examples/demo-server.js (it needs an IPC channel)')
  process.exit(2)
}

const agentOptions = { breakContext: process.env.SEGMENT_CONTEXT_DEMO_BREAK === '1' }
const agent = config === 'otel' ? createOtelAgent(agentOptions) : createAgent(config, agentOptions)
const db = process.env.SEGMENT_CONTEXT_DEMO_PG ? JSON.parse(process.env.SEGMENT_CONTEXT_DEMO_PG) : null
const app = createApp(agent, { db })
// Created at start-up, outside any transaction.
const server = http.createServer(app.handle)

const MB = 1024 * 1024
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function heapUsedMB () {
  if (typeof global.gc === 'function') {
    global.gc()
    global.gc()
  }
  return Math.round(process.memoryUsage().heapUsed / MB * 10) / 10
}

async function drain () {
  const started = Date.now()
  await new Promise((resolve) => {
    server.close(resolve)
    server.closeAllConnections()
  })
  // Every transaction ends when its response has closed and its handler has
  // settled; give stragglers up to 10 s.
  while (agent.active > 0 && Date.now() - started < 10000) await sleep(5)
  await app.close()
  while (agent.active > 0 && Date.now() - started < 10000) await sleep(5)
  // Let the last continuations and destroy hooks run.
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
  await sleep(10)
  // Read before the heap: the OpenTelemetry agent's report flushes its span processor first.
  const report = await agent.report()
  const heapAfterMB = heapUsedMB()
  return { type: 'report', config, inFlight: agent.active, drainMs: Date.now() - started, heapAfterMB, ...report }
}

process.on('message', (message) => {
  if (message.type === 'cpu') {
    const { user, system } = process.cpuUsage()
    process.send({ type: 'cpu', micros: user + system })
  } else if (message.type === 'mark') {
    process.send({ type: 'marked', heapBeforeMB: heapUsedMB() })
  } else if (message.type === 'drain') {
    drain().then(
      (report) => process.send(report, () => process.exit(0)),
      (err) => {
        console.error(err)
        process.exit(1)
      })
  }
})

server.listen(0, '127.0.0.1', () => {
  process.send({ type: 'ready', port: server.address().port, pid: process.pid })
})
