'use strict'

const { AsyncLocalContextManager, isFrameBased } = require('./als-manager')
const { LegacyContextManager, checkLegacyOptions } = require('./legacy-manager')
const { checkStore } = require('./bind-emitter')

const ENV_FLAG = 'SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT'
const KNOWN_FLAGS = new Set(['new_async_context'])
const KNOWN_LEGACY = new Set(['asyncHooks', 'promiseParentFallback'])

// Names (and bad environment values) already warned about in this process.
const warned = new Set()

const SHOWN = 64

/**
 * A user-supplied name or value as shown in a warning: whole when short,
 * else its first 64 characters and its length (an environment variable or a
 * config key can be megabytes long; the warning must not be).
 */
function shown (text, quote) {
  if (text.length <= SHOWN) return quote ? JSON.stringify(text) : text
  const head = text.slice(0, SHOWN)
  return `${quote ? JSON.stringify(head) : head}… (${text.length} characters)`
}

function warnOnce (key, message, code) {
  if (warned.has(key)) return
  warned.add(key)
  process.emitWarning(message, { type: 'SegmentContextWarning', code })
}

/**
 * The feature flag from the environment: true, false, or undefined when the
 * variable is unset or empty. Other values are warned about (once per value)
 * and ignored, so a typo never stops an application from starting.
 */
function flagFromEnv () {
  const raw = process.env[ENV_FLAG]
  if (raw === undefined) return undefined
  const value = raw.trim().toLowerCase()
  if (value === '') return undefined
  if (value === 'true') return true
  if (value === 'false') return false
  warnOnce(`env:${raw}`,
    `${ENV_FLAG} must be "true" or "false"; ignoring ${shown(raw, true)}`,
    'SEGMENT_CONTEXT_INVALID_ENV')
  return undefined
}

function isObject (value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * Make the context manager the configuration asks for.
 *
 * `config.feature_flag.new_async_context`: `false` selects
 * LegacyContextManager; `true` or absent selects AsyncLocalContextManager.
 * The environment variable SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT
 * (`true`/`false`, any case; read at each call) overrides the config.
 *
 * @param {object} [config]
 * @param {object} [config.feature_flag]
 * @param {boolean} [config.feature_flag.new_async_context]
 * @param {object} [config.store] a SegmentStore whose ended handles read as null
 * @param {object} [config.legacy] LegacyContextManager options
 * @returns {AsyncLocalContextManager|LegacyContextManager}
 * @throws {TypeError} for a value of the wrong type, naming the option
 */
function createContextManager (config) {
  if (config === undefined || config === null) config = {}
  else if (!isObject(config)) throw new TypeError('config must be an object')

  const flags = config.feature_flag
  let useAls = true
  if (flags !== undefined && flags !== null) {
    if (!isObject(flags)) throw new TypeError('config.feature_flag must be an object')
    for (const name of Object.keys(flags)) {
      if (!KNOWN_FLAGS.has(name)) {
        warnOnce(`flag:${name}`, `Unknown feature flag config.feature_flag.${shown(name, false)} is ignored`,
          'SEGMENT_CONTEXT_UNKNOWN_FLAG')
      }
    }
    const flag = flags.new_async_context
    if (flag !== undefined) {
      if (typeof flag !== 'boolean') throw new TypeError('config.feature_flag.new_async_context must be a boolean')
      useAls = flag
    }
  }

  const store = checkStore(config.store, 'config.store')
  const legacy = config.legacy
  checkLegacyOptions(legacy, 'config.legacy')
  if (isObject(legacy)) {
    for (const name of Object.keys(legacy)) {
      if (!KNOWN_LEGACY.has(name)) {
        warnOnce(`legacy:${name}`, `Unknown option config.legacy.${shown(name, false)} is ignored`,
          'SEGMENT_CONTEXT_UNKNOWN_OPTION')
      }
    }
  }

  const fromEnv = flagFromEnv()
  if (fromEnv !== undefined) useAls = fromEnv

  return useAls
    ? new AsyncLocalContextManager({ store })
    : new LegacyContextManager({ store, legacy })
}

// Everything lib/managers.d.ts declares.
module.exports = {
  createContextManager,
  AsyncLocalContextManager,
  LegacyContextManager,
  ENV_FLAG,
  isFrameBased
}
