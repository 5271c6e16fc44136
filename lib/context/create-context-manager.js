'use strict'

// createContextManager: the manager the agent's configuration asks for, by
// the feature flag `new_async_context`. The agent's configuration is read,
// never checked for keys this package does not know (see lib/validate.js).

const { AsyncLocalContextManager } = require('./als-manager')
const { LegacyContextManager, checkLegacyOptions } = require('./legacy-manager')
const v = require('../validate')

const ENV_FLAG = 'SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT'

// Bad environment values already warned about in this process.
const warned = new Set()

const SHOWN = 64

/**
 * A user-supplied value as shown in a warning: whole when short, else its
 * first 64 characters and its length (an environment variable can be
 * megabytes long; the warning must not be).
 */
function shown (text) {
  if (text.length <= SHOWN) return JSON.stringify(text)
  return `${JSON.stringify(text.slice(0, SHOWN))}… (${text.length} characters)`
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
  if (!warned.has(raw)) {
    warned.add(raw)
    process.emitWarning(`${ENV_FLAG} must be "true" or "false"; ignoring ${shown(raw)}`,
      { type: 'SegmentContextWarning', code: 'SEGMENT_CONTEXT_INVALID_ENV' })
  }
  return undefined
}

/**
 * Every known key is checked before the environment is read, so a bad
 * configuration throws whatever the environment says; `config.legacy` is
 * checked even when the ALS manager is made.
 */
function createContextManager (config) {
  const c = v.checkConfig(config, 'config')
  let useAls = true
  const flags = v.checkConfig(c.feature_flag, 'config.feature_flag')
  useAls = v.checkBoolean(flags.new_async_context, 'config.feature_flag.new_async_context', true)
  const allowEnv = v.checkBoolean(c.allowEnvOverride, 'config.allowEnvOverride', false)
  const store = v.checkStore(c.store, 'config.store')
  const isActive = c.isActive === undefined || c.isActive === null ? undefined : v.checkFunction(c.isActive, 'config.isActive')
  const legacy = c.legacy
  checkLegacyOptions(legacy, 'config.legacy')

  if (allowEnv) {
    const fromEnv = flagFromEnv()
    if (fromEnv !== undefined) useAls = fromEnv
  }

  return useAls
    ? new AsyncLocalContextManager({ store, isActive })
    : new LegacyContextManager({ store, isActive, legacy })
}

module.exports = { createContextManager, ENV_FLAG }
