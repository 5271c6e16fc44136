#!/usr/bin/env node
'use strict'

// The main job (npm start): the product working on a real HTTP server under
// load.
//
//   node examples/demo-server.js [--duration 5] [--connections 50] [--mode all|als|legacy]
//                                [--db memory|postgres] [--json]
//
// Each configuration (no instrumentation, the ALS manager, the legacy manager,
// and for comparison the same app on OpenTelemetry's SDK) runs its own
// node:http server on 127.0.0.1 in a fresh child process
// (examples/demo/server.js), so heap and live-record numbers are its own.
// This process loads them with autocannon: a warm-up each, then --duration
// seconds each, in 1-second rounds taken in turn (so a change in the
// machine's background load touches all alike); then each server drains and
// reports. Printed: requests per second and p99 latency (the instrumented
// ones relative to the uninstrumented), a waterfall of one finished trace, the
// conflation check, the store's live records after draining, heap before and
// after. The uninstrumented baseline always runs; --mode picks the managers.
//
// The OpenTelemetry configuration ("otel", examples/demo/otel-instrumentation.js)
// records the same spans with the same attributes through the SDK set up as an
// application would (BasicTracerProvider, BatchSpanProcessor, an in-process
// OTLP/JSON exporter); one line compares its cost with ours (the ALS manager,
// or the one --mode picks), and its exported spans are checked like our traces.
// It runs whenever the OpenTelemetry packages (dev dependencies) are
// installed; without them a note says the comparison was skipped.
//
// --db postgres puts the app's connection pool on a real PostgreSQL: a
// throwaway cluster (initdb in a temp dir, started here, always stopped and
// removed, by __test__/helpers/postgres.js), shared by the servers. When
// PostgreSQL is not installed or does not start, a message and exit code 2.
// The default, --db memory, is the app's in-process fake pool (needs nothing).
//
// --json prints one JSON object instead:
//   { node, configurations: [{ name, requestsPerSecond, p99Ms, relativeThroughput,
//     conflations, liveTransactions, liveSegments, heapBeforeMB, heapAfterMB, ... }],
//     otelComparison: { skipped, ours, oursRelativeThroughput, otelRelativeThroughput,
//     overheadRatio, ... } }
//
// Exit status: 0 when no request failed, every configuration of ours has no
// conflation, no lost context and no live record after draining, and the
// OpenTelemetry run (when it ran) exported its spans, each in its own
// request's trace under its parent; 1 otherwise; 2 for bad arguments or a
// --db that is not there. Progress goes to stderr.

const path = require('node:path')
const os = require('node:os')
const { fork } = require('node:child_process')
const util = require('node:util')
const { ENV_FLAG } = require('..')
const { load, createTally, summarize, createProgress, bar, fmt } = require('./demo/load')
const { render, problemsOf, compareWithOtel } = require('./demo/report')
const { WATERFALL_ROUTE } = require('./demo/instrumentation')
const { otelUnavailable, otelVersion } = require('./demo/otel-instrumentation')
const { SCHEMA } = require('./demo/app')

const USAGE = `usage: node examples/demo-server.js [options]

  --duration <s>      seconds of load per configuration (default 5)
  --connections <n>   concurrent connections (default 50)
  --mode <m>          all | als | legacy: the managers to run (default all);
                      the uninstrumented baseline always runs, and so does
                      the same app on OpenTelemetry's SDK (for comparison)
                      when its packages (dev dependencies) are installed
  --db <d>            memory | postgres: the app's connection pool, in-process
                      (default) or on a throwaway PostgreSQL cluster
  --json              one JSON object on stdout instead of the tables
  --help              this text`

const OPTIONS = {
  duration: { type: 'string', default: '5' },
  connections: { type: 'string', default: '50' },
  mode: { type: 'string', default: 'all' },
  db: { type: 'string', default: 'memory' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
}

/** The options from `argv` (node:util parseArgs, strict); throws with a message for a bad one. */
function parseArgs (argv) {
  let values
  try {
    ({ values } = util.parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }))
  } catch (err) {
    // parseArgs' own messages ("Unknown option '--x'. ...", "Option '--mode <value>' argument missing").
    throw new Error(err.message)
  }
  const options = { duration: Number(values.duration), connections: Number(values.connections), mode: values.mode, db: values.db, json: values.json }
  if (values.help) options.help = true
  if (!(options.duration > 0 && options.duration <= 600)) throw new Error('--duration must be a number of seconds from 0 to 600')
  if (!Number.isInteger(options.connections) || options.connections < 1 || options.connections > 1000) {
    throw new Error('--connections must be an integer from 1 to 1000')
  }
  if (!['all', 'als', 'legacy'].includes(options.mode)) throw new Error('--mode must be all, als or legacy')
  if (!['memory', 'postgres'].includes(options.db)) throw new Error('--db must be memory or postgres')
  return options
}

/**
 * For --db postgres: a throwaway cluster with the demo's tables, or exits
 * with code 2 and the reason when PostgreSQL (or the pg module) is not there.
 */
async function startDatabase () {
  let startPostgres, PostgresUnavailable, pg
  try {
    ({ startPostgres, PostgresUnavailable } = require('../__test__/helpers/postgres'))
    pg = require('pg')
  } catch (err) {
    console.error(`--db postgres needs the dev dependencies (npm install): ${err.message}`)
    process.exit(2)
  }
  let cluster
  try {
    cluster = await startPostgres({ maxConnections: 60 })
  } catch (err) {
    if (!(err instanceof PostgresUnavailable)) throw err
    console.error(`--db postgres: PostgreSQL is not available: ${err.message}\n` +
      'Install PostgreSQL\'s server (Debian: apt-get install postgresql), or run without --db for the in-app pool.')
    process.exit(2)
  }
  try {
    const client = new pg.Client(cluster.config)
    await client.connect()
    try {
      await client.query(SCHEMA)
    } finally {
      await client.end()
    }
  } catch (err) {
    await cluster.stop()
    throw err
  }
  return cluster
}

/** Seconds for display: at most two decimals. */
const secs = (s) => Number(s.toFixed(2))

/** The child's next message of type `type`, or the reason it never came. */
function nextMessage (child, type) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (m && m.type === type) {
        cleanup()
        resolve(m)
      }
    }
    const onExit = (code, signal) => {
      cleanup()
      reject(new Error(`the ${child.demoConfig} server exited (${signal || code}) before sending '${type}'`))
    }
    const cleanup = () => {
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

/** Starts one configuration's server in a fresh process; resolves once it listens. */
async function startServer (name, db) {
  const env = { ...process.env }
  delete env[ENV_FLAG] // the manager comes from the configuration, not from the environment
  delete env.SEGMENT_CONTEXT_DEMO_PG
  if (db !== null) env.SEGMENT_CONTEXT_DEMO_PG = JSON.stringify(db.config)
  const child = fork(path.join(__dirname, 'demo', 'server.js'), [name], {
    execArgv: ['--expose-gc'],
    env,
    // The child writes nothing on stdout; whatever it writes (warnings) goes to stderr.
    stdio: ['ignore', 'pipe', 'inherit', 'ipc']
  })
  child.demoConfig = name
  child.stdout.pipe(process.stderr)
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const { port } = await nextMessage(child, 'ready')
  return {
    name,
    port,
    tally: createTally(),
    /** Sends `message` and waits for the answer of type `type`. */
    ask (message, type) {
      const answer = nextMessage(child, type)
      child.send(message)
      return answer
    },
    exited,
    kill () {
      if (child.exitCode === null) child.kill()
    }
  }
}

/**
 * Loads every server in turn, round after round (the order rotating), so a
 * change in the machine's background load touches every configuration alike.
 */
async function runRounds (servers, options, progress) {
  const warmup = Math.min(1, options.duration / 5)
  const rounds = Math.max(1, Math.round(options.duration))
  const round = options.duration / rounds
  const warm = (server, seconds) => load({
    port: server.port,
    seconds,
    connections: options.connections,
    progress,
    describe: (t, n) => `  warm-up        ${server.name.padEnd(7)} ${bar(t / seconds)} ${t.toFixed(1)}/${secs(seconds)} s  ${fmt(n)} requests`
  })
  // Warm up (JIT, pools, tables), read the heap after a full GC, then warm up
  // a little again: the forced GC shrinks the young generation, which would
  // slow the first measured round.
  for (const server of servers) {
    await warm(server, warmup)
    server.heapBeforeMB = (await server.ask({ type: 'mark' }, 'marked')).heapBeforeMB
    await warm(server, warmup / 2)
  }
  const total = round * rounds * servers.length
  let done = 0
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < servers.length; k++) {
      const server = servers[(r + k) % servers.length]
      const cpuBefore = (await server.ask({ type: 'cpu' }, 'cpu')).micros
      await load({
        port: server.port,
        seconds: round,
        connections: options.connections,
        tally: server.tally,
        progress,
        describe: (t, n) => `  round ${String(r + 1).padStart(2)}/${rounds}  ${server.name.padEnd(7)} ` +
          `${bar((done + t) / total)} ${fmt(n / Math.max(t, 0.05))} req/s`
      })
      server.tally.cpuMicros += (await server.ask({ type: 'cpu' }, 'cpu')).micros - cpuBefore
      done += round
    }
  }
}

async function main () {
  let options
  try {
    options = parseArgs(process.argv.slice(2))
  } catch (err) {
    console.error(`${err.message}\n\n${USAGE}`)
    process.exit(2)
  }
  if (options.help) {
    console.log(USAGE)
    return
  }

  const names = options.mode === 'all' ? ['none', 'als', 'legacy'] : ['none', options.mode]
  // The OpenTelemetry comparison, unless its packages are not installed.
  const otelSkipped = otelUnavailable()
  if (otelSkipped === null) names.push('otel')
  const progress = createProgress(process.stderr)
  const startedAt = Date.now()
  const header = { waterfallRoute: WATERFALL_ROUTE, otelSkipped, otelVersion: otelSkipped === null ? otelVersion() : null }
  // Started before anything is printed, so that a missing PostgreSQL is the only output.
  const db = options.db === 'postgres' ? await startDatabase() : null
  try {
    await runDemo(options, names, progress, startedAt, header, db)
  } finally {
    if (db !== null) await db.stop()
  }
}

async function runDemo (options, names, progress, startedAt, header, db) {
  if (!options.json) {
    const warmup = Math.min(1, options.duration / 5)
    console.log('segment-context demo: an instrumented node:http server under autocannon load')
    console.log(`Node ${process.version} · ${os.platform()} ${os.arch()} · ${os.cpus().length} CPUs · ` +
      `${options.connections} connections`)
    console.log(`Each configuration: its own server process, ${secs(warmup * 1.5)} s warm-up, then ${options.duration} s of load ` +
      'in 1-second rounds taken in turn')
    console.log('Routes, one transaction per request, one segment per unit of work:')
    console.log('  GET  /users/:id   await chain, two pool queries; starts a background refresher (runWithoutContext)')
    console.log('  GET  /catalog     promise chain, timers, parallel lookups')
    console.log('  GET  /search      callbacks: setTimeout → setImmediate → process.nextTick')
    console.log('  POST /checkout    body read from the request stream (bound emitter), audit queue drained')
    console.log('                    by its own timer (bindFunction), pool query')
    if (header.otelSkipped === null) {
      console.log(`Compared with: the same app on the OpenTelemetry SDK ${header.otelVersion} (the same spans and attributes; ` +
        'BatchSpanProcessor, OTLP/JSON serialized and dropped)')
    }
    console.log(db === null
      ? 'Pool: the in-app fake (--db postgres for a real PostgreSQL)'
      : `Pool: pg.Pool on ${db.version.replace(/^postgres \(PostgreSQL\)/, 'PostgreSQL')}, a throwaway cluster (unix socket in ${db.dir}), 10 clients per server`)
  }

  const servers = []
  let configurations
  try {
    progress.update(`  starting       ${names.join(', ')}`)
    for (const name of names) servers.push(await startServer(name, db))
    await runRounds(servers, options, progress)
    const reports = []
    for (const server of servers) {
      progress.update(`  draining       ${server.name}`)
      reports.push(await server.ask({ type: 'drain' }, 'report'))
      await server.exited
    }
    progress.clear()
    const baseline = summarize(servers[0].tally)
    configurations = servers.map((server, i) => {
      const load = summarize(server.tally)
      const report = reports[i]
      return {
        name: server.name,
        requestsPerSecond: Math.round(load.requestsPerSecond),
        p99Ms: load.p99Ms,
        relativeThroughput: Math.round(load.requestsPerSecond / baseline.requestsPerSecond * 1000) / 1000,
        conflations: report.conflations,
        liveTransactions: report.liveTransactions,
        liveSegments: report.liveSegments,
        heapBeforeMB: server.heapBeforeMB,
        heapAfterMB: report.heapAfterMB,
        // Beyond the documented shape:
        cpuPerRequestUs: Math.round(load.cpuPerRequestUs),
        relativeCpuPerRequest: Math.round(load.cpuPerRequestUs / baseline.cpuPerRequestUs * 1000) / 1000,
        manager: report.manager,
        requests: load.requests,
        loadSeconds: Math.round(load.seconds * 100) / 100,
        roundRequestsPerSecond: load.roundRates,
        errors: load.errors + load.timeouts,
        non2xx: load.non2xx,
        transactions: report.transactions,
        backgroundTransactions: report.backgroundTransactions,
        segments: report.segments,
        lostContexts: report.lostContexts,
        backgroundLeaks: report.backgroundLeaks,
        truncatedSegments: report.truncatedSegments,
        storeProblems: report.storeProblems,
        hookTableSize: report.hookTableSize,
        firstConflation: report.firstConflation,
        trace: report.trace,
        traceSamples: report.traceSamples,
        // The OpenTelemetry configuration's own figures: spans, the check, the wire.
        ...(report.otel ? { otel: report.otel } : {})
      }
    })
  } finally {
    for (const server of servers) server.kill()
  }
  const failures = configurations.flatMap(problemsOf)
  const ok = failures.length === 0
  const comparison = compareWithOtel(configurations, header.otelSkipped)

  if (options.json) {
    const out = {
      node: process.version,
      ok,
      db: options.db,
      postgresVersion: db === null ? null : db.version,
      durationSeconds: options.duration,
      connections: options.connections,
      elapsedSeconds: Math.round((Date.now() - startedAt) / 100) / 10,
      configurations: configurations.map(({ trace, traceSamples, ...rest }) => ({
        ...rest,
        typicalTraceMs: trace === null ? null : Math.round(trace.duration * 100) / 100
      })),
      otelComparison: comparison
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  } else {
    console.log(render({ header, configurations, options, comparison }))
    console.log(`\n(${((Date.now() - startedAt) / 1000).toFixed(1)} s)`)
  }
  process.exitCode = ok ? 0 : 1
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
