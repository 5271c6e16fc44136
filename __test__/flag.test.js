'use strict'

// createContextManager: the new_async_context flag, its environment
// override, warnings for unknown names, and TypeErrors for wrong types.

const { describe, it, beforeEach, afterEach } = require('node:test')
const assert = require('node:assert/strict')
const { SegmentStore } = require('./helpers/segment-store')
const { deferred, immediate } = require('./helpers/harness')
const {
  createContextManager,
  AsyncLocalContextManager,
  LegacyContextManager,
  ENV_FLAG
} = require('../lib/create-context-manager')

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

  it('the environment variable overrides the config both ways, read at call time', async () => {
    process.env[ENV_FLAG] = 'false'
    assert.ok(create({ feature_flag: { new_async_context: true } }) instanceof LegacyContextManager)
    assert.ok(create() instanceof LegacyContextManager)
    process.env[ENV_FLAG] = 'true'
    assert.ok(create({ feature_flag: { new_async_context: false } }) instanceof AsyncLocalContextManager)
    process.env[ENV_FLAG] = ' FALSE '
    assert.ok(create() instanceof LegacyContextManager, 'any case, surrounding blanks ignored')
    process.env[ENV_FLAG] = ''
    assert.ok(create({ feature_flag: { new_async_context: false } }) instanceof LegacyContextManager, 'empty means unset')
    delete process.env[ENV_FLAG]
    assert.ok(create({ feature_flag: { new_async_context: false } }) instanceof LegacyContextManager)
    assert.deepEqual(await warned(), [])
  })

  it('any other environment value is warned about once per value and ignored', async () => {
    process.env[ENV_FLAG] = 'yes'
    assert.ok(create({ feature_flag: { new_async_context: false } }) instanceof LegacyContextManager)
    assert.ok(create() instanceof AsyncLocalContextManager)
    process.env[ENV_FLAG] = '1'
    create()
    create()
    assert.deepEqual(await warned(), [
      { code: 'SEGMENT_CONTEXT_INVALID_ENV', message: `${ENV_FLAG} must be "true" or "false"; ignoring "yes"` },
      { code: 'SEGMENT_CONTEXT_INVALID_ENV', message: `${ENV_FLAG} must be "true" or "false"; ignoring "1"` }
    ])
  })

  it('an unknown feature flag warns once per name per process, and the known flag still applies', async () => {
    assert.ok(create({ feature_flag: { new_async_contxt: false } }) instanceof AsyncLocalContextManager)
    create({ feature_flag: { new_async_contxt: true } })
    assert.ok(create({ feature_flag: { another_flag: 1, new_async_context: false } }) instanceof LegacyContextManager)
    create({ feature_flag: { another_flag: 2 } })
    const list = await warned()
    assert.deepEqual(list, [
      { code: 'SEGMENT_CONTEXT_UNKNOWN_FLAG', message: 'Unknown feature flag config.feature_flag.new_async_contxt is ignored' },
      { code: 'SEGMENT_CONTEXT_UNKNOWN_FLAG', message: 'Unknown feature flag config.feature_flag.another_flag is ignored' }
    ])
    assert.equal(warnings[0].name, 'SegmentContextWarning')
  })

  it('an unknown legacy option warns once per name', async () => {
    create({ legacy: { asyncHook: false } })
    create({ legacy: { asyncHook: false } })
    assert.deepEqual(await warned(), [
      { code: 'SEGMENT_CONTEXT_UNKNOWN_OPTION', message: 'Unknown option config.legacy.asyncHook is ignored' }
    ])
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
