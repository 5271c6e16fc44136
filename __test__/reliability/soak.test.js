'use strict'

// The short soak: scripts/soak.js with 20,000 transactions per manager, in a
// child process on the Node running the tests. The long form (1,000,000 per
// manager, the default of the script) is run by hand: `node scripts/soak.js`.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const script = path.join(__dirname, '..', '..', 'scripts', 'soak.js')

function soak (args) {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: 120000 })
  const lines = r.stdout.trim().split('\n')
  let report = null
  try {
    report = JSON.parse(lines[lines.length - 1])
  } catch {}
  return { status: r.status, signal: r.signal, stderr: r.stderr, report, lines }
}

test('soak: 20,000 transactions through each manager leave nothing behind, memory bounded', () => {
  const { status, signal, stderr, report, lines } = soak(['--transactions', '20000', '--json'])
  assert.equal(signal, null, stderr)
  assert.ok(report !== null, `the last line on stdout is JSON: ${lines[lines.length - 1]}`)
  assert.equal(lines.length, 1, '--json: nothing else on stdout')
  assert.equal(status, 0, stderr)
  assert.equal(report.ok, true)
  assert.deepEqual(report.results.map((r) => r.manager), ['als', 'legacy'])
  for (const r of report.results) {
    const where = `${r.manager}: `
    assert.equal(r.transactions, 20000)
    assert.deepEqual(r.totals, { transactions: 20000, segments: 120000 }, `${where}every transaction and segment was started`)
    assert.equal(r.segments, 120000, `${where}every transaction ran to its end`)
    assert.deepEqual(r.live, { transactions: 0, segments: 0, hookTable: 0 }, `${where}live counts`)
    assert.equal(r.leaks, 0, `${where}leak report`)
    assert.equal(r.verify, 0, `${where}verify()`)
    assert.equal(r.mismatches, 0, `${where}every step saw its own transaction`)
    // Generous bounds: what matters is that nothing scales with the number
    // of transactions (the long form shows it plateaus).
    assert.ok(r.memory.heapGrowthMB < 16, `${where}heapUsed grew ${r.memory.heapGrowthMB} MB`)
    assert.ok(r.memory.rssGrowthMB < 192, `${where}RSS grew ${r.memory.rssGrowthMB} MB`)
    console.log(`# ${r.manager}: ${r.seconds} s, RSS growth ${r.memory.rssGrowthMB} MB, heapUsed growth ${r.memory.heapGrowthMB} MB`)
  }
})

test('soak: transactions left open are caught: live counts, leak report, exit 1', () => {
  const { status, report } = soak(['--transactions', '2000', '--manager', 'legacy', '--leak', '3', '--json'])
  assert.equal(status, 1)
  assert.equal(report.ok, false)
  const [r] = report.results
  assert.equal(r.live.transactions, 3)
  assert.equal(r.live.segments, 3 * 6, 'each with its root and 5 segments')
  assert.equal(r.leaks, 3, 'the leak report lists the 3 transactions (their segments were ended)')
  const usage = soak(['--transactions', '0'])
  assert.equal(usage.status, 2)
  assert.match(usage.stderr, /--transactions must be a positive integer/)
})
