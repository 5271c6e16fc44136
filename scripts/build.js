'use strict'

// Builds the native addon in release mode and puts it at the package root as
// segment-context.<platform>.node, where lib/loader.js looks for it.
// Runs as the package's `install` script and as `npm run build`.
// Uses the napi-rs CLI (a dev dependency) when it is installed, and plain
// `cargo build --release` otherwise (for example when another project
// installs this package by path, without our dev dependencies).

const { spawnSync } = require('node:child_process')
const { copyFileSync, existsSync } = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

function run (cmd, args) {
  console.log(`segment-context: ${cmd} ${args.join(' ')}`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
  if (r.error) {
    if (r.error.code === 'ENOENT') {
      console.error(`segment-context: \`${cmd}\` was not found. Building the addon needs a Rust toolchain (https://rustup.rs) with cargo on PATH.`)
    } else {
      console.error(`segment-context: ${cmd} failed to start: ${r.error.message}`)
    }
    process.exit(1)
  }
  if (r.status !== 0) process.exit(r.status ?? 1)
}

let cli = null
try {
  const pkg = require.resolve('@napi-rs/cli/package.json', { paths: [root] })
  cli = path.join(path.dirname(pkg), require(pkg).bin.napi)
} catch {}

if (cli && existsSync(cli)) {
  run(process.execPath, [cli, 'build', '--platform', '--release', '--no-js', '--dts', 'target/native.d.ts'])
} else {
  run('cargo', ['build', '--release', '--lib'])
  const { platformTriple } = require('../lib/native/platform')
  const ext = process.platform === 'darwin' ? 'dylib' : process.platform === 'win32' ? 'dll' : 'so'
  const prefix = process.platform === 'win32' ? '' : 'lib'
  const built = path.join(root, 'target', 'release', `${prefix}segment_context.${ext}`)
  const dest = path.join(root, `segment-context.${platformTriple()}.node`)
  copyFileSync(built, dest)
  console.log(`segment-context: built ${path.relative(root, dest)}`)
}
