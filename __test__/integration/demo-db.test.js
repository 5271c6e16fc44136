'use strict'

// The demo's --db postgres (examples/demo-server.js): the app's pool on a
// real, throwaway PostgreSQL, with zero conflation and nothing left; the
// break switch still caught there; a clear message and exit code 2 when
// PostgreSQL is not there; the node:util parseArgs option errors.
// (__test__/examples/demo.test.js covers the default, in-app pool.)

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { runDemo } = require('../helpers/run-demo')
const UNAVAILABLE = /PostgreSQL is not available/

/** The parsed JSON, or null once `t` is failed (CI) or skipped because PostgreSQL is not there. */
function jsonOrUnavailable (t, result) {
  if (result.code === 2 && UNAVAILABLE.test(result.stderr)) {
    const why = result.stderr.trim().split('\n')[0]
    if (process.env.CI) assert.fail(why)
    t.skip(why)
    return null
  }
  try {
    return JSON.parse(result.stdout)
  } catch {
    assert.fail(`stdout is not one JSON object (exit ${result.code}): ${result.stdout}\nstderr: ${result.stderr}`)
  }
}

const clusterDirs = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('segctx-pg-'))

describe('npm start -- --db postgres', () => {
  it('both managers and OpenTelemetry on a real PostgreSQL: zero conflation, nothing left, the cluster removed', async (t) => {
    const before = clusterDirs()
    const result = await runDemo(['--duration', '1', '--db', 'postgres', '--json'])
    const out = jsonOrUnavailable(t, result)
    if (out === null) return
    assert.equal(result.code, 0, `exit code (stderr: ${result.stderr})`)
    assert.equal(out.ok, true)
    assert.equal(out.db, 'postgres')
    assert.match(out.postgresVersion, /PostgreSQL/)
    assert.deepEqual(out.configurations.map((c) => c.name), ['none', 'als', 'legacy', 'otel'])
    for (const c of out.configurations.slice(1, 3)) {
      assert.equal(c.errors, 0, `${c.name}: load errors`)
      assert.equal(c.non2xx, 0, `${c.name}: non-2xx`)
      assert.equal(c.conflations, 0, `${c.name}: ${JSON.stringify(c.firstConflation)}`)
      assert.equal(c.lostContexts, 0, c.name)
      assert.equal(c.liveTransactions, 0, c.name)
      assert.equal(c.liveSegments, 0, c.name)
      assert.ok(c.transactions >= c.requests && c.requests > 0, `${c.name}: ${c.transactions} transactions`)
    }
    // The same app on OpenTelemetry's SDK and the same pg.Pool: its spans checked as exported.
    const otel = out.configurations[3]
    assert.equal(otel.errors + otel.non2xx, 0, 'otel: failed requests')
    assert.equal(otel.conflations, 0, `otel: ${JSON.stringify(otel.firstConflation)}`)
    assert.equal(otel.lostContexts, 0, 'otel')
    assert.ok(otel.otel.requestSpans >= otel.requests && otel.requests > 0, `otel: ${otel.otel.requestSpans} request spans`)
    assert.ok(otel.otel.childSpans > 0, 'otel: child spans')
    for (const key of ['orphanSpans', 'unrootedSpans', 'droppedSpans']) assert.equal(otel.otel[key], 0, `otel: ${key}`)
    assert.equal(out.otelComparison.otelVerified, true)
    assert.deepEqual(clusterDirs(), before, 'the throwaway cluster is removed')
  })

  it('the break switch is still caught on PostgreSQL (pg hands a released client to the next waiter)', async (t) => {
    const result = await runDemo(['--duration', '1', '--mode', 'als', '--db', 'postgres', '--json'], { SEGMENT_CONTEXT_DEMO_BREAK: '1' })
    const out = jsonOrUnavailable(t, result)
    if (out === null) return
    assert.equal(result.code, 1)
    const als = out.configurations[1]
    assert.ok(als.conflations > 0, `conflations: ${als.conflations}`)
    assert.equal(als.liveSegments, 0)
  })

  it('without PostgreSQL: a clear message, exit code 2, nothing on stdout, nothing left behind', async () => {
    const before = clusterDirs()
    const result = await runDemo(['--db', 'postgres', '--json'], { SEGMENT_CONTEXT_PG_BIN: path.join(os.tmpdir(), 'no-such-postgres') })
    assert.equal(result.code, 2)
    assert.match(result.stderr, UNAVAILABLE)
    assert.match(result.stderr, /SEGMENT_CONTEXT_PG_BIN/)
    assert.equal(result.stdout, '')
    assert.deepEqual(clusterDirs(), before)
  })

  it('options through node:util parseArgs: bad ones are exit code 2 with the usage', async () => {
    for (const [args, message] of [
      [['--db', 'mysql'], /--db must be memory or postgres/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['--duration'], /argument missing/],
      [['--duration=0'], /--duration must be a number of seconds/],
      [['--connections', '2.5'], /--connections must be an integer/],
      [['extra'], /positional|Unexpected argument/i]
    ]) {
      const result = await runDemo(args)
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, message, args.join(' '))
      assert.match(result.stderr, /usage:/)
      assert.equal(result.stdout, '')
    }
    const help = await runDemo(['-h'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /--db <d>/)
  })
})
