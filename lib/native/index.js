'use strict'

// Loads the segment store's backend, and never throws for a missing or
// unloadable binary. Looks, in order, at
//   (a) SEGMENT_CONTEXT_NATIVE_PATH, an explicit .node file;
//   (b) segment-context.<triple>.node at the package root (`npm run build`);
//   a binary that lacks a function or a layout constant of this version is
//   refused like one that does not load;
//   (c) the platform package segment-context-<triple> (an optional
//       dependency), whose version must equal this package's exactly, since
//       the buffer layout is shared;
//   (d) the pure-JS backend (./js-backend), required only then, with one
//       process warning saying why and that it is slower.
// SEGMENT_CONTEXT_BACKEND=js skips (a)-(c) without a warning; =native throws
// when no native binding loads; =auto or unset is the default. See
// docs/platforms.md.

const { existsSync } = require('node:fs')
const path = require('node:path')
const { platformTriple } = require('./platform')
const { NAMES: LAYOUT_NAMES } = require('../store/layout')

const root = path.join(__dirname, '..', '..')
const { name: packageName, version } = require(path.join(root, 'package.json'))

/** The exports every backend has; a binary without them is not ours. */
const EXPORTS = ['layout', 'initStore', 'reserve', 'grow', 'shrink', 'finish', 'stringTable', 'setStrings', 'finishJsonStrings', 'scan', 'leaks', 'check']

/** The warning's type and codes, for process.on('warning') listeners. */
const WARNING_TYPE = 'SegmentContextWarning'
const FALLBACK_CODE = 'SEGMENT_CONTEXT_JS_BACKEND'
const BAD_VALUE_CODE = 'SEGMENT_CONTEXT_BACKEND_VALUE'
// One fallback warning per process, even with two copies of this package.
const WARNED = Symbol.for('segment-context.js-backend-warned')

function checked (binding, where) {
  const missing = EXPORTS.filter((k) => typeof binding?.[k] !== 'function')
  if (missing.length > 0) {
    throw new Error(`${where} loaded but is not segment-context's addon (it lacks ${missing.join(', ')})`)
  }
  // A binary of another version can have every function and another
  // layout: the store would refuse it at require time, so refuse it here,
  // where the JS backend can still take over.
  let layout
  try {
    layout = binding.layout()
  } catch (err) {
    throw new Error(`${where}: its layout() threw: ${err.message}`, { cause: err })
  }
  const absent = LAYOUT_NAMES.filter((name) => typeof layout?.[name] !== 'number')
  if (absent.length > 0) {
    throw new Error(`${where} is segment-context's addon from another version (its layout() lacks ${absent.join(', ')}); rebuild it with npm run build`)
  }
  return binding
}

function requireFile (file) {
  let binding
  try {
    binding = require(file)
  } catch (err) {
    throw new Error(`${file} could not be loaded on ${platformTriple()} with Node ${process.version}: ${err.message}`, { cause: err })
  }
  return checked(binding, file)
}

/** Tries (a), (b), (c); returns { binding, source } or throws one Error that lists every attempt. */
function loadNative () {
  const triple = platformTriple()
  const explicit = process.env.SEGMENT_CONTEXT_NATIVE_PATH
  if (explicit) {
    // An explicit path is the only candidate: a failure here must not be
    // hidden by another binary loading instead.
    const file = path.resolve(explicit)
    return { binding: requireFile(file), source: file }
  }

  const attempts = []
  let cause = null
  const local = path.join(root, `segment-context.${triple}.node`)
  if (existsSync(local)) {
    try {
      return { binding: requireFile(local), source: local }
    } catch (err) {
      attempts.push(err.message)
      cause = cause || err
    }
  } else {
    attempts.push(`no local build ${local}`)
  }

  const pkg = `${packageName}-${triple}`
  let manifest = null
  try {
    manifest = require.resolve(`${pkg}/package.json`, { paths: [__dirname] })
  } catch {
    attempts.push(`the package ${pkg} is not installed (installed with --omit=optional, or no binary is published for ${triple})`)
  }
  if (manifest) {
    try {
      const found = require(manifest).version
      if (found !== version) {
        throw new Error(`${pkg}@${found} does not match ${packageName}@${version}: the two must be the same version`)
      }
      return { binding: checked(require(pkg), pkg), source: pkg }
    } catch (err) {
      attempts.push(err.message)
      cause = cause || err
    }
  }

  throw new Error(`no native binding for ${triple}: ${attempts.join('; ')}`, cause ? { cause } : undefined)
}

function requireJs () {
  return require('./js-backend')
}

function warnOnce (message, code) {
  if (code === FALLBACK_CODE) {
    if (globalThis[WARNED]) return
    globalThis[WARNED] = true
  }
  process.emitWarning(message, { type: WARNING_TYPE, code })
}

function load () {
  const raw = process.env.SEGMENT_CONTEXT_BACKEND
  let mode = raw == null ? 'auto' : String(raw).trim().toLowerCase()
  if (mode === '') mode = 'auto'
  if (!['auto', 'js', 'native'].includes(mode)) {
    warnOnce(`segment-context: SEGMENT_CONTEXT_BACKEND=${JSON.stringify(String(raw).slice(0, 40))} is not one of auto, native, js; using auto.`, BAD_VALUE_CODE)
    mode = 'auto'
  }

  if (mode === 'js') {
    return { binding: requireJs(), backend: 'js', loadError: null, source: 'js' }
  }

  let loadError
  try {
    const { binding, source } = loadNative()
    return { binding, backend: 'native', loadError: null, source }
  } catch (err) {
    loadError = err
  }

  if (mode === 'native') {
    throw new Error(`segment-context: SEGMENT_CONTEXT_BACKEND=native, but ${loadError.message}`, { cause: loadError })
  }
  loadError.message = `segment-context: ${loadError.message}`

  const binding = requireJs()
  warnOnce(
    `${loadError.message}. Using the pure-JavaScript backend instead, which is slower. ` +
      'Set SEGMENT_CONTEXT_BACKEND=js to choose it without this warning (see docs/platforms.md).',
    FALLBACK_CODE
  )
  return { binding, backend: 'js', loadError, source: 'js' }
}

/**
 * The backend in use.
 * - `binding`: the native addon's exports, or the JS backend's (the same names).
 * - `backend`: 'native' or 'js'.
 * - `loadError`: the Error that made it fall back to JS, or null.
 * - `source`: the .node path or package name the binding came from, or 'js'.
 * @type {{ binding: object, backend: 'native' | 'js', loadError: Error | null, source: string }}
 */
module.exports = load()
