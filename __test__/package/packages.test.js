'use strict'

// The published shape: the root package.json and the seven platform
// packages under npm/ agree (names, exact versions, os/cpu/libc, files), no
// package has an install step, and `npm pack` of the root ships the JS and
// types only.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { TARGETS } = require('../../lib/native/platform')
const { platformFiles } = require('../../scripts/npm-dirs')

const repo = path.join(__dirname, '..', '..')
const root = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'))
const INSTALL_STEPS = ['preinstall', 'install', 'postinstall']

function platformManifest (triple) {
  return JSON.parse(fs.readFileSync(path.join(repo, 'npm', triple, 'package.json'), 'utf8'))
}

/** The files `npm pack` would put in the tarball of `dir`. */
function packedFiles (dir) {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir, encoding: 'utf8', shell: process.platform === 'win32'
  })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)[0].files.map((f) => f.path).sort()
}

describe('platform packages (npm/<triple>/)', () => {
  it('exist for every shipped target, as scripts/npm-dirs.js writes them', () => {
    for (const t of TARGETS) {
      for (const [rel, text] of Object.entries(platformFiles(root, t))) {
        assert.equal(fs.readFileSync(path.join(repo, rel), 'utf8'), text, `${rel} is out of date: run node scripts/npm-dirs.js`)
      }
    }
  })

  it('are named segment-context-<triple>, at the root version, for their os, cpu and libc', () => {
    for (const t of TARGETS) {
      const m = platformManifest(t.triple)
      assert.equal(m.name, `segment-context-${t.triple}`)
      assert.equal(m.version, root.version)
      assert.deepEqual(m.os, [t.os])
      assert.deepEqual(m.cpu, [t.cpu])
      assert.deepEqual(m.libc, t.os === 'linux' ? [t.libc] : undefined)
      assert.equal(m.main, `segment-context.${t.triple}.node`)
      assert.deepEqual(m.files, [m.main])
      assert.equal(m.license, root.license)
      assert.deepEqual(m.engines, root.engines)
      assert.ok(fs.existsSync(path.join(repo, 'npm', t.triple, 'README.md')))
    }
  })

  it('have no install step', () => {
    for (const t of TARGETS) {
      const scripts = platformManifest(t.triple).scripts || {}
      for (const step of INSTALL_STEPS) assert.equal(scripts[step], undefined, `${t.triple} has a ${step} script`)
    }
  })

  it('pack their manifest, README and binary only (and the licence, which the release copies in)', () => {
    const files = packedFiles(path.join(repo, 'npm', 'linux-x64-gnu'))
    const allowed = ['README.md', 'package.json', 'segment-context.linux-x64-gnu.node', 'LICENSE']
    assert.deepEqual(files.filter((f) => !allowed.includes(f)), [])
    assert.ok(files.includes('package.json') && files.includes('README.md'))
  })
})

describe('root package.json', () => {
  it('lists every platform package as an optional dependency at exactly its version', () => {
    const expected = Object.fromEntries(TARGETS.map((t) => [`segment-context-${t.triple}`, root.version]))
    assert.deepEqual(root.optionalDependencies, expected)
  })

  it('has no install step and is publishable', () => {
    for (const step of INSTALL_STEPS) assert.equal(root.scripts[step], undefined, `the root has a ${step} script`)
    assert.equal(root.private, undefined)
    assert.equal(root.engines.node, '>=20.17')
  })

  it('names the seven targets for the napi CLI', () => {
    assert.equal(root.napi.binaryName, 'segment-context')
    assert.deepEqual(root.napi.targets, TARGETS.map((t) => t.rust))
  })

  it('packs the JS and types only: no binary, Rust source, Cargo files, scripts or tests', () => {
    const files = packedFiles(repo)
    assert.ok(files.includes('LICENSE'), 'the licence is in the tarball')
    for (const f of ['index.js', 'index.d.ts', 'package.json', 'README.md', 'lib/native/index.js', 'lib/native/platform.js']) {
      assert.ok(files.includes(f), `${f} is not in the tarball`)
    }
    const stray = files.filter((f) => !/^(index\.js|index\.d\.ts|package\.json|README\.md|LICENSE)$/.test(f) &&
      !/^lib\/.+(\.js|\.d\.ts)$/.test(f))
    assert.deepEqual(stray, [])
  })
})

describe('.github/workflows/release.yml', () => {
  const workflow = fs.readFileSync(path.join(repo, '.github', 'workflows', 'release.yml'), 'utf8')

  it('builds and tests every shipped target, on Node 22, 24 and 26', () => {
    for (const t of TARGETS) {
      assert.ok(workflow.includes(`target: ${t.rust}, triple: ${t.triple} }`), `no build of ${t.triple}`)
      assert.ok(workflow.includes(`{ triple: ${t.triple}, host: `), `no test of ${t.triple}`)
    }
    assert.match(workflow, /node: \['22', '24', '26'\]/)
  })

  it('publishes with provenance on a version tag only', () => {
    assert.match(workflow, /if: \$\{\{ startsWith\(github\.ref, 'refs\/tags\/v'\) \}\}/)
    assert.match(workflow, /npm publish --provenance --access public/)
  })
})
