'use strict'

// Installs segment-context as users do (`npm run test:install`; not part of
// `npm test`, which runs every *.test.js on several Node lines):
//   1. `npm pack` the root and every platform package. The host's platform
//      package carries the release binary from `npm run build:release`
//      (npm/<triple>/), or, when there is none, the dev build from
//      `npm run build` copied in (the test says which). The other platform
//      packages have no binary built here: their tarballs hold only
//      package.json and README.md, which is enough, since npm never installs
//      them on this host (os/cpu/libc do not match).
//   2. Serves all of them from a static npm registry on 127.0.0.1
//      (./registry.js) that the test starts and stops.
//   3. In a fresh folder whose .npmrc points at it, with no cargo or rustc on
//      PATH: `npm install segment-context`; require() reports the native
//      backend from the platform package, silently.
//   4. Again with --omit=optional: require() works on the JS backend and
//      warns once.
//   5. `npm ls` is clean and package-lock.json records every platform package.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { startRegistry } = require('./registry')
const { TARGETS, platformTriple } = require('../../lib/native/platform')

const repo = path.join(__dirname, '..', '..')
const rootManifest = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'))
const triple = platformTriple()
const hostPackage = `segment-context-${triple}`
const binaryName = `segment-context.${triple}.node`
const releaseBinary = path.join(repo, 'npm', triple, binaryName)
const devBinary = path.join(repo, binaryName)

let tmp
let registry
let env

/** PATH without any folder that holds cargo or rustc. */
function pathWithoutRust () {
  const names = ['cargo', 'rustc', 'cargo.exe', 'rustc.exe']
  return process.env.PATH.split(path.delimiter)
    .filter((dir) => dir && !names.some((n) => fs.existsSync(path.join(dir, n))))
    .join(path.delimiter)
}

/**
 * Runs a command without blocking this process, which serves the registry
 * (spawnSync here would deadlock npm against it).
 */
function run (cmd, args, cwd) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, shell: process.platform === 'win32' && cmd === 'npm' })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    child.on('error', (err) => resolve({ status: null, stdout, stderr: stderr + err.message }))
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

const npm = (args, cwd) => run('npm', args, cwd)

/** Packs `dir` into tmp/tarballs; returns { manifest, tarball }. */
function pack (dir) {
  const out = path.join(tmp, 'tarballs')
  fs.mkdirSync(out, { recursive: true })
  const r = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], {
    cwd: dir, env, encoding: 'utf8', shell: process.platform === 'win32'
  })
  assert.equal(r.status, 0, `npm pack ${dir} failed: ${r.stderr}`)
  const [info] = JSON.parse(r.stdout)
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  return { manifest, tarball: path.join(out, info.filename), files: info.files.map((f) => f.path) }
}

/** A fresh app folder with an .npmrc that points at the registry. */
function app (name) {
  const dir = path.join(tmp, name)
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }, null, 2))
  fs.writeFileSync(path.join(dir, '.npmrc'), [
    `registry=${registry.url}`,
    `cache=${path.join(tmp, 'npm-cache')}`,
    'audit=false', 'fund=false', 'update-notifier=false', ''
  ].join('\n'))
  return dir
}

/** What `require('segment-context')` reports in `dir`, and what it printed. */
async function requireIn (dir) {
  const code = `
    const sc = require('segment-context')
    const native = require('segment-context/lib/native')
    console.log(JSON.stringify({ backend: sc.backend, loader: native.backend, source: native.source,
      loadError: native.loadError && native.loadError.message, store: typeof sc.SegmentStore }))`
  const r = await run(process.execPath, ['-e', code], dir)
  assert.equal(r.status, 0, `require('segment-context') failed: ${r.stderr}`)
  return { ...JSON.parse(r.stdout.trim().split('\n').pop()), stderr: r.stderr }
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'segment-context-install-'))
  const userconfig = path.join(tmp, 'empty-npmrc')
  fs.writeFileSync(userconfig, '')
  env = { ...process.env, PATH: pathWithoutRust(), npm_config_userconfig: userconfig }
  for (const k of ['SEGMENT_CONTEXT_BACKEND', 'SEGMENT_CONTEXT_NATIVE_PATH', 'NODE_PATH', 'NODE_OPTIONS']) delete env[k]
  for (const k of Object.keys(env)) if (/^npm_(config|package|lifecycle)_/i.test(k) && k !== 'npm_config_userconfig') delete env[k]
  assert.equal(spawnSync('cargo', ['--version'], { env }).error?.code, 'ENOENT', 'cargo is still on PATH')

  // The host's platform package, staged so that npm/<triple>/ is not touched.
  const staged = path.join(tmp, 'stage', triple)
  fs.mkdirSync(staged, { recursive: true })
  for (const f of ['package.json', 'README.md']) fs.copyFileSync(path.join(repo, 'npm', triple, f), path.join(staged, f))
  const binary = fs.existsSync(releaseBinary) ? releaseBinary : devBinary
  assert.ok(fs.existsSync(binary), `no binary: run npm run build:release (or npm run build) first (${releaseBinary})`)
  console.log(`install test: ${hostPackage} carries ${binary === releaseBinary ? 'the release binary (npm run build:release)' : 'the dev build (npm run build), copied in'}: ${path.relative(repo, binary)}`)
  fs.copyFileSync(binary, path.join(staged, binaryName))

  const packages = [pack(repo), pack(staged)]
  assert.ok(packages[1].files.includes(binaryName), `${hostPackage}'s tarball lacks its binary`)
  for (const t of TARGETS) {
    if (t.triple !== triple) packages.push(pack(path.join(repo, 'npm', t.triple)))
  }
  registry = await startRegistry(packages)
})

after(async () => {
  if (registry) await registry.close()
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

describe('npm install segment-context (no Rust on PATH)', () => {
  let dir
  let install

  before(async () => {
    dir = app('with-optional')
    install = await npm(['install', 'segment-context'], dir)
  })

  it('installs from the local registry without building anything', () => {
    assert.equal(install.status, 0, install.stderr)
    const installed = path.join(dir, 'node_modules', 'segment-context')
    assert.equal(JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')).version, rootManifest.version)
    assert.deepEqual(fs.readdirSync(installed).filter((f) => f.endsWith('.node') || ['src', 'scripts', 'Cargo.toml', 'target'].includes(f)), [])
    assert.ok(registry.requests.some((r) => r.startsWith('GET /-/segment-context-0')), 'the root tarball came from the local registry')
  })

  it('installs the host platform package only', () => {
    const modules = fs.readdirSync(path.join(dir, 'node_modules'))
    assert.deepEqual(modules.filter((m) => m.startsWith('segment-context-')), [hostPackage])
  })

  it('loads the native backend from the platform package, silently', async () => {
    const r = await requireIn(dir)
    assert.equal(r.backend, 'native')
    assert.equal(r.loader, 'native')
    assert.equal(r.source, hostPackage)
    assert.equal(r.loadError, null)
    assert.equal(r.store, 'function')
    assert.doesNotMatch(r.stderr, /SegmentContextWarning/)
  })

  it('leaves a clean npm ls', async () => {
    const r = await npm(['ls', '--all'], dir)
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, new RegExp(`segment-context@${rootManifest.version}`))
  })

  it('records every platform package in package-lock.json', () => {
    const lock = JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8'))
    for (const t of TARGETS) {
      const entry = lock.packages[`node_modules/segment-context-${t.triple}`]
      assert.ok(entry, `segment-context-${t.triple} is not in package-lock.json`)
      assert.equal(entry.version, rootManifest.version)
      assert.equal(entry.optional, true)
    }
  })
})

describe('npm install segment-context --omit=optional', () => {
  let dir
  let install

  before(async () => {
    dir = app('without-optional')
    install = await npm(['install', 'segment-context', '--omit=optional'], dir)
  })

  it('installs without any platform package', () => {
    assert.equal(install.status, 0, install.stderr)
    const modules = fs.readdirSync(path.join(dir, 'node_modules'))
    assert.deepEqual(modules.filter((m) => m.startsWith('segment-context-')), [])
  })

  it('runs on the JS backend and warns once, saying why', async () => {
    const r = await requireIn(dir)
    assert.equal(r.backend, 'js')
    assert.equal(r.source, 'js')
    assert.match(r.loadError, new RegExp(`${hostPackage} is not installed`))
    assert.equal(r.stderr.match(/SegmentContextWarning/g)?.length, 1, r.stderr)
    assert.match(r.stderr, /slower/)
  })

  it('leaves a clean npm ls', async () => {
    const r = await npm(['ls', '--all', '--omit=optional'], dir)
    assert.equal(r.status, 0, r.stdout + r.stderr)
  })
})
