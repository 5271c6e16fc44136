'use strict'

// createContextManager: the new_async_context flag, its environment
// override (only when the agent allows it), silence about the agent's own
// settings, and TypeErrors for wrong types.

const { describe, it, beforeEach, afterEach } = require('node:test')
const assert = require('node:assert/strict')
const { SegmentStore } = require('../helpers/segment-store')
const { deferred, immediate } = require('../helpers/harness')
const {
  createContextManager,
  AsyncLocalContextManager,
  LegacyContextManager,
  ENV_FLAG
} = require('../../index')

const made = []

/** createContextManager, disabling what it made when the test ends. */
function create (config) {
  const manager = createContextManager(config)
  made.push(manager)
  return manager
}

const savedEnv = process.env[ENV_FLAG]
const warnings = []
const onWarning = (warning) => warnings.push(warning)

beforeEach(() => {
  delete process.env[ENV_FLAG]
  warnings.length = 0
  process.on('warning', onWarning)
})

afterEach(() => {
  if (savedEnv === undefined) delete process.env[ENV_FLAG]
  else process.env[ENV_FLAG] = savedEnv
  process.removeListener('warning', onWarning)
  for (const manager of made.splice(0)) manager.disable()
})

/** The warnings emitted so far (they are emitted on the next tick). */
async function warned () {
  await immediate()
  return warnings.map((warning) => ({ code: warning.code, message: warning.message }))
}

function assertTypeError (fn, message) {
  assert.throws(fn, (error) => error instanceof TypeError && error.message.includes(message), message)
}

describe('createContextManager: the flag', () => {
  it('new_async_context true or absent selects AsyncLocalContextManager, false LegacyContextManager', async () => {
    assert.ok(create({ feature_flag: { new_async_context: true } }) instanceof AsyncLocalContextManager)
    assert.ok(create({ feature_flag: { new_async_context: false } }) instanceof LegacyContextManager)
    for (const config of [undefined, null, {}, { feature_flag: {} }, { feature_flag: null }, { other: 'agent settings' }]) {
      assert.ok(create(config) instanceof AsyncLocalContextManager, JSON.stringify(config))
    }
    assert.ok(create() instanceof AsyncLocalContextManager)
    assert.deepEqual(await warned(), [])
  })

  it('the manager made works: its own context, propagated', async () => {
    for (const flag of [true, false]) {
      const m = create({ feature_flag: { new_async_context: flag } })
      const seen = deferred()
      m.runInContext('c', () => setImmediate(() => seen.resolve(m.getContext())))
      assert.equal(await seen.promise, 'c', `flag ${flag}`)
    }
  })

  it('with allowEnvOverride, the environment variable overrides the config both ways, read at call time', async () => {
    const env = { allowEnvOverride: true }
    process.env[ENV_FLAG] = 'false'
    assert.ok(create({ ...env, feature_flag: { new_async_context: true } }) instanceof LegacyContextManager)
    assert.ok(create(env) instanceof LegacyContextManager)
    process.env[ENV_FLAG] = 'true'
    assert.ok(create({ ...env, feature_flag: { new_async_context: false } }) instanceof AsyncLocalContextManager)
    process.env[ENV_FLAG] = ' FALSE '
    assert.ok(create(env) instanceof LegacyContextManager, 'any case, surrounding blanks ignored')
    process.env[ENV_FLAG] = ''
    assert.ok(create({ ...env, feature_flag: { new_async_context: false } }) instanceof LegacyContextManager, 'empty means unset')
    delete process.env[ENV_FLAG]
    assert.ok(create({ ...env, feature_flag: { new_async_context: false } }) instanceof LegacyContextManager)
    assert.deepEqual(await warned(), [])
  })

  it('without allowEnvOverride (the default), the agent owns the flag: the environment is not read', async () => {
    for (const value of ['false', 'true', 'yes']) {
      process.env[ENV_FLAG] = value
      assert.ok(create({ feature_flag: { new_async_context: true } }) instanceof AsyncLocalContextManager, value)
      assert.ok(create({ feature_flag: { new_async_context: false } }) instanceof LegacyContextManager, value)
      assert.ok(create({ allowEnvOverride: false, feature_flag: { new_async_context: true } }) instanceof AsyncLocalContextManager, value)
    }
    assert.deepEqual(await warned(), [], 'not even a bad value is looked at')
    assertTypeError(() => createContextManager({ allowEnvOverride: 'yes' }), 'config.allowEnvOverride must be a boolean')
  })

  it('with allowEnvOverride, any other environment value is warned about once per value and ignored', async () => {
    const env = { allowEnvOverride: true }
    process.env[ENV_FLAG] = 'yes'
    assert.ok(create({ ...env, feature_flag: { new_async_context: false } }) instanceof LegacyContextManager)
    assert.ok(create(env) instanceof AsyncLocalContextManager)
    process.env[ENV_FLAG] = '1'
    create(env)
    create(env)
    assert.deepEqual(await warned(), [
      { code: 'SEGMENT_CONTEXT_INVALID_ENV', message: `${ENV_FLAG} must be "true" or "false"; ignoring "yes"` },
      { code: 'SEGMENT_CONTEXT_INVALID_ENV', message: `${ENV_FLAG} must be "true" or "false"; ignoring "1"` }
    ])
  })

  it('the agent\'s own feature flags and settings are left alone without a word, and the known flag still applies', async () => {
    // An agent's config (New Relic's has five flags of its own) is handed over as it is.
    assert.ok(create({ feature_flag: { new_async_contxt: false } }) instanceof AsyncLocalContextManager)
    assert.ok(create({ feature_flag: { another_flag: 1, new_async_context: false }, app_name: ['x'], logging: {} }) instanceof LegacyContextManager)
    assert.deepEqual(await warned(), [])
  })

  it('an unknown key in config.legacy (an options object of ours) is a TypeError naming it', async () => {
    assertTypeError(() => createContextManager({ legacy: { asyncHook: false } }), 'config.legacy: unknown option "asyncHook"')
    assert.deepEqual(await warned(), [])
  })

  it('wrong types are TypeErrors naming the option', async () => {
    for (const config of ['x', 1, true, Symbol('config'), []]) {
      assertTypeError(() => createContextManager(config), 'config must be an object')
    }
    for (const flags of ['x', 1, true, []]) {
      assertTypeError(() => createContextManager({ feature_flag: flags }), 'config.feature_flag must be an object')
    }
    for (const flag of ['true', 'false', 1, 0, null, {}]) {
      assertTypeError(() => createContextManager({ feature_flag: { new_async_context: flag } }),
        'config.feature_flag.new_async_context must be a boolean')
    }
    for (const store of [{}, { isActive: 'yes' }, 'store', 7, true]) {
      assertTypeError(() => createContextManager({ store }), 'config.store must be a SegmentStore')
    }
    for (const legacy of ['x', 1, true, [true]]) {
      assertTypeError(() => createContextManager({ legacy }), 'config.legacy must be an object')
    }
    assertTypeError(() => createContextManager({ legacy: { asyncHooks: 'no' } }), 'config.legacy.asyncHooks must be a boolean')
    assertTypeError(() => createContextManager({ legacy: { promiseParentFallback: 0 } }),
      'config.legacy.promiseParentFallback must be a boolean')
    // Checked whichever manager is selected, and before the environment is read.
    process.env[ENV_FLAG] = 'true'
    assertTypeError(() => createContextManager({ legacy: { asyncHooks: null } }), 'config.legacy.asyncHooks must be a boolean')
    assert.deepEqual(await warned(), [])
  })

  it('config.store reaches the manager, whichever is selected', () => {
    const store = new SegmentStore()
    for (const flag of [true, false]) {
      const m = create({ store, feature_flag: { new_async_context: flag } })
      const handle = store.startTransaction('flag')
      assert.equal(m.runInContext(handle, () => m.getContext()), handle)
      store.endTransaction(handle)
      assert.equal(m.runInContext(handle, () => m.getContext()), null, `flag ${flag}`)
    }
  })

  it('config.legacy reaches the legacy manager', async () => {
    const manual = create({ feature_flag: { new_async_context: false }, legacy: { asyncHooks: false } })
    const noFallback = create({ feature_flag: { new_async_context: false }, legacy: { promiseParentFallback: false } })
    const full = create({ feature_flag: { new_async_context: false }, legacy: {} })
    const seen = []
    const done = deferred()
    let pending = 3
    for (const m of [manual, noFallback, full]) {
      const p = m.runInContext('c', () => Promise.resolve())
      setImmediate(() => p.then(() => {
        seen.push(m.getContext())
        if (--pending === 0) done.resolve()
      }))
    }
    await done.promise
    assert.deepEqual(seen, [null, null, 'c'])
    assert.equal(manual.hookTableSize, 0)
  })
})
