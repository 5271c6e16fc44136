'use strict'

// The release build: the binary that goes into a platform package,
// npm/<triple>/segment-context.<triple>.node.
//
//   node scripts/build-release.js                  this host's target
//   node scripts/build-release.js --target <t>     a cargo target or napi triple
//                                                  (repeatable)
//
// Linux targets build with cargo-zigbuild and zig, so that the glibc ones
// need nothing newer than glibc 2.17 (target x86_64-unknown-linux-gnu.2.17):
// `npm run test:glibc` checks it. Both tools are installed when absent, into
// target/tools/ (zig: `ziglang` from PyPI via pip; cargo-zigbuild: from
// crates.io via `cargo install --locked`), which takes about 45 s on a fresh
// machine (docs/platforms.md). macOS and Windows targets build with plain
// cargo on their own hosts (.github/workflows/release.yml).

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { parseArgs } = require('node:util')
const { TARGETS, findTarget, platformTriple } = require('../lib/native/platform')

const root = path.join(__dirname, '..')
const tools = path.join(root, 'target', 'tools')
const GLIBC_FLOOR = '2.17'
const ZIG_VERSION = '0.17.1'
const ZIGBUILD_VERSION = '0.24.1'

function say (line) {
  console.log(`build-release: ${line}`)
}

function fail (line) {
  console.error(`build-release: ${line}`)
  process.exit(1)
}

function run (cmd, args, env = process.env) {
  say(`${cmd} ${args.join(' ')}`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env })
  if (r.error) fail(`${cmd} failed to start: ${r.error.message}`)
  if (r.status !== 0) fail(`${cmd} ${args.slice(0, 2).join(' ')} failed (exit ${r.status ?? r.signal})`)
}

function works (cmd, args, env) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env })
  return !r.error && r.status === 0 ? r.stdout.trim() : null
}

function timed (what, fn) {
  const start = process.hrtime.bigint()
  fn()
  say(`${what} in ${(Number(process.hrtime.bigint() - start) / 1e9).toFixed(1)} s`)
}

/** A PATH with zig and cargo-zigbuild on it, installing either into target/tools/ when absent. */
function zigEnv () {
  const zigDir = path.join(tools, 'zig', 'ziglang')
  const binDir = path.join(tools, 'bin')
  const env = { ...process.env, PATH: [binDir, zigDir, process.env.PATH].join(path.delimiter) }

  if (!works('zig', ['version'], env)) {
    const python = works('python3', ['--version']) ? 'python3' : 'python'
    timed(`installed zig ${ZIG_VERSION} (PyPI ziglang) into ${path.relative(root, zigDir)}`, () =>
      run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-warn-script-location',
        '--upgrade', '--target', path.join(tools, 'zig'), `ziglang==${ZIG_VERSION}`]))
  }
  if (!works('cargo-zigbuild', ['--version'], env)) {
    timed(`installed cargo-zigbuild ${ZIGBUILD_VERSION} into ${path.relative(root, binDir)}`, () =>
      run('cargo', ['install', 'cargo-zigbuild', '--version', ZIGBUILD_VERSION, '--locked', '--root', tools]))
  }
  say(`zig ${works('zig', ['version'], env)}, ${works('cargo-zigbuild', ['--version'], env)}`)
  return env
}

/**
 * Fails early, and says why, when the target's Rust standard library is
 * missing. It does not run `rustup target add`: in CI the workflow installs
 * the targets, and this workplace's machines are not promised rustup's
 * server (docs/platforms.md).
 */
function ensureStd (rust) {
  const installed = works('rustup', ['target', 'list', '--installed'])
  if (installed === null || installed.split('\n').includes(rust)) return
  fail(`the Rust standard library for ${rust} is not installed: run \`rustup target add ${rust}\` where rustup's server is reachable (CI does), or build this target in .github/workflows/release.yml`)
}

function libraryFile (rust) {
  if (rust.includes('windows')) return 'segment_context.dll'
  if (rust.includes('apple')) return 'libsegment_context.dylib'
  return 'libsegment_context.so'
}

function build (target) {
  ensureStd(target.rust)
  const isLinux = target.os === 'linux'
  const targetDir = path.join(root, 'target', isLinux ? 'zig' : 'release-build')
  let env = { ...process.env, CARGO_TARGET_DIR: targetDir }
  let args = ['build', '--release', '--lib', '--target', target.rust]
  if (isLinux) {
    env = { ...zigEnv(), CARGO_TARGET_DIR: targetDir }
    const zigTarget = target.libc === 'glibc' ? `${target.rust}.${GLIBC_FLOOR}` : target.rust
    args = ['zigbuild', '--release', '--lib', '--target', zigTarget]
    // musl targets link the C runtime statically by default, which rules
    // out a cdylib; the addon links musl dynamically, as Node itself does.
    if (target.libc === 'musl') env.RUSTFLAGS = [env.RUSTFLAGS, '-C target-feature=-crt-static'].filter(Boolean).join(' ')
  } else if (target.os === 'win32') {
    // No dependency on the Visual C++ runtime DLLs.
    env.RUSTFLAGS = [env.RUSTFLAGS, '-C target-feature=+crt-static'].filter(Boolean).join(' ')
  } else if (target.os === 'darwin') {
    env.MACOSX_DEPLOYMENT_TARGET = env.MACOSX_DEPLOYMENT_TARGET || (target.cpu === 'arm64' ? '11.0' : '10.15')
  }
  timed(`built ${target.rust}`, () => run('cargo', args, env))

  const built = path.join(targetDir, target.rust, 'release', libraryFile(target.rust))
  const destDir = path.join(root, 'npm', target.triple)
  if (!fs.existsSync(path.join(destDir, 'package.json'))) fail(`${path.relative(root, destDir)}/package.json is missing (run node scripts/npm-dirs.js)`)
  const dest = path.join(destDir, `segment-context.${target.triple}.node`)
  fs.copyFileSync(built, dest)
  say(`wrote ${path.relative(root, dest)} (${fs.statSync(dest).size} bytes)`)
}

function main () {
  const { values } = parseArgs({ options: { target: { type: 'string', multiple: true } } })
  const names = values.target && values.target.length > 0 ? values.target : [platformTriple()]
  const targets = names.map((name) => findTarget(name) ||
    fail(`unknown target ${name}; known: ${TARGETS.map((t) => `${t.triple} (${t.rust})`).join(', ')}`))
  for (const target of targets) build(target)
}

main()
