'use strict'

// Peer benchmark contender: the New Relic agent (`newrelic`) in serverless
// mode, where each harvest is written to stdout as one line (gzip + base64
// JSON), here piped to the parent, which counts the bytes and discards them.
// Configured through the environment (no newrelic.js file): distributed
// tracing on, the root sampler always_on, and span events kept up to 1e6 per
// harvest, so every span becomes a span event on the wire (with the
// defaults, 2,000 a harvest are kept and the rest dropped, doing less
// work). Harvested every second (a long-running process harvests on a
// timer; a Lambda function once per invocation) and at each phase's flush.
// Spans through the API: newrelic.startSegment(name, false, handler), the
// handler run in the segment's context and the segment ended when its
// promise settles, three addCustomSpanAttribute calls; a transaction is
// newrelic.startBackgroundTransaction(name, handle).
//
// decode() (in the parent) reads the span events back out of the payloads.

const os = require('node:os')
const path = require('node:path')
const zlib = require('node:zlib')
const { version: pkgVersion, unavailable } = require('../packages')

const HARVEST_MS = 1000
const ROOT_PREFIX = /^OtherTransaction\/Nodejs\//

module.exports = {
  id: 'newrelic',
  get label () {
    return `New Relic ${pkgVersion('newrelic')} (serverless mode, payload to stdout)`
  },
  wire: 'stdout',
  env: {
    NEW_RELIC_NO_CONFIG_FILE: 'true',
    NEW_RELIC_APP_NAME: 'peer-bench',
    NEW_RELIC_SERVERLESS_MODE_ENABLED: 'true',
    NEW_RELIC_LOG_ENABLED: 'false',
    NEW_RELIC_DISTRIBUTED_TRACING_ENABLED: 'true',
    NEW_RELIC_DISTRIBUTED_TRACING_SAMPLER_ROOT: 'always_on',
    NEW_RELIC_SPAN_EVENTS_MAX_SAMPLES_STORED: '1000000',
    // Code-level metrics need the optional native @newrelic/fn-inspect; when
    // it is not installed (as here) the agent tries to require it again for
    // every segment, module resolution that doubled its cost per span.
    NEW_RELIC_CODE_LEVEL_METRICS_ENABLED: 'false',
    NEW_RELIC_ACCOUNT_ID: '1',
    NEW_RELIC_TRUSTED_ACCOUNT_KEY: '1',
    NEW_RELIC_PRIMARY_APPLICATION_ID: '1',
    NEW_RELIC_UTILIZATION_DETECT_AWS: 'false',
    NEW_RELIC_UTILIZATION_DETECT_AZURE: 'false',
    NEW_RELIC_UTILIZATION_DETECT_GCP: 'false',
    NEW_RELIC_UTILIZATION_DETECT_PCF: 'false',
    NEW_RELIC_UTILIZATION_DETECT_DOCKER: 'false',
    NEW_RELIC_UTILIZATION_DETECT_KUBERNETES: 'false',
    NEW_RELIC_LICENSE_KEY: undefined,
    // Not a pipe that exists: the payload goes to stdout.
    NEWRELIC_PIPE_PATH: path.join(os.tmpdir(), `segment-context-peer-bench-no-pipe-${process.pid}`)
  },
  available: () => unavailable(['newrelic']),
  async create () {
    const newrelic = require('newrelic')
    const agent = newrelic.agent
    if (!agent || typeof agent.harvestSync !== 'function') throw new Error('newrelic: no agent.harvestSync (not in serverless mode?)')
    if (!agent.config.serverless_mode.enabled) throw new Error('newrelic: serverless mode is off')
    // The agent starts asynchronously (serverless mode: on the next turn).
    for (let i = 0; i < 100 && !agent.collector.isConnected(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    if (!agent.collector.isConnected()) throw new Error(`newrelic: agent not started (state ${agent._state})`)
    const timer = setInterval(() => agent.harvestSync(), HARVEST_MS)
    timer.unref()
    return {
      info: { state: agent._state, spanEventsMax: agent.config.span_events.max_samples_stored },
      tracer: {
        transaction (name, work) {
          return newrelic.startBackgroundTransaction(name, () => work())
        },
        span (name, s, n, b, work) {
          return newrelic.startSegment(name, false, () => {
            newrelic.addCustomSpanAttribute('bench_s', s)
            newrelic.addCustomSpanAttribute('bench_n', n)
            newrelic.addCustomSpanAttribute('bench_b', b)
            return work()
          })
        }
      },
      async flush () {
        // A transaction ends on the turn after its handle's promise settles.
        await new Promise((resolve) => setImmediate(resolve))
        agent.harvestSync()
      },
      wire: () => ({ bytes: null, spans: null }),
      traces: null,
      close: async () => clearInterval(timer)
    }
  },
  /** The payloads in stdout lines, decoded. */
  payloads (lines) {
    const out = []
    for (const line of lines) {
      if (!line.startsWith('[')) continue
      const [, marker, data] = JSON.parse(line)
      if (marker !== 'NR_LAMBDA_MONITORING') continue
      out.push(JSON.parse(zlib.gunzipSync(Buffer.from(data, 'base64')).toString('utf8')))
    }
    return out
  },
  /** What reached stdout: span events, and how many the agent saw (kept or sampled away). */
  count ({ stdout }) {
    let spans = 0
    let seen = 0
    for (const p of module.exports.payloads(stdout)) {
      const se = p.data && p.data.span_event_data
      if (!se) continue
      spans += se[2].length
      seen += se[1].events_seen
    }
    return { spans, seen }
  },
  /** The span trees in the span events of the serverless payloads. */
  decode ({ stdout }) {
    const traces = new Map()
    for (const p of module.exports.payloads(stdout)) {
      const se = p.data && p.data.span_event_data
      if (!se) continue
      for (const [intrinsics, user] of se[2]) {
        if (!traces.has(intrinsics.traceId)) traces.set(intrinsics.traceId, [])
        traces.get(intrinsics.traceId).push({ intrinsics, user })
      }
    }
    return [...traces.values()].map((list) => {
      const names = new Map(list.map((e) => [e.intrinsics.guid, e.intrinsics.name.replace(ROOT_PREFIX, '')]))
      return list.map((e) => ({
        name: e.intrinsics.name.replace(ROOT_PREFIX, ''),
        parent: e.intrinsics.parentId ? names.get(e.intrinsics.parentId) ?? `?${e.intrinsics.parentId}` : null,
        attributes: Object.keys(e.user || {}).filter((k) => k.startsWith('bench_')).length
      }))
    })
  }
}
