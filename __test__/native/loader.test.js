'use strict'

// The loader (lib/native/index.js) and platform detection
// (lib/native/platform.js). Each loader case runs in a child process against
// a copy of the package laid out in a temp folder as npm installs it
// (node_modules/segment-context beside node_modules/segment-context-<triple>),
// with the environment variables under test. The native cases need the dev
// build at the repo root (`npm run build`); the fallback cases need
// lib/native/js-backend.js.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const repo = path.join(__dirname, '..', '..')
const platform = require('../../lib/native/platform')
const triple = platform.platformTriple()
const binaryName = `segment-context.${triple}.node`
const devBuild = path.join(repo, binaryName)
const rootVersion = require(path.join(repo, 'package.json')).version
const platformPackage = `segment-context-${triple}`

let tmp

// Prints what the loader chose, the warnings it emitted and which modules
// were loaded, as one JSON line, once the warnings (emitted on next tick)
// have been delivered.
const PROBE = `
const warnings = []
process.on('warning', (w) => warnings.push({ name: w.name, code: w.code, message: w.message }))
const loader = require(process.env.PROBE_LOADER)
if (process.env.PROBE_TWICE) {
  for (const k of Object.keys(require.cache)) if (k.includes('lib/native/index.js')) delete require.cache[k]
  require(process.env.PROBE_LOADER)
}
if (process.env.PROBE_SECOND) require(process.env.PROBE_SECOND)
setImmediate(() => {
  const loaded = Object.keys(require.cache)
  console.log(JSON.stringify({
    backend: loader.backend,
    source: loader.source,
    loadError: loader.loadError && loader.loadError.message,
    hasCause: Boolean(loader.loadError && loader.loadError.cause),
    isError: loader.loadError === null || loader.loadError instanceof Error,
    exports: Object.keys(loader.binding).sort(),
    jsLoaded: loaded.some((k) => k.endsWith('js-backend.js')),
    nodeLoaded: loaded.some((k) => k.endsWith('.node')),
    warnings
  }))
})
`

/** A package copy at <app>/node_modules/segment-context; returns its paths. */
function install (name, { local = null, pkg = null } = {}) {
  const app = path.join(tmp, name)
  const dir = path.join(app, 'node_modules', 'segment-context')
  fs.mkdirSync(path.join(dir, 'lib', 'native'), { recursive: true })
  fs.mkdirSync(path.join(dir, 'lib', 'store'), { recursive: true })
  fs.copyFileSync(path.join(repo, 'lib', 'store', 'layout.js'), path.join(dir, 'lib', 'store', 'layout.js'))
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'segment-context', version: rootVersion }))
  for (const f of ['index.js', 'platform.js', 'js-backend.js']) {
    const from = path.join(repo, 'lib', 'native', f)
    // js-backend.js is copied only if it exists: without it the fallback
    // cases fail, as they should.
    if (fs.existsSync(from)) fs.copyFileSync(from, path.join(dir, 'lib', 'native', f))
  }
  if (local === 'good') fs.copyFileSync(devBuild, path.join(dir, binaryName))
  if (local === 'garbage') fs.writeFileSync(path.join(dir, binaryName), 'not a shared object')
  if (pkg) {
    const pdir = path.join(app, 'node_modules', platformPackage)
    fs.mkdirSync(pdir, { recursive: true })
    fs.writeFileSync(path.join(pdir, 'package.json'), JSON.stringify({
      name: platformPackage, version: pkg.version || rootVersion, main: binaryName
    }))
    fs.copyFileSync(devBuild, path.join(pdir, binaryName))
  }
  return { app, dir, loader: path.join(dir, 'lib', 'native', 'index.js') }
}

function probe (loader, env = {}) {
  const clean = { ...process.env }
  delete clean.SEGMENT_CONTEXT_BACKEND
  delete clean.SEGMENT_CONTEXT_NATIVE_PATH
  delete clean.NODE_PATH
  delete clean.NODE_OPTIONS
  const r = spawnSync(process.execPath, ['-e', PROBE], {
    env: { ...clean, PROBE_LOADER: loader, ...env },
    cwd: tmp,
    encoding: 'utf8'
  })
  const line = r.stdout.trim().split('\n').pop()
  return { status: r.status, stderr: r.stderr, out: r.status === 0 && line ? JSON.parse(line) : null }
}

function ok (r) {
  assert.equal(r.status, 0, `the child failed: ${r.stderr}`)
  return r.out
}

const fallbackWarnings = (out) => out.warnings.filter((w) => w.code === 'SEGMENT_CONTEXT_JS_BACKEND')

before(() => {
  assert.ok(fs.existsSync(devBuild), `${devBuild} is missing: run \`npm run build\` first`)
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'segment-context-loader-'))
})

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

describe('platform', () => {
  describe('libcFromLdd', () => {
    it('reads glibc off the GNU ldd script and musl off the musl loader', () => {
      assert.equal(platform.libcFromLdd('#!/bin/bash\n# This file is part of the GNU C Library.\n'), 'glibc')
      assert.equal(platform.libcFromLdd(Buffer.from('\x7fELF...ld-musl-x86_64.so.1...musl libc')), 'musl')
    })

    it('says null for text that names neither, and for no text', () => {
      assert.equal(platform.libcFromLdd('#!/bin/sh\necho hello\n'), null)
      assert.equal(platform.libcFromLdd(null), null)
    })
  })

  describe('libcFromReport', () => {
    it('is glibc when the header has glibcVersionRuntime', () => {
      assert.equal(platform.libcFromReport({ header: { glibcVersionRuntime: '2.36' }, sharedObjects: [] }), 'glibc')
    })

    it('is musl when a musl loader is loaded, or the header has no glibc version', () => {
      assert.equal(platform.libcFromReport({ header: {}, sharedObjects: ['/lib/ld-musl-aarch64.so.1'] }), 'musl')
      assert.equal(platform.libcFromReport({ header: {}, sharedObjects: [] }), 'musl')
    })

    it('is null without a report', () => {
      assert.equal(platform.libcFromReport(null), null)
      assert.equal(platform.libcFromReport({}), null)
    })
  })

  describe('detectLibc', () => {
    it('takes ldd first and then does not take a report', () => {
      let reports = 0
      const getReport = () => { reports++; return { header: { glibcVersionRuntime: '2.36' } } }
      assert.equal(platform.detectLibc({ readLdd: () => 'musl libc (x86_64)', getReport }), 'musl')
      assert.equal(reports, 0)
    })

    it('takes the report when ldd cannot be read or says nothing', () => {
      assert.equal(platform.detectLibc({ readLdd: () => null, getReport: () => ({ header: {}, sharedObjects: [] }) }), 'musl')
      assert.equal(platform.detectLibc({ readLdd: () => 'x', getReport: () => ({ header: { glibcVersionRuntime: '2.17' } }) }), 'glibc')
    })

    it('is glibc when neither probe tells', () => {
      assert.equal(platform.detectLibc({ readLdd: () => null, getReport: () => null }), 'glibc')
    })

    it('agrees with this process', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
      const report = platform.reportWithoutNetwork()
      assert.equal(platform.detectLibc(), report.header.glibcVersionRuntime ? 'glibc' : 'musl')
    })
  })

  describe('reportWithoutNetwork', () => {
    it('sets excludeNetwork during getReport and puts the old value back', () => {
      const original = process.report.getReport
      const before = process.report.excludeNetwork
      let seen = null
      process.report.getReport = function () { seen = process.report.excludeNetwork; return { header: {} } }
      try {
        assert.deepEqual(platform.reportWithoutNetwork(), { header: {} })
      } finally {
        process.report.getReport = original
      }
      assert.equal(seen, true)
      assert.equal(process.report.excludeNetwork, before)
    })
  })

  describe('platformTriple', () => {
    it('names platforms as napi-rs does', () => {
      assert.equal(platform.platformTriple({ platform: 'win32', arch: 'x64' }), 'win32-x64-msvc')
      assert.equal(platform.platformTriple({ platform: 'darwin', arch: 'arm64' }), 'darwin-arm64')
      assert.equal(platform.platformTriple({ platform: 'linux', arch: 'arm64', libc: 'musl' }), 'linux-arm64-musl')
      assert.equal(platform.platformTriple({ platform: 'linux', arch: 'x64', libc: 'glibc' }), 'linux-x64-gnu')
    })

    it('names this process', () => {
      assert.match(triple, new RegExp(`^${process.platform}-${process.arch}(-gnu|-musl|-msvc)?$`))
    })
  })

  describe('TARGETS / findTarget', () => {
    it('lists the seven shipped targets, each findable by both names', () => {
      assert.equal(platform.TARGETS.length, 7)
      assert.equal(new Set(platform.TARGETS.map((t) => t.triple)).size, 7)
      for (const t of platform.TARGETS) {
        assert.equal(platform.findTarget(t.triple), t)
        assert.equal(platform.findTarget(t.rust), t)
        assert.equal(platform.platformTriple({ platform: t.os, arch: t.cpu, libc: t.libc }), t.triple)
      }
      assert.equal(platform.findTarget('freebsd-x64'), undefined)
    })
  })
})

describe('loader', () => {
  describe('order', () => {
    it('(b) loads the local build at the package root, silently, without the JS backend', () => {
      const { loader, dir } = install('local', { local: 'good', pkg: {} })
      const out = ok(probe(loader))
      assert.equal(out.backend, 'native')
      assert.equal(out.source, path.join(dir, binaryName))
      assert.equal(out.loadError, null)
      assert.deepEqual(out.warnings, [])
      assert.equal(out.jsLoaded, false)
      assert.ok(out.exports.includes('finishJsonStrings'))
    })

    it('(a) SEGMENT_CONTEXT_NATIVE_PATH comes before the local build', () => {
      const { loader } = install('explicit', { local: 'garbage' })
      const out = ok(probe(loader, { SEGMENT_CONTEXT_NATIVE_PATH: devBuild }))
      assert.equal(out.backend, 'native')
      assert.equal(out.source, devBuild)
      assert.deepEqual(out.warnings, [])
    })

    it('(a) an explicit path that fails is not replaced by another binary', { skip: jsMissing() }, () => {
      const { loader } = install('explicit-bad', { local: 'good' })
      const bad = path.join(tmp, 'nowhere.node')
      const out = ok(probe(loader, { SEGMENT_CONTEXT_NATIVE_PATH: bad }))
      assert.equal(out.backend, 'js')
      assert.match(out.loadError, new RegExp(escape(bad)))
      assert.equal(fallbackWarnings(out).length, 1)
    })

    it('(a) a file that loads but lacks the addon exports is a load error', { skip: jsMissing() }, () => {
      const fake = path.join(tmp, 'not-ours.js')
      fs.writeFileSync(fake, 'module.exports = { layout () {} }\n')
      const { loader } = install('explicit-fake', {})
      const out = ok(probe(loader, { SEGMENT_CONTEXT_NATIVE_PATH: fake }))
      assert.equal(out.backend, 'js')
      assert.match(out.loadError, /is not segment-context's addon \(it lacks initStore, reserve/)
    })

    it('(a) a binary of another version, every function but a layout without a constant, is a load error', { skip: jsMissing() }, () => {
      const fake = path.join(tmp, 'old-layout.js')
      // The real addon's functions and layout, less one constant.
      fs.writeFileSync(fake, `const real = require(${JSON.stringify(devBuild)})
module.exports = { ...real, layout () { const l = real.layout(); delete l.MAX_LOAD_EIGHTHS; return l } }
`)
      const { loader } = install('explicit-old-layout', {})
      const out = ok(probe(loader, { SEGMENT_CONTEXT_NATIVE_PATH: fake }))
      assert.equal(out.backend, 'js')
      assert.match(out.loadError, /from another version \(its layout\(\) lacks MAX_LOAD_EIGHTHS\); rebuild it/)
    })

    it('(c) loads the platform package when there is no local build', () => {
      const { loader } = install('package', { pkg: {} })
      const out = ok(probe(loader))
      assert.equal(out.backend, 'native')
      assert.equal(out.source, platformPackage)
      assert.equal(out.loadError, null)
      assert.deepEqual(out.warnings, [])
    })

    it('(c) after an unloadable local build, the platform package still loads', () => {
      const { loader } = install('package-after-garbage', { local: 'garbage', pkg: {} })
      const out = ok(probe(loader))
      assert.equal(out.backend, 'native')
      assert.equal(out.source, platformPackage)
    })

    it('(c) a platform package of another version is a load error naming both versions', { skip: jsMissing() }, () => {
      const { loader } = install('mismatch', { pkg: { version: '0.0.1-other' } })
      const out = ok(probe(loader))
      assert.equal(out.backend, 'js')
      assert.equal(out.nodeLoaded, false, 'the mismatched binary is never loaded')
      assert.match(out.loadError, new RegExp(`${platformPackage}@0\\.0\\.1-other does not match segment-context@${escape(rootVersion)}`))
      assert.equal(out.hasCause, true)
    })

    it('(d) falls back to JS with one warning saying why and that it is slower', { skip: jsMissing() }, () => {
      const { loader } = install('nothing', {})
      const out = ok(probe(loader))
      assert.equal(out.backend, 'js')
      assert.equal(out.source, 'js')
      assert.equal(out.isError, true)
      assert.match(out.loadError, new RegExp(`no native binding for ${triple}`))
      assert.match(out.loadError, new RegExp(`${platformPackage} is not installed`))
      const [w, ...rest] = fallbackWarnings(out)
      assert.deepEqual(rest, [])
      assert.equal(w.name, 'SegmentContextWarning')
      assert.match(w.message, /slower/)
      assert.match(w.message, /is not installed/)
    })

    it('(d) an unloadable local file is the load error, with its cause', { skip: jsMissing() }, () => {
      const { loader } = install('garbage', { local: 'garbage' })
      const out = ok(probe(loader))
      assert.equal(out.backend, 'js')
      assert.match(out.loadError, /could not be loaded on/)
      assert.equal(out.hasCause, true)
    })

    it('(d) the JS backend has the native binding\'s exports', { skip: jsMissing() }, () => {
      const native = ok(probe(install('exports-native', { local: 'good' }).loader))
      const js = ok(probe(install('exports-js', {}).loader))
      assert.deepEqual(js.exports, native.exports)
    })
  })

  describe('SEGMENT_CONTEXT_BACKEND', () => {
    it('js takes the JS backend without a warning and without loading a binary', { skip: jsMissing() }, () => {
      const { loader } = install('force-js', { local: 'good' })
      for (const value of ['js', ' JS ']) {
        const out = ok(probe(loader, { SEGMENT_CONTEXT_BACKEND: value }))
        assert.equal(out.backend, 'js')
        assert.equal(out.loadError, null)
        assert.equal(out.nodeLoaded, false)
        assert.deepEqual(out.warnings, [])
      }
    })

    it('native loads the binary when there is one', () => {
      const { loader } = install('force-native', { pkg: {} })
      const out = ok(probe(loader, { SEGMENT_CONTEXT_BACKEND: 'native' }))
      assert.equal(out.backend, 'native')
      assert.equal(out.jsLoaded, false)
    })

    it('native throws a clear Error when no binary loads', () => {
      const { loader } = install('force-native-none', { local: 'garbage' })
      const r = probe(loader, { SEGMENT_CONTEXT_BACKEND: 'native' })
      assert.notEqual(r.status, 0)
      assert.match(r.stderr, /SEGMENT_CONTEXT_BACKEND=native, but no native binding for/)
      assert.match(r.stderr, /could not be loaded/)
    })

    it('auto and the empty string are the default', () => {
      const { loader } = install('auto', { local: 'good' })
      for (const value of ['auto', '']) {
        const out = ok(probe(loader, { SEGMENT_CONTEXT_BACKEND: value }))
        assert.equal(out.backend, 'native')
        assert.deepEqual(out.warnings, [])
      }
    })

    it('any other value warns once, then acts as auto', () => {
      const { loader } = install('unknown', { local: 'good' })
      const out = ok(probe(loader, { SEGMENT_CONTEXT_BACKEND: 'fast' }))
      assert.equal(out.backend, 'native')
      assert.equal(out.warnings.length, 1)
      assert.equal(out.warnings[0].name, 'SegmentContextWarning')
      assert.equal(out.warnings[0].code, 'SEGMENT_CONTEXT_BACKEND_VALUE')
      assert.match(out.warnings[0].message, /"fast" is not one of auto, native, js/)
    })
  })

  describe('the one-warning rule', () => {
    it('warns once even when the loader runs twice in one process', { skip: jsMissing() }, () => {
      const { loader } = install('twice', {})
      const out = ok(probe(loader, { PROBE_TWICE: '1' }))
      assert.equal(out.backend, 'js')
      assert.equal(fallbackWarnings(out).length, 1)
    })

    it('warns once with two copies of the package in one process', { skip: jsMissing() }, () => {
      const first = install('copy-one', {})
      const second = install('copy-two', {})
      const out = ok(probe(first.loader, { PROBE_SECOND: second.loader }))
      assert.equal(fallbackWarnings(out).length, 1)
    })
  })
})

// The fallback cases cannot pass without the JS backend; they are reported
// as skipped (with the reason), never as passed, until it exists.
function jsMissing () {
  return fs.existsSync(path.join(repo, 'lib', 'native', 'js-backend.js')) ? false : 'lib/native/js-backend.js does not exist yet'
}

function escape (s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
