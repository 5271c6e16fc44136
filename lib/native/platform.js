'use strict'

// Which prebuilt binary fits this process: the platform part of the addon's
// file and package names, as napi-rs writes them
// (segment-context.<platform>-<arch>[-<abi>].node, segment-context-<triple>),
// and the table of targets this package ships binaries for.

const { readFileSync } = require('node:fs')

/**
 * The targets with a prebuilt binary, one per platform package
 * (npm/<triple>/). `rust` is the cargo target triple it is built for; `libc`
 * is set on Linux only, as npm's `libc` field.
 * @type {ReadonlyArray<Readonly<{ triple: string, rust: string, os: string, cpu: string, libc?: string }>>}
 */
const TARGETS = Object.freeze([
  { triple: 'linux-x64-gnu', rust: 'x86_64-unknown-linux-gnu', os: 'linux', cpu: 'x64', libc: 'glibc' },
  { triple: 'linux-arm64-gnu', rust: 'aarch64-unknown-linux-gnu', os: 'linux', cpu: 'arm64', libc: 'glibc' },
  { triple: 'linux-x64-musl', rust: 'x86_64-unknown-linux-musl', os: 'linux', cpu: 'x64', libc: 'musl' },
  { triple: 'linux-arm64-musl', rust: 'aarch64-unknown-linux-musl', os: 'linux', cpu: 'arm64', libc: 'musl' },
  { triple: 'darwin-x64', rust: 'x86_64-apple-darwin', os: 'darwin', cpu: 'x64' },
  { triple: 'darwin-arm64', rust: 'aarch64-apple-darwin', os: 'darwin', cpu: 'arm64' },
  { triple: 'win32-x64-msvc', rust: 'x86_64-pc-windows-msvc', os: 'win32', cpu: 'x64' }
].map((t) => Object.freeze(t)))

/**
 * The C library named by the text of `/usr/bin/ldd` (a shell script on glibc,
 * a link to the musl loader on musl): 'musl', 'glibc', or null when the text
 * says neither.
 * @param {string | Buffer | null | undefined} text
 * @returns {'musl' | 'glibc' | null}
 */
function libcFromLdd (text) {
  if (text == null) return null
  const s = String(text)
  if (s.includes('musl')) return 'musl'
  if (s.includes('GNU C Library') || s.includes('GLIBC') || s.includes('glibc')) return 'glibc'
  return null
}

/**
 * The C library named by a diagnostic report: glibc when its header has
 * `glibcVersionRuntime`, musl when a musl loader is among the shared objects,
 * otherwise null.
 * @param {object | null | undefined} report what process.report.getReport() returns
 * @returns {'musl' | 'glibc' | null}
 */
function libcFromReport (report) {
  if (!report || typeof report !== 'object') return null
  if (report.header && report.header.glibcVersionRuntime) return 'glibc'
  const objects = Array.isArray(report.sharedObjects) ? report.sharedObjects : []
  if (objects.some((f) => typeof f === 'string' && (f.includes('libc.musl-') || f.includes('ld-musl-')))) return 'musl'
  // A Linux report without a glibc version comes from a process on musl.
  return report.header ? 'musl' : null
}

function readLdd () {
  try {
    return readFileSync('/usr/bin/ldd', 'latin1')
  } catch {
    return null
  }
}

/**
 * A diagnostic report taken with `process.report.excludeNetwork` set, so that
 * it does not resolve the host names of open sockets (which can take seconds:
 * nodejs/node#46060); the previous setting is put back. Null when reports are
 * not available.
 * @returns {object | null}
 */
function reportWithoutNetwork () {
  const report = process.report
  if (!report || typeof report.getReport !== 'function') return null
  const previous = report.excludeNetwork
  try {
    report.excludeNetwork = true
    return report.getReport()
  } catch {
    return null
  } finally {
    try { report.excludeNetwork = previous } catch {}
  }
}

/**
 * Which C library this Linux process runs on: the text of `/usr/bin/ldd`
 * first (a file read), then a diagnostic report (see reportWithoutNetwork).
 * Glibc when neither tells.
 * @param {{ readLdd?: () => (string | null), getReport?: () => (object | null) }} [probes]
 *   stand-ins for the two probes, for tests
 * @returns {'musl' | 'glibc'}
 */
function detectLibc (probes = {}) {
  const fromLdd = libcFromLdd((probes.readLdd || readLdd)())
  if (fromLdd) return fromLdd
  return libcFromReport((probes.getReport || reportWithoutNetwork)()) || 'glibc'
}

let cachedLibc = null

/**
 * The platform part of the binary's names for this process (or for the given
 * platform, arch and C library): `linux-x64-gnu`, `linux-arm64-musl`,
 * `darwin-arm64`, `win32-x64-msvc`, ...
 * @param {{ platform?: string, arch?: string, libc?: 'musl' | 'glibc' }} [on]
 * @returns {string}
 */
function platformTriple (on = {}) {
  const platform = on.platform || process.platform
  const arch = on.arch || process.arch
  if (platform === 'win32') return `win32-${arch}-msvc`
  if (platform !== 'linux') return `${platform}-${arch}`
  let libc = on.libc
  if (!libc) {
    if (platform === process.platform) {
      cachedLibc = cachedLibc || detectLibc()
      libc = cachedLibc
    } else {
      libc = 'glibc'
    }
  }
  return `linux-${arch}-${libc === 'musl' ? 'musl' : 'gnu'}`
}

/**
 * The shipped target with this napi triple or cargo target, or undefined.
 * @param {string} name e.g. 'linux-x64-gnu' or 'x86_64-unknown-linux-gnu'
 */
function findTarget (name) {
  return TARGETS.find((t) => t.triple === name || t.rust === name)
}

module.exports = { TARGETS, platformTriple, detectLibc, libcFromLdd, libcFromReport, reportWithoutNetwork, findTarget }
