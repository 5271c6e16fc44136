#!/usr/bin/env node
'use strict'

// `npm run bench`: what agent authors decide on, measured in one run on the
// running Node: our context managers and SegmentStore against the raw
// runtime and the managers they would otherwise pick.
//
//   node bench/index.js [--quick] [--nodes=20,24] [--sections=contextOps,memory]
//
//   --quick     the same tables at fewer iterations (under 60 s on Node 20)
//   --nodes     run on these Node majors, one after the other (other majors
//               through scripts/with-node.js, installed into .node/<major>)
//   --sections  only these sections (printed, not written to the results)
//   --render    only rebuild bench/RESULTS.md from bench/results.json
//
// Sections, one file each, each exporting run({ quick }) → plain data:
//   context-ops.js  1. getContext, runInContext, setContext, bound functions
//   propagation.js  2. await, .then, setTimeout, setImmediate in a context
//   segments.js     3. SegmentStore against bench/reference-store.js
//   memory.js       4. heap retained by timers/promises of ended transactions
//   throughput.js   5. node:http + autocannon, without and with our managers
//
// Results: bench/results.json keeps one full run per Node major (and the
// latest --quick run per major, apart), and bench/RESULTS.md is rebuilt from
// all of them each time, so running on Node 20 and then on Node 24 gives one
// RESULTS.md with both.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { renderRun, targetsTable } = require('./lib/report')
const { evaluate } = require('./lib/targets')

const SECTIONS = [
  { key: 'contextOps', file: './context-ops', title: 'context operations' },
  { key: 'propagation', file: './propagation', title: 'async propagation' },
  { key: 'segments', file: './segments', title: 'segments' },
  { key: 'memory', file: './memory', title: 'memory' },
  { key: 'throughput', file: './throughput', title: 'HTTP throughput' }
]

const RESULTS_JSON = path.join(__dirname, 'results.json')
const RESULTS_MD = path.join(__dirname, 'RESULTS.md')

function option (name) {
  const a = process.argv.find((x) => x === `--${name}` || x.startsWith(`--${name}=`))
  if (a === undefined) return undefined
  const at = a.indexOf('=')
  return at < 0 ? '' : a.slice(at + 1)
}

function readResults () {
  try {
    const r = JSON.parse(fs.readFileSync(RESULTS_JSON, 'utf8'))
    return { runs: r.runs || {}, quick: r.quick || {} }
  } catch {
    return { runs: {}, quick: {} }
  }
}

function renderAll (all) {
  const majors = [...new Set([...Object.keys(all.runs), ...Object.keys(all.quick)])].sort((a, b) => a - b)
  const out = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (`node bench/index.js`); regenerated from `bench/results.json`, which keeps the latest full run per Node major, so running on Node 20 and then on Node 24 (`node scripts/with-node.js 24 bench/index.js`, or `node bench/index.js --nodes=20,24`) puts both here. Ratios compare figures of the same run on the same Node. The machine is shared and noisy: read the spreads before the medians.',
    ''
  ]
  // Targets side by side first.
  const full = majors.filter((m) => all.runs[m])
  if (full.length) {
    out.push('## Targets, by Node version', '')
    const ids = []
    for (const m of full) for (const t of all.runs[m].targets) if (!ids.includes(t.id)) ids.push(t.id)
    const header = ['target', ...full.map((m) => `Node ${all.runs[m].node}`)]
    out.push(`| ${header.join(' | ')} |`, `|---|${full.map(() => '---').join('|')}|`)
    for (const id of ids) {
      const first = full.map((m) => all.runs[m].targets.find((t) => t.id === id)).find(Boolean)
      const cells = full.map((m) => {
        const t = all.runs[m].targets.find((x) => x.id === id)
        if (!t) return '—'
        const verdict = t.pass === null ? '' : t.pass ? ' PASS' : ' **MISS**'
        return `${t.figure}${verdict}`
      })
      out.push(`| ${first.text} (${first.limit}) | ${cells.join(' | ').replace(/\n/g, ' ')} |`)
    }
    out.push('')
  }
  for (const m of majors) {
    if (all.runs[m]) out.push(...renderRun(all.runs[m]))
    else out.push(...renderRun(all.quick[m]))
  }
  const quickOnlyTimes = majors.filter((m) => all.quick[m] && all.runs[m])
  if (quickOnlyTimes.length) {
    out.push('## Latest `--quick` runs', '')
    for (const m of quickOnlyTimes) {
      const q = all.quick[m]
      out.push(`### Node ${q.node}, --quick: ${q.wallSeconds.toFixed(1)} s in all (${q.date})`, '')
      out.push(...targetsTable(q.targets), '')
    }
  }
  return out.join('\n') + '\n'
}

/**
 * What was measured: the commit, the files changed since it (bench/ aside),
 * and a hash of the library's sources, so a result can be told apart from
 * one taken on other code (lib/ may change between runs).
 */
function codeFingerprint () {
  const root = path.join(__dirname, '..')
  const git = (...a) => {
    const r = spawnSync('git', a, { cwd: root, encoding: 'utf8' })
    return r.status === 0 ? r.stdout : null
  }
  const changed = (git('status', '--porcelain') || '').split('\n').filter(Boolean)
    .map((l) => l.slice(3)).filter((f) => !f.startsWith('bench/'))
  const hash = require('node:crypto').createHash('sha256')
  const files = ['index.js', ...fs.readdirSync(path.join(root, 'lib')).filter((f) => f.endsWith('.js')).sort().map((f) => `lib/${f}`)]
  for (const f of files) hash.update(f).update(fs.readFileSync(path.join(root, f)))
  hash.update(fs.readFileSync(path.join(root, `segment-context.linux-x64-gnu.node`)))
  return { commit: (git('rev-parse', '--short', 'HEAD') || '?').trim(), changedSinceCommit: changed, libHash: hash.digest('hex').slice(0, 12) }
}

function log (msg) {
  const t = ((Date.now() - log.t0) / 1000).toFixed(1).padStart(6)
  process.stderr.write(`[bench ${t} s] ${msg}\n`)
}
log.t0 = Date.now()

async function runHere ({ quick, only }) {
  const started = Date.now()
  const loadStart = os.loadavg()[0]
  const code = codeFingerprint()
  const sections = {}
  const times = {}
  for (const s of SECTIONS) {
    if (only && !only.includes(s.key)) continue
    const t0 = Date.now()
    log(`${s.title}…`)
    sections[s.key] = await require(s.file).run({ quick, log })
    times[s.key] = (Date.now() - t0) / 1000
    log(`${s.title}: ${times[s.key].toFixed(1)} s`)
  }
  const cpus = os.cpus()
  const result = {
    node: process.version,
    major: Number(process.versions.node.split('.')[0]),
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: { model: cpus[0] ? cpus[0].model.trim() : 'unknown', cores: cpus.length },
    frameBased: require('..').isFrameBased(),
    date: new Date().toISOString(),
    quick,
    wallSeconds: (Date.now() - started) / 1000,
    loadAverage: { start: loadStart, end: os.loadavg()[0] },
    code,
    codeChangedDuringRun: codeFingerprint().libHash !== code.libHash,
    sectionSeconds: times,
    sections
  }
  result.targets = evaluate(result)
  return result
}

async function main () {
  const quick = option('quick') !== undefined
  const nodes = option('nodes')
  const sectionsOpt = option('sections')
  const only = sectionsOpt ? sectionsOpt.split(',') : null
  const here = process.versions.node.split('.')[0]

  if (option('render') !== undefined) {
    fs.writeFileSync(RESULTS_MD, renderAll(readResults()))
    log(`wrote ${path.relative(process.cwd(), RESULTS_MD)}`)
    return
  }

  if (nodes) {
    // One run per major, one after the other; each writes its own results.
    for (const major of nodes.split(',')) {
      const pass = process.argv.slice(2).filter((a) => !a.startsWith('--nodes'))
      const cmd = major === here
        ? [process.execPath, [__filename, ...pass]]
        : [process.execPath, [path.join(__dirname, '..', 'scripts', 'with-node.js'), major, __filename, ...pass]]
      log(`Node ${major}: ${cmd[1].join(' ')}`)
      const r = spawnSync(cmd[0], cmd[1], { stdio: 'inherit' })
      if (r.status !== 0) process.exitCode = 1
    }
    return
  }

  const result = await runHere({ quick, only })
  console.log(renderRun(result).join('\n'))
  if (only) {
    log('partial run (--sections): results not written')
  } else {
    const all = readResults()
    if (quick) all.quick[result.major] = result
    else all.runs[result.major] = result
    fs.writeFileSync(RESULTS_JSON, JSON.stringify(all, null, 1) + '\n')
    fs.writeFileSync(RESULTS_MD, renderAll(all))
    log(`wrote ${path.relative(process.cwd(), RESULTS_MD)} and ${path.relative(process.cwd(), RESULTS_JSON)}`)
  }
  const missed = result.targets.filter((t) => t.pass === false)
  log(`Node ${process.version}: ${result.targets.filter((t) => t.pass).length} targets met, ${missed.length} missed; ${result.wallSeconds.toFixed(1)} s in all`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
