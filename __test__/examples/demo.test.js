'use strict'

// The main job (npm start, examples/demo-server.js) as an end-to-end check:
// a real node:http server under autocannon load, with each manager and, for
// comparison, on OpenTelemetry's SDK. A short run must find zero conflation
// and zero live records after draining, the OpenTelemetry run's spans each
// under its parent in its own request's trace, and the checkers must notice
// when context is broken on purpose. Without the OpenTelemetry packages the
// comparison is skipped with a note, and the demo still passes.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { runDemo, SCRIPT } = require('../helpers/run-demo')

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

/** The human output's comparison line. */
const COMPARISON = new RegExp(
  '^vs OpenTelemetry SDK \\d+\\.\\d+\\.\\d+: ours \\((als|legacy)\\) costs (-?\\d+\\.\\d)% of baseline throughput, ' +
  'OpenTelemetry (-?\\d+\\.\\d)% \\(ours/otel overhead ratio (-?\\d+\\.\\d\\d|n/a[^)]*)\\); ' +
  'p99 [+-]\\d+\\.\\d\\d ms vs [+-]\\d+\\.\\d\\d ms, CPU/req [+-]\\d+ µs vs [+-]\\d+ µs$', 'm')

/** The OpenTelemetry configuration of a passing run: spans exported, every one checked and in place. */
function assertOtelVerified (otel) {
  assert.equal(otel.manager, 'AsyncLocalStorageContextManager')
  assert.match(otel.otel.version, /^2\./)
  assert.equal(otel.errors, 0, 'otel: load errors')
  assert.equal(otel.non2xx, 0, 'otel: non-2xx responses')
  const o = otel.otel
  assert.ok(o.spansExported > 0, `otel: ${o.spansExported} spans exported`)
  assert.equal(o.spansExported, o.spansStarted, 'otel: every span started was exported')
  assert.equal(o.droppedSpans, 0)
  // A request span per response (plus the warm-up's), each with its child spans.
  assert.ok(o.requestSpans >= otel.requests && otel.requests > 0, `otel: ${o.requestSpans} request spans for ${otel.requests} requests`)
  assert.equal(o.requestSpans, otel.transactions)
  assert.ok(o.backgroundSpans > 0, 'otel: the background refresher never ran')
  assert.ok(o.childSpans > 5 * o.requestSpans, `otel: ${o.childSpans} child spans for ${o.requestSpans} request spans`)
  assert.equal(o.requestSpans + o.backgroundSpans + o.childSpans, o.spansExported, 'otel: every exported span checked')
  assert.equal(otel.segments, o.spansExported)
  // Each child span carries its trace root's request.id, and its parent is in that trace.
  assert.equal(otel.conflations, 0, `otel: conflations, first: ${JSON.stringify(otel.firstConflation)}`)
  assert.equal(o.orphanSpans, 0, `otel: orphan spans, first: ${JSON.stringify(o.firstOrphan)}`)
  assert.equal(o.unrootedSpans, 0, 'otel: spans exported after their root, or with none')
  assert.equal(otel.lostContexts, 0, 'otel: lost contexts')
  assert.equal(otel.backgroundLeaks, 0, 'otel: background runs in a request\'s context')
  assert.ok(o.exportedBytes > 0 && o.exportBatches > 0, `otel: ${o.exportedBytes} bytes in ${o.exportBatches} batches`)
}

describe('npm start (examples/demo-server.js)', () => {
  it('--duration 1 --json: both managers, zero conflation, zero live records after draining', async () => {
    const result = await runDemo(['--duration', '1', '--json'])
    const out = parseJson(result)
    assert.equal(result.code, 0, `exit code (stderr: ${result.stderr})`)
    assert.equal(out.node, process.version)
    assert.equal(out.ok, true)
    assert.deepEqual(out.configurations.map((c) => c.name), ['none', 'als', 'legacy', 'otel'])

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

    const [none, als, legacy, otel] = out.configurations
    const instrumented = [als, legacy]
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

    // The same app on OpenTelemetry's SDK: the same span tree, checked span by span.
    assertOtelVerified(otel)
    assert.equal(otel.liveTransactions, null, 'otel: no store')

    // The comparison: ours (the ALS manager) against it, on the table's figures.
    const k = out.otelComparison
    assert.equal(k.skipped, null)
    assert.equal(k.ours, 'als')
    assert.equal(k.oursManager, 'AsyncLocalContextManager')
    assert.equal(k.otelVersion, otel.otel.version)
    assert.equal(k.otelVerified, true)
    assert.equal(k.otelSpans, otel.otel.spansExported)
    assert.equal(k.oursRequestsPerSecond, als.requestsPerSecond)
    assert.equal(k.otelRequestsPerSecond, otel.requestsPerSecond)
    assert.equal(k.oursRelativeThroughput, als.relativeThroughput)
    assert.equal(k.otelRelativeThroughput, otel.relativeThroughput)
    const cost = (c) => (1 - c.requestsPerSecond / none.requestsPerSecond) * 100
    assert.ok(Math.abs(k.oursThroughputCostPercent - cost(als)) <= 0.05, `ours cost ${k.oursThroughputCostPercent}`)
    assert.ok(Math.abs(k.otelThroughputCostPercent - cost(otel)) <= 0.05, `otel cost ${k.otelThroughputCostPercent}`)
    if (cost(otel) > 0) assert.ok(Math.abs(k.overheadRatio - cost(als) / cost(otel)) <= 0.001, `ratio ${k.overheadRatio}`)
    else assert.equal(k.overheadRatio, null)
    assert.equal(k.baselineP99Ms, none.p99Ms)
    assert.equal(k.oursP99Ms, als.p99Ms)
    assert.equal(k.otelP99Ms, otel.p99Ms)
    assert.ok(Math.abs(k.oursAddedP99Ms - (als.p99Ms - none.p99Ms)) <= 0.006, `ours p99 +${k.oursAddedP99Ms}`)
    assert.ok(Math.abs(k.otelAddedP99Ms - (otel.p99Ms - none.p99Ms)) <= 0.006, `otel p99 +${k.otelAddedP99Ms}`)
    for (const key of ['latencyOverheadRatio', 'cpuOverheadRatio']) {
      assert.ok(k[key] === null || typeof k[key] === 'number', `${key}: ${k[key]}`)
    }
    assert.equal(typeof k.oursAddedCpuPerRequestUs, 'number')
    assert.equal(typeof k.otelAddedCpuPerRequestUs, 'number')
  })

  it('the human output: the line comparing ours with OpenTelemetry\'s SDK, and its check passed', async () => {
    const result = await runDemo(['--duration', '1', '--mode', 'legacy'])
    assert.equal(result.code, 0, `exit code (stdout: ${result.stdout}\nstderr: ${result.stderr})`)
    const line = result.stdout.match(COMPARISON)
    assert.ok(line, `no comparison line in:\n${result.stdout}`)
    assert.equal(line[1], 'legacy', '--mode legacy: ours is the legacy manager')
    assert.match(result.stdout, /^ {2}otel \(OpenTelemetry SDK 2\.\d+\.\d+\) /m)
    assert.match(result.stdout, /^OK, OpenTelemetry: [\d,]+ spans exported, each request's child spans under their parent /m)
    assert.doesNotMatch(result.stdout, /FAILED/)
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
    assert.deepEqual(out.configurations.map((c) => c.name), ['none', 'als', 'otel'])
    const [, als, otel] = out.configurations
    assert.ok(als.conflations > 0, `conflations: ${als.conflations}`)
    assert.ok(als.lostContexts > 0, `lost contexts: ${als.lostContexts}`)
    assert.notEqual(als.firstConflation.traceRequestId, als.firstConflation.segmentRequestId)
    // Broken context or not, every transaction still ends.
    assert.equal(als.liveTransactions, 0)
    assert.equal(als.liveSegments, 0)
    // The OpenTelemetry agent skips the same binds: its check fires too.
    assert.ok(otel.conflations > 0, `otel conflations: ${otel.conflations}`)
    assert.ok(otel.lostContexts > 0, `otel lost contexts: ${otel.lostContexts}`)
    assert.notEqual(otel.firstConflation.traceRequestId, otel.firstConflation.segmentRequestId)
    assert.equal(otel.otel.droppedSpans, 0)
    assert.equal(out.otelComparison.otelVerified, false)
  })

  it('without the OpenTelemetry packages (no dev dependencies): a one-line note, and the demo still passes', async (t) => {
    // A copy of examples/ beside the package's index.js and autocannon only,
    // so that no @opentelemetry package resolves from it.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'segctx-demo-nootel-'))
    t.after(() => fs.rmSync(root, { recursive: true, force: true }))
    const repo = path.join(path.dirname(SCRIPT), '..')
    fs.cpSync(path.dirname(SCRIPT), path.join(root, 'examples'), { recursive: true })
    fs.symlinkSync(path.join(repo, 'index.js'), path.join(root, 'index.js'))
    fs.mkdirSync(path.join(root, 'node_modules'))
    fs.symlinkSync(path.join(repo, 'node_modules', 'autocannon'), path.join(root, 'node_modules', 'autocannon'), 'dir')
    const script = path.join(root, 'examples', 'demo-server.js')

    const text = await runDemo(['--duration', '1', '--mode', 'als'], {}, { script })
    assert.equal(text.code, 0, `exit code (stdout: ${text.stdout}\nstderr: ${text.stderr})`)
    const notes = text.stdout.split('\n').filter((l) => /OpenTelemetry/.test(l))
    assert.deepEqual(notes, ['vs OpenTelemetry SDK: comparison skipped, @opentelemetry/api is not installed ' +
      '(a dev dependency; a production install, --omit=dev, has none)'])
    assert.doesNotMatch(text.stdout, /^ {2}otel /m)
    assert.match(text.stdout, /^OK: /m)

    const json = await runDemo(['--duration', '1', '--mode', 'als', '--json'], {}, { script })
    const out = parseJson(json)
    assert.equal(json.code, 0, `exit code (stderr: ${json.stderr})`)
    assert.equal(out.ok, true)
    assert.deepEqual(out.configurations.map((c) => c.name), ['none', 'als'])
    assert.match(out.otelComparison.skipped, /^@opentelemetry\/api is not installed/)
    assert.equal(out.otelComparison.ours, null)
    assert.equal(out.otelComparison.overheadRatio, null)
  })

  it('rejects bad arguments with exit code 2 and the usage', async () => {
    const result = await runDemo(['--mode', 'both'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /--mode must be all, als or legacy/)
    assert.match(result.stderr, /usage:/)
    assert.equal(result.stdout, '')
  })
})
