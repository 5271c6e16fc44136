'use strict'

// API details of both managers: values, argument handling, errors,
// enable/disable, independence. Propagation rows live in semantics.test.js.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { EventEmitter } = require('node:events')
const { SegmentStore } = require('../helpers/segment-store')
const { KINDS, createManager, deferred, sleep, immediate } = require('../helpers/harness')
const { AsyncLocalContextManager, isFrameBased } = require('../../lib/context/als-manager')
const { LegacyContextManager } = require('../../lib/context/legacy-manager')
const { attachedManagers } = require('../../lib/context/legacy-hook')

/** Throws a TypeError whose message contains every one of `words`. */
function assertTypeError (fn, ...words) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof TypeError, `${error} is a TypeError`)
    for (const word of words) assert.match(error.message, new RegExp(word.replace(/[.]/g, '\\.')))
    return true
  })
}

for (const kind of KINDS) {
  describe(`${kind.name}: API`, () => {
    it('contexts come back identical: strings, numbers, objects', (t) => {
      const m = createManager(kind, t)
      const object = { transaction: 1 }
      for (const ctx of ['segment', 7, 2 ** 31 + 0.5, -0, object, [object]]) {
        assert.equal(m.runInContext(ctx, () => m.getContext()), ctx)
        assert.equal(m.bindFunction(() => m.getContext(), ctx)(), ctx)
        assert.equal(m.contextOf(m.associate({}, ctx)), ctx)
      }
      assert.equal(m.runInContext(undefined, () => m.getContext()), null)
    })

    it('runInContext: thisArg and args (array, arguments object, none) reach fn; its value comes back', (t) => {
      const m = createManager(kind, t)
      const self = { name: 'self' }
      const fn = function (...args) { return { self: this, args } }
      assert.deepEqual(m.runInContext('c', fn, self, ['a', 'b']), { self, args: ['a', 'b'] })
      assert.deepEqual((function () { return m.runInContext('c', fn, self, arguments) })(1, 2, 3), { self, args: [1, 2, 3] })
      assert.deepEqual(m.runInContext('c', fn), { self: undefined, args: [] })
      assert.deepEqual(m.runInContext('c', fn, self, []), { self, args: [] })
      const returned = {}
      assert.equal(m.runInContext('c', () => returned), returned)
      assert.deepEqual(m.runWithoutContext(fn, self, ['x']), { self, args: ['x'] })
      assert.deepEqual((function () { return m.runWithoutContext(fn, self, arguments) })('y'), { self, args: ['y'] })
    })

    it('runInContext restores the previous context when fn throws, and rethrows the very same (frozen) error', (t) => {
      const m = createManager(kind, t)
      const error = Object.freeze(new RangeError('frozen'))
      m.runInContext('outer', () => {
        assert.throws(() => m.runInContext('inner', () => { throw error }), (thrown) => thrown === error)
        assert.equal(m.getContext(), 'outer')
        assert.throws(() => m.runWithoutContext(() => { throw error }), (thrown) => thrown === error)
        assert.equal(m.getContext(), 'outer')
      })
      assert.equal(m.getContext(), null)
    })

    it('runWithoutContext runs with null and restores the caller\'s context', (t) => {
      const m = createManager(kind, t)
      m.runInContext('outer', () => {
        assert.equal(m.runWithoutContext(() => m.getContext()), null)
        assert.equal(m.getContext(), 'outer')
      })
    })

    it('bindFunction keeps name and length, for every arity and for anonymous functions', (t) => {
      const m = createManager(kind, t)
      const described = Symbol('described')
      const cases = [
        function zero () {},
        function one (a) {},
        function two (a, b) {},
        function three (a, b, c) {},
        function four (a, b, c, d) {},
        function five (a, b, c, d, e) {},
        function six (a, b, c, d, e, f) {},
        function seven (a, b, c, d, e, f, g) {},
        function defaults (a, b = 1, c) {},
        function rest (a, ...more) {},
        async function asyncFn (a, b) {},
        function * generator (a) {},
        (a, b) => {},
        [function (a) {}][0],
        { 'a name with spaces'  (x) {} }['a name with spaces'],
        { [described] (x) {} }[described],
        class Widget { constructor (a, b) { this.a = a } },
        function () {}.bind(null, 1)
      ]
      const custom = function original (a) {}
      Object.defineProperty(custom, 'name', { value: 42 })
      Object.defineProperty(custom, 'length', { value: 'many' })
      cases.push(custom)
      for (const fn of cases) {
        const bound = m.bindFunction(fn, 'c')
        assert.equal(bound.name, fn.name, `name of ${String(fn.name)}`)
        assert.equal(bound.length, fn.length, `length of ${String(fn.name)}`)
      }
      // eslint-disable-next-line no-extra-bind -- a bound function's name is what is tested
      assert.equal(m.bindFunction(function () {}.bind(null), 'c').name, 'bound ')
      assert.equal(m.bindFunction({ [described] () {} }[described], 'c').name, '[described]')
    })

    it('bindFunction: this, arguments, return value and thrown errors pass through', (t) => {
      const m = createManager(kind, t)
      const error = Object.freeze(new Error('frozen'))
      const self = {}
      const bound = m.bindFunction(function (a, b) {
        if (a === 'throw') throw error
        return { self: this, args: [...arguments], ctx: m.getContext() }
      }, 'bound')
      assert.deepEqual(bound.call(self, 1, 2, 3), { self, args: [1, 2, 3], ctx: 'bound' })
      assert.deepEqual(bound.apply(self, []), { self, args: [], ctx: 'bound' })
      const method = { bound }
      assert.equal(method.bound().self, method)
      m.runInContext('caller', () => {
        assert.throws(() => bound('throw'), (thrown) => thrown === error)
        assert.equal(m.getContext(), 'caller')
      })
    })

    it('bindFunction with ctx omitted or undefined captures the context current at bind time; null binds to none', (t) => {
      const m = createManager(kind, t)
      const read = () => m.getContext()
      const omitted = m.runInContext('bind time', () => m.bindFunction(read))
      const undef = m.runInContext('bind time', () => m.bindFunction(read, undefined))
      const none = m.runInContext('bind time', () => m.bindFunction(read, null))
      const outside = m.bindFunction(read)
      m.runInContext('call time', () => {
        assert.equal(omitted(), 'bind time')
        assert.equal(undef(), 'bind time')
        assert.equal(none(), null)
        assert.equal(outside(), null)
      })
    })

    it('bindFunction returns a non-function unchanged', (t) => {
      const m = createManager(kind, t)
      const object = {}
      for (const value of [undefined, null, 0, 1, '', 'text', true, object, [], Symbol.iterator, 10n]) {
        assert.equal(m.bindFunction(value), value)
        assert.equal(m.bindFunction(value, 'c'), value)
      }
    })

    it('bad input is a TypeError naming the argument', (t) => {
      const m = createManager(kind, t)
      for (const fn of [undefined, null, 1, 'fn', {}]) {
        assertTypeError(() => m.runInContext('c', fn), 'runInContext', 'fn must be a function')
        assertTypeError(() => m.runWithoutContext(fn), 'runWithoutContext', 'fn must be a function')
      }
      for (const args of [null, 'ab', 1, { length: 1, 0: 'a' }, new Set([1])]) {
        assertTypeError(() => m.runInContext('c', () => {}, null, args), 'runInContext', 'args')
        assertTypeError(() => m.runWithoutContext(() => {}, null, args), 'runWithoutContext', 'args')
      }
      for (const key of [undefined, null, 1, 'key', true, Symbol('s')]) {
        assertTypeError(() => m.associate(key, 'c'), 'associate', 'object')
        assertTypeError(() => m.contextOf(key), 'contextOf', 'object')
      }
      for (const emitter of [undefined, null, 1, 'ee', {}]) {
        assertTypeError(() => m.bindEmitter(emitter, 'c'), 'bindEmitter', 'emitter')
      }
      let ran = false
      assertTypeError(() => m.runInContext('c', () => { ran = true }, null, 'x'), 'args')
      assert.equal(ran, false, 'fn does not run when args are rejected')
      assert.equal(m.getContext(), null)
    })

    it('constructor options: bad store, bad options object', () => {
      for (const store of [{}, { isActive: true }, 'store', 1]) {
        assertTypeError(() => new kind.Manager({ store }), 'options.store', 'isActive')
      }
      for (const options of ['x', 1, true, []]) {
        assertTypeError(() => new kind.Manager(options), 'options')
      }
      for (const ok of [undefined, null, {}, { store: null }]) {
        new kind.Manager(ok).disable()
      }
    })

    it('associate/contextOf: per manager, null when none, removable, functions as keys, nothing written', (t) => {
      const m = createManager(kind, t)
      const other = createManager(kind, t)
      const object = {}
      const fn = function () {}
      assert.equal(m.contextOf(object), null)
      assert.equal(m.associate(object, 'c'), object)
      assert.equal(m.associate(fn, 'f'), fn)
      assert.equal(m.contextOf(object), 'c')
      assert.equal(m.contextOf(fn), 'f')
      assert.equal(other.contextOf(object), null)
      m.associate(object, null)
      assert.equal(m.contextOf(object), null)
      m.associate(fn, undefined)
      assert.equal(m.contextOf(fn), null)
      assert.deepEqual(Reflect.ownKeys(object), [])
    })

    it('getContext checks the store only for numbers', (t) => {
      let checks = 0
      const store = { isActive (handle) { checks++; return handle === 1 } }
      const m = createManager(kind, t, { store })
      assert.equal(m.runInContext(1, () => m.getContext()), 1)
      assert.equal(m.runInContext(2, () => m.getContext()), null)
      assert.equal(checks, 2)
      const object = {}
      assert.equal(m.runInContext('2', () => m.getContext()), '2')
      assert.equal(m.runInContext(object, () => m.getContext()), object)
      assert.equal(m.runInContext(null, () => m.getContext()), null)
      assert.equal(checks, 2)
    })

    it('two instances are independent', async (t) => {
      const a = createManager(kind, t)
      const b = createManager(kind, t)
      const seen = deferred()
      a.runInContext('a', () => b.runInContext('b', () => setImmediate(() => {
        a.setContext('a2')
        seen.resolve([a.getContext(), b.getContext()])
      })))
      assert.deepEqual(await seen.promise, ['a2', 'b'])
      assert.equal(a.getContext(), null)
      assert.equal(b.getContext(), null)
      b.disable()
      assert.equal(a.runInContext('a', () => a.getContext()), 'a')
    })

    it('the real SegmentStore can be given', (t) => {
      const store = new SegmentStore()
      const m = createManager(kind, t, { store })
      const handle = store.startTransaction('api')
      assert.equal(m.runInContext(handle, () => m.getContext()), handle)
      store.endTransaction(handle)
      assert.equal(m.runInContext(handle, () => m.getContext()), null)
    })

    it('binding an emitter twice never wraps twice; listeners added later use the new context', (t) => {
      const m = createManager(kind, t)
      const ee = new EventEmitter()
      m.bindEmitter(ee, 'first')
      const on = ee.on
      const seen = []
      ee.on('x', () => seen.push(['early', m.getContext()]))
      m.bindEmitter(ee, 'second')
      assert.equal(ee.on, on)
      ee.on('x', () => seen.push(['late', m.getContext()]))
      ee.emit('x')
      assert.deepEqual(seen, [['early', 'first'], ['late', 'second']])
    })

    it('bound emitters: the same listener twice, on two events, before and after binding', (t) => {
      const m = createManager(kind, t)
      const ee = new EventEmitter()
      const calls = []
      const listener = function (tag) { calls.push([tag, m.getContext()]) }
      ee.on('a', listener) // before binding: unbound
      m.bindEmitter(ee, 'bound')
      ee.on('a', listener)
      ee.on('a', listener)
      ee.once('b', listener)
      ee.on('b', listener)
      m.runInContext('emitter', () => ee.emit('a', 'a1'))
      assert.deepEqual(calls, [['a1', 'emitter'], ['a1', 'bound'], ['a1', 'bound']])
      ee.removeListener('a', listener)
      ee.removeListener('a', listener)
      assert.equal(ee.listenerCount('a'), 1)
      calls.length = 0
      m.runInContext('emitter', () => ee.emit('a', 'a2'))
      assert.deepEqual(calls, [['a2', 'emitter']], 'the unbound one, added first, is left')
      ee.off('a', listener)
      assert.equal(ee.listenerCount('a'), 0)
      assert.equal(ee.listenerCount('b'), 2)
      ee.off('b', listener) // the last added: the `on` one
      calls.length = 0
      ee.emit('b', 'b1')
      ee.emit('b', 'b2')
      assert.deepEqual(calls, [['b1', 'bound']], 'the once listener stayed and ran once')
    })

    it('bound emitters report the user\'s listener to listeners(), newListener and removeListener', (t) => {
      const m = createManager(kind, t)
      const ee = m.bindEmitter(new EventEmitter(), 'bound')
      const reported = []
      ee.on('newListener', (event, fn) => reported.push(['new', event, fn]))
      ee.on('removeListener', (event, fn) => reported.push(['removed', event, fn]))
      const listener = () => {}
      ee.on('x', listener)
      assert.deepEqual(ee.listeners('x'), [listener])
      ee.removeListener('x', listener)
      assert.deepEqual(reported.filter(([, event]) => event === 'x'), [['new', 'x', listener], ['removed', 'x', listener]])
    })

    it('bound emitters report the user\'s once listener too, and it runs once in the bound context', (t) => {
      const m = createManager(kind, t)
      const ee = m.bindEmitter(new EventEmitter(), 'bound')
      const seen = []
      const first = function (v) { seen.push(['first', v, m.getContext(), this === ee]) }
      const second = (v) => seen.push(['second', v, m.getContext()])
      ee.once('x', first)
      ee.prependOnceListener('x', second)
      assert.deepEqual(ee.listeners('x'), [second, first], 'listeners() reports the originals, in order')
      assert.equal(ee.listenerCount('x'), 2)
      m.runInContext('caller', () => ee.emit('x', 1))
      ee.emit('x', 2)
      assert.deepEqual(seen, [['second', 1, 'bound'], ['first', 1, 'bound', true]])
      assert.equal(ee.listenerCount('x'), 0, 'both removed themselves')
      ee.once('y', first)
      ee.removeListener('y', first)
      assert.equal(ee.listenerCount('y'), 0, 'a once listener is removed by the original')
    })

    it('bound emitters: streams, and two managers binding one emitter', async (t) => {
      const { PassThrough } = require('node:stream')
      const m = createManager(kind, t)
      const other = createManager(kind, t)
      const stream = new PassThrough()
      m.bindEmitter(stream, 'mine')
      other.bindEmitter(stream, 'theirs')
      const seen = deferred()
      const onData = (chunk) => seen.resolve([String(chunk), m.getContext(), other.getContext()])
      stream.on('data', onData)
      m.runInContext('writer', () => stream.write('chunk'))
      assert.deepEqual(await seen.promise, ['chunk', 'mine', 'theirs'])
      stream.removeListener('data', onData)
      assert.equal(stream.listenerCount('data'), 0)
    })

    it('frozen emitters are returned unbound', (t) => {
      const m = createManager(kind, t)
      const ee = Object.freeze(new EventEmitter())
      assert.equal(m.bindEmitter(ee, 'c'), ee)
    })
  })
}

describe('AsyncLocalContextManager: enable/disable', () => {
  it('disable() is AsyncLocalStorage#disable(): null until the next runInContext', (t) => {
    const m = createManager(KINDS[0], t)
    m.runInContext('c', () => {
      m.disable()
      assert.equal(m.getContext(), null)
      assert.equal(m.runInContext('again', () => m.getContext()), 'again')
    })
    assert.equal(m.enable(), m)
    assert.equal(m.runInContext('after enable', () => m.getContext()), 'after enable')
  })

  it('isFrameBased() tells AsyncContextFrame (Node 24) from async_hooks storage (Node 20), by behaviour', () => {
    const { AsyncLocalStorage, AsyncResource } = require('node:async_hooks')
    const probe = new AsyncLocalStorage()
    const marker = {}
    const resource = new AsyncResource('Check').runInAsyncScope(() => probe.run(marker, () => new AsyncResource('Inner')))
    probe.disable()
    const storesOnResources = Object.getOwnPropertySymbols(resource).some((key) => resource[key] === marker)
    assert.equal(isFrameBased(), !storesOnResources)
    assert.equal(isFrameBased(), isFrameBased())
  })
})

describe('LegacyContextManager: enable/disable and hooks', () => {
  it('is enabled at construction: callbacks carry their context', async (t) => {
    const m = createManager(KINDS[1], t)
    const seen = deferred()
    m.runInContext('c', () => setImmediate(() => seen.resolve(m.getContext())))
    assert.equal(await seen.promise, 'c')
  })

  it('disable() switches the hook off and empties the table; the slot still works; enable() switches it back', async (t) => {
    const m = createManager(KINDS[1], t)
    const pending = m.runInContext('c', () => setTimeout(() => {}, 1000))
    assert.equal(m.hookTableSize, 1)
    assert.equal(m.disable(), m)
    assert.equal(m.hookTableSize, 0)
    clearTimeout(pending)
    const off = deferred()
    m.runInContext('c', () => setImmediate(() => off.resolve(m.getContext())))
    assert.equal(await off.promise, null, 'no propagation while disabled')
    assert.equal(m.runInContext('sync', () => m.getContext()), 'sync')
    m.runWithoutContext(() => {
      m.setContext('manual')
      assert.equal(m.getContext(), 'manual')
    })
    assert.equal(m.enable(), m)
    assert.equal(m.enable(), m, 'enabling twice is harmless')
    const on = deferred()
    m.runInContext('c', () => setImmediate(() => on.resolve(m.getContext())))
    assert.equal(await on.promise, 'c')
  })

  it('disable() inside a callback leaves that callback its context until it returns, and nothing behind', async (t) => {
    const m = createManager(KINDS[1], t)
    const later = deferred()
    const done = deferred()
    const seen = []
    m.runInContext('T', () => setTimeout(() => {
      seen.push(m.getContext())
      m.disable()
      seen.push(m.getContext())
      setImmediate(() => later.resolve(m.getContext()))
      Promise.resolve().then(() => seen.push(m.getContext()))
      done.resolve()
    }, 1))
    await done.promise
    assert.deepEqual(seen.slice(0, 2), ['T', 'T'], 'the callback keeps its context after disable()')
    assert.equal(await later.promise, null, 'work scheduled after the disable() does not see T')
    assert.equal(seen[2], null, 'nor does a promise continuation')
    assert.equal(m.getContext(), null)
    assert.ok(!m._enabled && attachedManagers() === 0, 'the shared hook let go of it once the callback returned')
    m.enable()
    const inner = m.runInContext('outer', () => {
      m.runInContext('inner', () => m.disable())
      return m.getContext()
    })
    assert.equal(inner, 'outer', 'runs give back their previous context as always')
    assert.equal(m.getContext(), null)
  })

  it('all legacy managers of a process share one hook: attached while enabled, released by disable()', async (t) => {
    const before = attachedManagers()
    const many = []
    for (let i = 0; i < 50; i++) many.push(createManager(KINDS[1], t))
    assert.equal(attachedManagers(), before + 50)
    const seen = deferred()
    let pending = many.length
    const got = new Array(many.length)
    many.forEach((m, i) => m.runInContext(`c${i}`, () => setImmediate(() => {
      got[i] = many.map((other) => other.getContext())
      if (--pending === 0) seen.resolve()
    })))
    await seen.promise
    got.forEach((contexts, i) => contexts.forEach((ctx, j) => assert.equal(ctx, i === j ? `c${i}` : null, `manager ${j} in callback ${i}`)))
    for (const m of many) m.disable()
    assert.equal(attachedManagers(), before + 50, 'disabled inside this callback: still attached until it returns')
    await immediate()
    assert.equal(attachedManagers(), before, 'and released once it has')
    const plain = createManager(KINDS[1], t, { legacy: { asyncHooks: false } })
    assert.equal(attachedManagers(), before, 'a manager with asyncHooks: false never attaches')
    plain.disable()
  })

  it('asyncHooks: false is a plain manual slot', async (t) => {
    const m = createManager(KINDS[1], t, { legacy: { asyncHooks: false } })
    assert.equal(m.runInContext('sync', () => m.getContext()), 'sync')
    assert.equal(m.bindFunction(() => m.getContext(), 'bound')(), 'bound')
    const seen = deferred()
    m.runInContext('c', () => setImmediate(() => seen.resolve(m.getContext())))
    assert.equal(await seen.promise, null)
    assert.equal(m.hookTableSize, 0)
    m.enable()
    const stillOff = deferred()
    m.runInContext('c', () => setImmediate(() => stillOff.resolve(m.getContext())))
    assert.equal(await stillOff.promise, null, 'enable() has nothing to switch on')
    m.setContext('global slot')
    await sleep(1)
    assert.equal(m.getContext(), 'global slot')
    m.setContext(null)
  })

  it('setContext inside a callback lasts until the callback ends', async (t) => {
    const m = createManager(KINDS[1], t)
    const seen = deferred()
    setImmediate(() => {
      m.setContext('inside')
      setImmediate(() => seen.resolve(m.getContext()))
    })
    await immediate()
    assert.equal(m.getContext(), null)
    assert.equal(await seen.promise, 'inside')
  })

  it('bad legacy options are TypeErrors naming the option', () => {
    assertTypeError(() => new LegacyContextManager({ legacy: 'x' }), 'options.legacy must be an object')
    assertTypeError(() => new LegacyContextManager({ legacy: { asyncHooks: 1 } }), 'options.legacy.asyncHooks must be a boolean')
    assertTypeError(() => new LegacyContextManager({ legacy: { promiseParentFallback: 'yes' } }), 'options.legacy.promiseParentFallback must be a boolean')
    assert.doesNotThrow(() => new AsyncLocalContextManager({ legacy: 'ignored' }))
  })
})
