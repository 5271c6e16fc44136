'use strict'

// Every row of docs/semantics.md, for both managers; each test's name starts
// with the name of the row it checks (api-1 … api-9, stale-1 … stale-5, A … P,
// K2, M2, top-await). Rows where the managers differ by design assert each
// manager's own value.

// First: the contextless interval must exist before any context does.
const { contextless } = require('../helpers/contextless')

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { EventEmitter } = require('node:events')
const { AsyncResource, createHook } = require('node:async_hooks')
const http = require('node:http')
const net = require('node:net')
const { SegmentStore } = require('../helpers/segment-store')
const { KINDS, createManager, deferred, sleep, immediate, transactions, get } = require('../helpers/harness')
const { ROOT_CONTEXT, createContextKey } = require('@opentelemetry/api')
const { OtelContextManager } = require('../../lib/api/otel-bridge')

for (const kind of KINDS) {
  /** The value the row table asks of this manager. */
  const expected = (als, legacy) => (kind.key === 'als' ? als : legacy)

  /** A manager with a real store and two live transactions, all cleaned up after the test. */
  function setup (t, options = {}) {
    const store = new SegmentStore()
    const start = transactions(store, t)
    const m = createManager(kind, t, { store, ...options })
    return { store, start, m, T: start('T'), T2: start('T2') }
  }

  describe(`${kind.name}: docs/semantics.md §1, the manager API (api-1 … api-9)`, () => {
    it('api-1: a fresh manager has no context', (t) => {
      const m = createManager(kind, t)
      assert.equal(m.getContext(), null)
    })

    it('api-2: setContext then getContext returns the very same value', (t) => {
      const m = createManager(kind, t)
      const values = ['a string', '', 42, 0, -1.5, NaN, true, Symbol('ctx'), { segment: 1 }, [1, 2], () => {}]
      m.runWithoutContext(() => {
        for (const value of values) {
          m.setContext(value)
          assert.equal(m.getContext(), value)
        }
        m.setContext(undefined)
        assert.equal(m.getContext(), null)
        m.setContext(null)
        assert.equal(m.getContext(), null)
      })
    })

    it('api-3: runInContext runs fn synchronously with thisArg and args (array or arguments)', (t) => {
      const m = createManager(kind, t)
      const self = { self: true }
      const calls = []
      function fn (a, b) {
        calls.push({ self: this, args: [...arguments], ctx: m.getContext() })
        return a + b
      }
      assert.equal(m.runInContext('T', fn, self, [1, 2]), 3)
      assert.equal(calls.length, 1, 'ran before runInContext returned')
      const viaArguments = function () { return m.runInContext('T2', fn, self, arguments) }
      assert.equal(viaArguments(3, 4), 7)
      assert.deepEqual(calls, [
        { self, args: [1, 2], ctx: 'T' },
        { self, args: [3, 4], ctx: 'T2' }
      ])
    })

    it('api-4: the previous context is back after fn returns, and after it throws', (t) => {
      const m = createManager(kind, t)
      const error = Object.freeze(new Error('frozen'))
      m.runInContext('outer', () => {
        assert.equal(m.runInContext('inner', () => m.getContext()), 'inner')
        assert.equal(m.getContext(), 'outer')
        assert.throws(() => m.runInContext('inner', () => { throw error }), (thrown) => thrown === error)
        assert.equal(m.getContext(), 'outer')
        assert.throws(() => m.runInContext('inner', () => { throw 'a string' }), (thrown) => thrown === 'a string') // eslint-disable-line no-throw-literal
        assert.equal(m.getContext(), 'outer')
      })
      assert.equal(m.getContext(), null)
    })

    it('api-5: bindFunction runs fn in ctx whatever context calls it, with this, args, return, throw, name, length', (t) => {
      const m = createManager(kind, t)
      const error = Object.freeze(new TypeError('bound throw'))
      function handler (a, b, c) {
        if (a === 'throw') throw error
        return { self: this, args: [...arguments], ctx: m.getContext() }
      }
      const bound = m.bindFunction(handler, 'T')
      assert.notEqual(bound, handler)
      assert.equal(bound.name, 'handler')
      assert.equal(bound.length, 3)
      const self = {}
      for (const caller of [null, 'T2', 'T']) {
        assert.deepEqual(m.runInContext(caller, () => bound.call(self, 1, 2)), { self, args: [1, 2], ctx: 'T' })
        assert.equal(m.runInContext(caller, () => m.getContext()), caller)
      }
      assert.throws(() => m.runInContext('T2', () => bound('throw')), (thrown) => thrown === error)

      const captured = m.runInContext('bind-time', () => m.bindFunction(() => m.getContext()))
      assert.equal(m.runInContext('call-time', captured), 'bind-time')
      const none = m.runInContext('T', () => m.bindFunction(() => m.getContext(), null))
      assert.equal(m.runInContext('T', none), null)

      for (const value of [undefined, null, 0, 'fn', {}, [], Symbol('s')]) {
        assert.equal(m.bindFunction(value, 'T'), value)
      }
    })

    it('api-6: bindEmitter: every way of adding runs in ctx whatever context emits', (t) => {
      const m = createManager(kind, t)
      const ee = new EventEmitter()
      assert.equal(m.bindEmitter(ee, 'T'), ee)
      const seen = []
      const add = ['on', 'addListener', 'once', 'prependListener', 'prependOnceListener']
      for (const method of add) {
        m.runInContext('adder', () => ee[method]('x', function (arg) { seen.push([method, m.getContext(), arg, this]) }))
      }
      m.runInContext('T2', () => ee.emit('x', 1))
      m.runInContext(null, () => ee.emit('x', 2))
      const byMethod = (round) => seen.filter(([, , arg]) => arg === round).map(([method, ctx, , self]) => [method, ctx, self === ee])
      assert.deepEqual(byMethod(1).sort(), add.map((method) => [method, 'T', true]).sort())
      assert.deepEqual(byMethod(2).sort(), [['addListener', 'T', true], ['on', 'T', true], ['prependListener', 'T', true]])
    })

    it('api-6: bindEmitter defaults to the context current at bind time', (t) => {
      const m = createManager(kind, t)
      const ee = m.runInContext('bind-time', () => m.bindEmitter(new EventEmitter()))
      let seen
      ee.on('x', () => { seen = m.getContext() })
      m.runInContext('emit-time', () => ee.emit('x'))
      assert.equal(seen, 'bind-time')
    })

    it('api-6: removeListener/off with the original listener removes it, also for once', (t) => {
      const m = createManager(kind, t)
      const ee = m.bindEmitter(new EventEmitter(), 'T')
      let calls = 0
      const listener = () => { calls++ }
      for (const [add, remove] of [['on', 'removeListener'], ['on', 'off'], ['once', 'removeListener'],
        ['once', 'off'], ['prependListener', 'off'], ['prependOnceListener', 'removeListener'], ['addListener', 'off']]) {
        ee[add]('x', listener)
        assert.equal(ee.listenerCount('x'), 1, add)
        assert.equal(ee[remove]('x', listener), ee)
        assert.equal(ee.listenerCount('x'), 0, `${add} then ${remove}`)
      }
      ee.emit('x')
      assert.equal(calls, 0)
    })

    it('api-6: removeAllListeners with and without an event name', (t) => {
      const m = createManager(kind, t)
      const ee = m.bindEmitter(new EventEmitter(), 'T')
      let calls = 0
      const listener = () => { calls++ }
      ee.on('a', listener)
      ee.once('a', listener)
      ee.on('b', listener)
      ee.removeAllListeners('a')
      assert.equal(ee.listenerCount('a'), 0)
      assert.equal(ee.listenerCount('b'), 1)
      ee.emit('a')
      ee.emit('b')
      assert.equal(calls, 1)
      ee.on('a', listener)
      ee.removeAllListeners()
      assert.deepEqual(ee.eventNames(), [])
      ee.emit('a')
      ee.emit('b')
      assert.equal(calls, 1)
    })

    it('api-6: nothing visible is added to a bound emitter', (t) => {
      const m = createManager(kind, t)
      const ee = new EventEmitter()
      const twin = new EventEmitter()
      const keys = Object.keys(ee)
      const json = JSON.stringify(ee)
      m.bindEmitter(ee, 'T')
      assert.deepEqual(Object.keys(ee), keys)
      assert.deepEqual(Object.getOwnPropertySymbols(ee), Object.getOwnPropertySymbols(twin))
      assert.equal(JSON.stringify(ee), json)
      const listener = () => {}
      for (const emitter of [ee, twin]) emitter.on('x', listener).once('y', listener)
      assert.deepEqual(Object.keys(ee), Object.keys(twin))
      assert.equal(JSON.stringify(ee), JSON.stringify(twin))
    })

    it('api-7: runWithoutContext: the call and the timers, promises, servers and sockets made inside carry null', async (t) => {
      const { m, T } = setup(t)
      const seen = {}
      const done = deferred()
      let pending = 6
      const record = (name) => {
        seen[name] = m.getContext()
        if (--pending === 0) done.resolve()
      }
      let netServer
      let httpServer
      const result = m.runInContext(T, () => m.runWithoutContext(function (a) {
        seen.sync = m.getContext()
        setTimeout(() => record('setTimeout'), 1)
        setImmediate(() => record('setImmediate'))
        process.nextTick(() => record('nextTick'))
        Promise.resolve().then(() => record('then'))
        netServer = net.createServer((socket) => {
          socket.on('data', () => {
            record('socket data')
            socket.end()
          })
        }).listen(0, '127.0.0.1', () => {
          const client = net.connect(netServer.address().port, '127.0.0.1', () => client.end('ping'))
        })
        httpServer = http.createServer((req, res) => {
          record('http request')
          res.end('ok')
        }).listen(0, '127.0.0.1', () => get(httpServer.address().port))
        return [this, a]
      }, 'self', ['arg']))
      assert.deepEqual(result, ['self', 'arg'])
      await done.promise
      netServer.close()
      httpServer.close()
      assert.deepEqual(seen, {
        sync: null,
        setTimeout: null,
        setImmediate: null,
        nextTick: null,
        then: null,
        'socket data': null,
        'http request': null
      })
    })

    it('api-8: two instances never see each other\'s contexts', async (t) => {
      const m1 = createManager(kind, t)
      const m2 = createManager(kind, t)
      const done = deferred()
      m1.runInContext('one', () => {
        assert.equal(m2.getContext(), null)
        m2.runInContext('two', () => {
          assert.equal(m1.getContext(), 'one')
          setTimeout(() => done.resolve([m1.getContext(), m2.getContext()]), 1)
        })
        assert.equal(m2.getContext(), null)
      })
      m2.runWithoutContext(() => m2.setContext('set in two'))
      assert.equal(m1.getContext(), null)
      assert.deepEqual(await done.promise, ['one', 'two'])
      const object = {}
      m1.associate(object, 'one')
      assert.equal(m2.contextOf(object), null)
    })

    it('api-9: bindFunction, associate, bindEmitter and propagation write no property on user objects', async (t) => {
      const { m, T } = setup(t)
      const fn = function userFunction () {}
      const object = {}
      const ee = new EventEmitter()
      const twin = new EventEmitter()
      const names = (value) => Object.getOwnPropertyNames(value)
      const fnNames = names(fn)
      m.bindFunction(fn, T)()
      m.associate(object, T)
      m.bindEmitter(ee, T)
      assert.deepEqual(names(fn), fnNames)
      assert.deepEqual(Object.getOwnPropertySymbols(fn), [])
      assert.deepEqual(names(object), [])
      assert.deepEqual(Object.getOwnPropertySymbols(object), [])
      assert.deepEqual(Object.getOwnPropertySymbols(ee), Object.getOwnPropertySymbols(twin))
      const promise = m.runInContext(T, () => Promise.resolve().then(() => {}))
      await promise
      assert.deepEqual(names(promise), [])
    })
  })

  describe(`${kind.name}: docs/semantics.md §2, stale contexts (stale-1 … stale-5)`, () => {
    it('stale-1: getContext: an ended transaction\'s handles (root and segment) read as null', (t) => {
      const { m, store, T } = setup(t)
      const segment = store.startSegment(T, 'child')
      assert.equal(typeof segment, 'number')
      m.runInContext(T, () => {
        assert.equal(m.getContext(), T)
        m.runInContext(segment, () => assert.equal(m.getContext(), segment))
        store.endTransaction(T)
        assert.equal(m.getContext(), null)
        m.runInContext(segment, () => assert.equal(m.getContext(), null))
      })
      m.runWithoutContext(() => {
        m.setContext(T)
        assert.equal(m.getContext(), null)
      })
      const object = m.associate({}, T)
      assert.equal(m.contextOf(object), null)
    })

    it('stale-2: bound functions see null once the transaction ended', (t) => {
      const { m, store, T } = setup(t)
      const explicit = m.bindFunction(() => m.getContext(), T)
      const captured = m.runInContext(T, () => m.bindFunction(() => m.getContext()))
      assert.equal(explicit(), T)
      assert.equal(captured(), T)
      store.endTransaction(T)
      assert.equal(explicit(), null)
      assert.equal(captured(), null)
    })

    it('stale-3: propagated callbacks see null once the transaction ended, though they were made in it', async (t) => {
      const { m, store, T, T2 } = setup(t)
      const seen = {}
      const done = deferred()
      let pending = 6
      const record = (name) => {
        seen[name] = m.getContext()
        if (--pending === 0) done.resolve()
      }
      const gate = deferred()
      const ee = new EventEmitter()
      m.runInContext(T, () => {
        setTimeout(() => record('setTimeout'), 5)
        const interval = setInterval(() => {
          clearInterval(interval)
          record('setInterval')
        }, 5)
        gate.promise.then(() => record('then'))
        setImmediate(() => gate.promise.then(() => record('immediate, then')))
        new AsyncResource('stale').runInAsyncScope(() => {}) // made and used in T: nothing left behind
        m.bindEmitter(ee)
        ee.on('x', () => record('bound listener'))
        ;(async () => {
          await gate.promise
          record('await')
        })()
      })
      store.endTransaction(T)
      m.runInContext(T2, () => gate.resolve())
      ee.emit('x')
      await done.promise
      assert.deepEqual(seen, {
        setTimeout: null,
        setInterval: null,
        then: null,
        'immediate, then': null,
        'bound listener': null,
        await: null
      })
    })

    it('stale-4: a transaction started from a stale callback is a new one', async (t) => {
      const { m, store, start, T } = setup(t)
      const done = deferred()
      m.runInContext(T, () => setTimeout(() => {
        const current = m.getContext()
        const segment = store.startSegment(current, 'from stale')
        const fresh = start('fresh')
        done.resolve({ current, segment, fresh, inFresh: m.runInContext(fresh, () => m.getContext()) })
      }, 5))
      store.endTransaction(T)
      for (let i = 0; i < 100; i++) start(`filler ${i}`) // handle slots get reused
      const { current, segment, fresh, inFresh } = await done.promise
      assert.equal(current, null)
      assert.equal(segment, null, 'no segment can hang off the ended transaction')
      assert.notEqual(fresh, T)
      assert.equal(store.isActive(fresh), true)
      assert.equal(store.isActive(T), false)
      assert.equal(inFresh, fresh)
    })

    if (kind.key === 'legacy') {
      it('stale-5 (legacy): an ended handle is not propagated into the hook table', async (t) => {
        const { m, store, T } = setup(t)
        const added = deferred()
        const timersFrom = (ctxName) => {
          const before = m.hookTableSize
          const timers = []
          for (let i = 0; i < 100; i++) timers.push(setTimeout(() => {}, 1000))
          const grew = m.hookTableSize - before
          for (const timer of timers) clearTimeout(timer)
          return [ctxName, grew]
        }
        m.runInContext(T, () => setImmediate(() => {
          const live = timersFrom('live')
          store.endTransaction(T)
          added.resolve([live, timersFrom('ended')])
        }))
        assert.deepEqual(await added.promise, [['live', 100], ['ended', 0]])
        await immediate()
        assert.equal(m.hookTableSize, 0)
      })
    }
  })

  describe(`${kind.name}: docs/semantics.md §3, async propagation (A … P, K2, M2, top-await)`, () => {
    it(`A: Promise.resolve() made in T, .then attached from a contextless timer → ${expected('null', 'T')}`, async (t) => {
      const { m, T } = setup(t)
      let p
      m.runInContext(T, () => { p = Promise.resolve() })
      const seen = deferred()
      contextless(() => p.then(() => seen.resolve(m.getContext())))
      assert.equal(await seen.promise, expected(null, T))
    })

    it(`B: unresolved promise made in T, .then attached then resolved from a contextless timer → ${expected('null', 'T')}`, async (t) => {
      const { m, T } = setup(t)
      let p
      let resolveP
      m.runInContext(T, () => {
        p = new Promise((resolve) => { resolveP = resolve })
      })
      const seen = deferred()
      contextless(() => {
        p.then(() => seen.resolve(m.getContext()))
        resolveP()
      })
      assert.equal(await seen.promise, expected(null, T))
    })

    it(`C: runInContext(T, () => promise resolved later), .then attached outside any context → ${expected('null', 'T')}`, async (t) => {
      const { m, T } = setup(t)
      const p = m.runInContext(T, () => sleep(2))
      assert.equal(m.getContext(), null)
      const seen = deferred()
      p.then(() => seen.resolve(m.getContext()))
      assert.equal(await seen.promise, expected(null, T))
    })

    if (kind.key === 'legacy') {
      it('fallback-order (legacy): the parent fallback of rows A-C holds whichever order Node runs the promise hooks in', async (t) => {
        const { m, T } = setup(t)
        // Enabling any async hook re-registers Node's own promise hook after
        // the manager's: the other order from the one after construction.
        const other = createHook({ init () {} }).enable()
        t.after(() => other.disable())
        let a
        m.runInContext(T, () => { a = Promise.resolve() })
        const seenA = deferred()
        contextless(() => a.then(() => seenA.resolve(m.getContext())))
        const seenC = deferred()
        m.runInContext(T, () => sleep(2)).then(() => seenC.resolve(m.getContext()))
        assert.deepEqual([await seenA.promise, await seenC.promise], [T, T])
      })

      it('fallback-off (legacy): rows A-C with promiseParentFallback off, a promise takes only the context current at .then()', async (t) => {
        const { m, T } = setup(t, { legacy: { promiseParentFallback: false } })
        let a
        m.runInContext(T, () => { a = Promise.resolve() })
        const seen = deferred()
        contextless(() => a.then(() => seen.resolve(m.getContext())))
        assert.equal(await seen.promise, null)
      })
    }

    it(`top-await: after await runInContext(T1, async () => { await null }) at the top of a chain the caller is in ${expected('null', 'T1')}; the OpenTelemetry bridge ends at ROOT_CONTEXT`, async (t) => {
      const { m, store, T: T1 } = setup(t)
      const cm = new OtelContextManager({ manager: createManager(kind, t) })
      t.after(() => cm.disable())
      assert.equal(m.getContext(), null, 'the top of a chain: no context')
      await m.runInContext(T1, async () => { await null })
      const after = m.getContext()
      assert.equal(after, expected(null, T1))
      // An agent that joins the current transaction, or starts one when there
      // is none: on the legacy manager the "second transaction" joins T1.
      const second = after === null ? store.startTransaction('second') : store.startSegment(after, 'second')
      t.after(() => { if (store.isActive(second)) store.endTransaction(second) })
      assert.equal(store.transactionOf(second), expected(second, T1))

      // The bridge stops the fallback at the promise with() returns.
      const c1 = ROOT_CONTEXT.setValue(createContextKey('top-await'), 'T1')
      assert.equal(cm.active(), ROOT_CONTEXT)
      await cm.with(c1, async () => { await null })
      assert.equal(cm.active(), ROOT_CONTEXT)
    })

    it('D: promise made outside, .then attached inside T → T', async (t) => {
      const { m, T } = setup(t)
      const p = Promise.resolve()
      const seen = deferred()
      m.runInContext(T, () => p.then(() => seen.resolve(m.getContext())))
      assert.equal(await seen.promise, T)
    })

    it('E: resolved promise made in T, .then attached in T2 → T2', async (t) => {
      const { m, T, T2 } = setup(t)
      const p = m.runInContext(T, () => Promise.resolve())
      const seen = deferred()
      m.runInContext(T2, () => p.then(() => seen.resolve(m.getContext())))
      assert.equal(await seen.promise, T2)
    })

    it('F: .then attached in T, resolve() called from T2 → T', async (t) => {
      const { m, T, T2 } = setup(t)
      let resolveP
      const p = new Promise((resolve) => { resolveP = resolve })
      const seen = deferred()
      m.runInContext(T, () => p.then(() => seen.resolve(m.getContext())))
      m.runInContext(T2, () => setImmediate(() => resolveP()))
      assert.equal(await seen.promise, T)
    })

    it('G: async function in T awaits a promise settled by a contextless timer → T', async (t) => {
      const { m, T } = setup(t)
      const outside = deferred()
      const seen = deferred()
      m.runInContext(T, async () => {
        const before = m.getContext()
        await new Promise((resolve) => contextless(resolve))
        const afterInside = m.getContext()
        await outside.promise
        seen.resolve([before, afterInside, m.getContext()])
      })
      contextless(() => outside.resolve())
      assert.deepEqual(await seen.promise, [T, T, T])
    })

    it('H: setTimeout, setImmediate, process.nextTick and setInterval scheduled in T → T', async (t) => {
      const { m, T } = setup(t)
      const seen = {}
      const done = deferred()
      let pending = 4
      const record = (name) => {
        seen[name] = m.getContext()
        if (--pending === 0) done.resolve()
      }
      m.runInContext(T, () => {
        setTimeout(() => record('setTimeout'), 1)
        setImmediate(() => record('setImmediate'))
        process.nextTick(() => record('nextTick'))
        const interval = setInterval(() => {
          clearInterval(interval)
          record('setInterval')
        }, 1)
      })
      await done.promise
      assert.deepEqual(seen, { setTimeout: T, setImmediate: T, nextTick: T, setInterval: T })
    })

    it('I: the callback of a contextless interval → null', async (t) => {
      const { m, T } = setup(t)
      const seen = deferred()
      m.runInContext(T, () => contextless(() => seen.resolve(m.getContext())))
      assert.equal(await seen.promise, null)
    })

    it('J: setContext(T2) inside one .then; the next .then of the chain, attached in T → T', async (t) => {
      const { m, T, T2 } = setup(t)
      const seen = deferred()
      m.runInContext(T, () => Promise.resolve()
        .then(() => {
          m.setContext(T2)
          return m.getContext()
        })
        .then((first) => seen.resolve([first, m.getContext()])))
      assert.deepEqual(await seen.promise, [T2, T])
    })

    it('K, K2: setContext(T) at the top of a callback reaches a timer scheduled after it, never a sibling queued before', async (t) => {
      const { m, T } = setup(t)
      const k = deferred()
      const sibling = deferred()
      const lateSibling = deferred()
      setImmediate(() => {
        m.setContext(T)
        setTimeout(() => k.resolve(m.getContext()), 1)
      })
      setImmediate(() => sibling.resolve(m.getContext()))
      setTimeout(() => lateSibling.resolve(m.getContext()), 3)
      assert.equal(await k.promise, T, 'K')
      assert.equal(await sibling.promise, null, 'K2: immediate queued before K')
      assert.equal(await lateSibling.promise, null, 'K2: timer queued before K')
      assert.equal(m.getContext(), null)
    })

    it('L: listener added in T, emit() with no context, emitter not bound → null', (t) => {
      const { m, T } = setup(t)
      const ee = new EventEmitter()
      let seen = 'not called'
      m.runInContext(T, () => ee.on('x', () => { seen = m.getContext() }))
      ee.emit('x')
      assert.equal(seen, null)
    })

    /** An http server made by `make(listen)`; resolves with the context its request handler saw. */
    async function requestContext (m, make) {
      const seen = deferred()
      const listening = deferred()
      let server
      make(() => {
        server = http.createServer((req, res) => {
          seen.resolve(m.getContext())
          res.end('ok')
        })
        server.listen(0, '127.0.0.1', () => listening.resolve())
      })
      await listening.promise
      return {
        server,
        async request () {
          assert.equal(await get(server.address().port), 'ok')
          server.close()
          return seen.promise
        }
      }
    }

    it('M: http server listening since T; a request after T ended → null', async (t) => {
      const { m, store, T } = setup(t)
      const { request } = await requestContext(m, (listen) => m.runInContext(T, listen))
      store.endTransaction(T)
      assert.equal(await request(), null)
    })

    it('M-control: without a store the same request runs in T, the go-forward propagation M guards against', async (t) => {
      const m = createManager(kind, t)
      const { request } = await requestContext(m, (listen) => m.runInContext('T', listen))
      assert.equal(await request(), 'T')
    })

    it('M2: http server created in runWithoutContext while T is active → null', async (t) => {
      const { m, store, T } = setup(t)
      const { request } = await requestContext(m, (listen) => m.runInContext(T, () => m.runWithoutContext(listen)))
      assert.equal(store.isActive(T), true)
      assert.equal(await request(), null)
    })

    it('O: AsyncResource made in T, runInAsyncScope called with no context → T', async (t) => {
      const { m, T } = setup(t)
      const resource = m.runInContext(T, () => new AsyncResource('RowO'))
      const seen = deferred()
      contextless(() => resource.runInAsyncScope(() => seen.resolve([m.getContext(), 'in scope'])))
      assert.deepEqual(await seen.promise, [T, 'in scope'])
      resource.emitDestroy()
    })

    it('O-inverse: AsyncResource made with no context, runInAsyncScope called inside T → null', (t) => {
      const { m, T } = setup(t)
      const resource = new AsyncResource('RowO')
      const seen = m.runInContext(T, () => resource.runInAsyncScope(() => m.getContext()))
      assert.equal(seen, null)
      resource.emitDestroy()
    })

    it('P: two overlapping transactions each see only their own context', async (t) => {
      const { m, T, T2 } = setup(t)
      const seen = new Map([[T, []], [T2, []]])
      const done = deferred()
      let pending = 2 * (1 + 10 + 10 + 1)
      const record = (ctx) => {
        seen.get(ctx).push(m.getContext())
        if (--pending === 0) done.resolve()
      }
      function immediateChain (ctx, n) {
        setImmediate(() => {
          if (n === 0) record(ctx)
          else immediateChain(ctx, n - 1)
        })
      }
      async function awaits (ctx) {
        for (let i = 0; i < 10; i++) {
          await sleep(1)
          record(ctx)
        }
      }
      for (const ctx of [T, T2]) {
        m.runInContext(ctx, () => {
          immediateChain(ctx, 20)
          for (let i = 0; i < 10; i++) setTimeout(() => record(ctx), 2)
          awaits(ctx)
          Promise.resolve().then(() => sleep(1)).then(() => record(ctx))
        })
      }
      await done.promise
      assert.deepEqual(seen.get(T), new Array(22).fill(T))
      assert.deepEqual(seen.get(T2), new Array(22).fill(T2))
    })
  })
}
