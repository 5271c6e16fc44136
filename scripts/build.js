'use strict'

// The development build: compiles the addon for this machine in release mode
// and puts it at the package root as segment-context.<triple>.node, where
// lib/native/index.js looks first (after SEGMENT_CONTEXT_NATIVE_PATH).
// Uses the napi-rs CLI (a dev dependency) when it is installed, and plain
// `cargo build --release` otherwise.
//
//   node scripts/build.js            `npm run build`: fails when the build fails
//   node scripts/build.js --prepare  the `prepare` script (`npm install` in a
//                                    checkout, or of a git dependency): never
//                                    fails the install; without cargo it says
//                                    so in one line and exits 0
//
// Published packages carry no build step: their binaries come in the
// platform packages (scripts/build-release.js, docs/platforms.md).

const { spawnSync } = require('node:child_process')
const { copyFileSync, existsSync, mkdirSync, renameSync } = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const prepare = process.argv.includes('--prepare')

function say (line) {
  console.log(`segment-context: ${line}`)
}

/** Ends the script: in prepare mode a failed build is a message, not a failed install. */
function giveUp (line, status = 1) {
  if (prepare) {
    say(`${line}; no local binary built, so this checkout uses a platform package or the slower JS backend (run \`npm run build\` to retry).`)
    process.exit(0)
  }
  console.error(`segment-context: ${line}`)
  process.exit(status)
}

function run (cmd, args) {
  say(`${cmd} ${args.join(' ')}`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
  if (r.error) giveUp(`${cmd} failed to start: ${r.error.message}`)
  if (r.status !== 0) giveUp(`the build failed (exit ${r.status ?? r.signal})`, r.status ?? 1)
}

// `npm pack` and `npm publish` run prepare too; the package they make ships
// no binary, so there is nothing to build for them.
if (prepare && (process.env.npm_command === 'pack' || process.env.npm_command === 'publish')) {
  say(`skipping the development build for npm ${process.env.npm_command} (binaries ship in the platform packages)`)
  process.exit(0)
}

const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' })
if (cargo.error || cargo.status !== 0) {
  if (prepare) {
    say('cargo was not found, so no local binary was built; segment-context will use its platform package or the slower JS backend (install Rust from https://rustup.rs and run `npm run build` to build one).')
    process.exit(0)
  }
  console.error('segment-context: `cargo` was not found. Building the addon needs a Rust toolchain (https://rustup.rs) with cargo on PATH.')
  process.exit(1)
}

let cli = null
try {
  const pkg = require.resolve('@napi-rs/cli/package.json', { paths: [root] })
  cli = path.join(path.dirname(pkg), require(pkg).bin.napi)
} catch {}

// The binary goes in place by a rename, never by writing over the old file:
// a process that has the old one loaded (a test run, a server) keeps its
// mapping of the old file, where an overwrite would crash it (SIGBUS).
const { platformTriple } = require('../lib/native/platform')
const dest = path.join(root, `segment-context.${platformTriple()}.node`)
const staging = path.join(root, 'target', 'staging')
mkdirSync(staging, { recursive: true })
const staged = path.join(staging, path.basename(dest))

if (cli && existsSync(cli)) {
  // The CLI names the binary as dest is named; --dts is relative to --output-dir.
  run(process.execPath, [cli, 'build', '--platform', '--release', '--no-js', '--output-dir', 'target/staging', '--dts', '../native.d.ts'])
} else {
  run('cargo', ['build', '--release', '--lib'])
  const ext = process.platform === 'darwin' ? 'dylib' : process.platform === 'win32' ? 'dll' : 'so'
  const prefix = process.platform === 'win32' ? '' : 'lib'
  copyFileSync(path.join(root, 'target', 'release', `${prefix}segment_context.${ext}`), staged)
}
renameSync(staged, dest)
say(`built ${path.relative(root, dest)}`)
