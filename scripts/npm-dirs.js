'use strict'

// Writes the per-platform packages npm/<triple>/ (package.json, README.md)
// from the root package.json and lib/native/platform.js's TARGETS, and sets
// the root's optionalDependencies to all of them at exactly the root version.
// Run it after every version bump: `node scripts/npm-dirs.js`.
// `--check` changes nothing and exits 1 when anything is out of date (CI and
// the publish job run it).

const fs = require('node:fs')
const path = require('node:path')
const { TARGETS } = require('../lib/native/platform')

const root = path.join(__dirname, '..')
const rootManifest = path.join(root, 'package.json')

/** What each target's binary runs on, for its README and description. */
const RUNS_ON = {
  'linux-x64-gnu': 'Linux on x86-64 with glibc 2.17 or later',
  'linux-arm64-gnu': 'Linux on ARM64 with glibc 2.17 or later',
  'linux-x64-musl': 'Linux on x86-64 with musl libc (Alpine)',
  'linux-arm64-musl': 'Linux on ARM64 with musl libc (Alpine)',
  'darwin-x64': 'macOS 10.15 or later on Intel',
  'darwin-arm64': 'macOS 11 or later on Apple silicon',
  'win32-x64-msvc': 'Windows on x86-64'
}

/**
 * The files npm/<triple>/ must hold, as { path: text }, for one target.
 * @param {{ name: string, version: string, license?: string, engines?: object }} pkg the root manifest
 * @param {{ triple: string, os: string, cpu: string, libc?: string }} target
 */
function platformFiles (pkg, target) {
  const name = `${pkg.name}-${target.triple}`
  const binary = `${pkg.name}.${target.triple}.node`
  const manifest = {
    name,
    version: pkg.version,
    description: `The native addon of ${pkg.name} for ${RUNS_ON[target.triple]}.`,
    main: binary,
    files: [binary],
    os: [target.os],
    cpu: [target.cpu],
    ...(target.libc ? { libc: [target.libc] } : {}),
    license: pkg.license,
    engines: pkg.engines
  }
  const readme = `# ${name}\n\n` +
    `The prebuilt native addon of [${pkg.name}](https://www.npmjs.com/package/${pkg.name}) ` +
    `for ${RUNS_ON[target.triple]}. Do not depend on it directly: ${pkg.name} lists it as an ` +
    'optional dependency, npm installs it only where `os`, `cpu` and `libc` match, and ' +
    `${pkg.name} loads it only when its version is exactly the same as its own ` +
    '(both read one shared buffer layout). Where no such package fits, ' +
    `${pkg.name} runs on its pure-JavaScript backend.\n`
  return {
    [path.join('npm', target.triple, 'package.json')]: JSON.stringify(manifest, null, 2) + '\n',
    [path.join('npm', target.triple, 'README.md')]: readme
  }
}

/** The root's optionalDependencies: every platform package at exactly its version. */
function optionalDependencies (pkg) {
  const deps = {}
  for (const t of TARGETS) deps[`${pkg.name}-${t.triple}`] = pkg.version
  return deps
}

function main () {
  const check = process.argv.includes('--check')
  const rootText = fs.readFileSync(rootManifest, 'utf8')
  const pkg = JSON.parse(rootText)
  const stale = []

  const wanted = {}
  for (const t of TARGETS) Object.assign(wanted, platformFiles(pkg, t))
  for (const [rel, text] of Object.entries(wanted)) {
    const file = path.join(root, rel)
    const now = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null
    if (now === text) continue
    stale.push(rel)
    if (!check) {
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, text)
    }
  }

  // Only optionalDependencies changes; every other field keeps its order and text.
  const deps = optionalDependencies(pkg)
  if (JSON.stringify(pkg.optionalDependencies) !== JSON.stringify(deps)) {
    stale.push('package.json optionalDependencies')
    if (!check) {
      pkg.optionalDependencies = deps
      fs.writeFileSync(rootManifest, JSON.stringify(pkg, null, 2) + '\n')
    }
  }

  if (stale.length === 0) {
    console.log('npm-dirs: the platform packages are up to date')
  } else if (check) {
    console.error(`npm-dirs: out of date: ${stale.join(', ')}. Run \`node scripts/npm-dirs.js\`.`)
    process.exit(1)
  } else {
    console.log(`npm-dirs: wrote ${stale.join(', ')}`)
  }
}

if (require.main === module) main()

module.exports = { platformFiles, optionalDependencies, RUNS_ON }
