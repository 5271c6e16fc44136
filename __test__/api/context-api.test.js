'use strict'

// createContextApi: the customer API. Its shape and argument checks, and the
// four customer patterns of docs/customer-api.md, for both managers, with
// the real segment store.

// First: a user-land queue drained from its own contextless interval, made
// at module load before any context exists, the way pools drain their queues.
const { contextless } = require('../helpers/contextless')

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { EventEmitter } = require('node:events')
const { PassThrough } = require('node:stream')
const http = require('node:http')
const { SegmentStore } = require('../helpers/segment-store')
const { KINDS, createManager, deferred, sleep, transactions, get } = require('../helpers/harness')
const { createContextApi } = require('../../lib/api/context-api')

const CORE = ['getContext', 'runInContext', 'bindFunction', 'bindEmitter', 'runWithoutContext']

/** Throws a TypeError whose message contains every one of `words`. */
function assertTypeError (fn, ...words) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof TypeError, `${error} is a TypeError`)
    for (const word of words) assert.ok(error.message.includes(word), `"${error.message}" mentions "${word}"`)
    return true
  })
}

/** A user-land pool: jobs run later, from the contextless interval. */
class Pool {
  enqueue (job, callback) {
    contextless(() => callback(null, job.toUpperCase()))
  }
}

for (const kind of KINDS) {
  /** A manager with a real store, its API, and a way to start transactions ended with the test. */
  function setup (t) {
    const store = new SegmentStore()
    const manager = createManager(kind, t, { store })
    return { store, manager, start: transactions(store, t), api: createContextApi(manager, store) }
  }

  /** The same without a store: an API without getTraceMetadata. */
  function setupWithoutStore (t) {
    const manager = createManager(kind, t)
    return { manager, api: createContextApi(manager) }
  }

  describe(`createContextApi on ${kind.name}: shape`, () => {
    it('a frozen object with exactly the five methods, plus getTraceMetadata when a store is given', (t) => {
      const { api } = setupWithoutStore(t)
      assert.ok(Object.isFrozen(api))
      assert.deepEqual(Object.keys(api).sort(), [...CORE].sort())
      const { api: withStore } = setup(t)
      assert.ok(Object.isFrozen(withStore))
      assert.deepEqual(Object.keys(withStore).sort(), [...CORE, 'getTraceMetadata'].sort())
      for (const method of [...CORE, 'getTraceMetadata']) assert.equal(typeof withStore[method], 'function', method)
    })

    it('no imperative set, and no way to reach the manager', (t) => {
      const { api, manager } = setup(t)
      for (const name of ['setContext', 'associate', 'contextOf', 'enable', 'disable', 'manager', '_manager']) {
        assert.equal(name in api, false, name)
      }
      assert.throws(() => { api.setContext = () => {} }, TypeError)
      assert.equal(Object.values(api).includes(manager), false)
    })

    it('methods work detached from the object (no `this` needed)', (t) => {
      const { api, start } = setup(t)
      const { getContext, runInContext, bindFunction, runWithoutContext } = api
      const T = start('T')
      assert.equal(runInContext(T, () => getContext()), T)
      assert.equal(runInContext(T, () => bindFunction(() => getContext()))(), T)
      assert.equal(runInContext(T, () => runWithoutContext(() => getContext())), null)
    })

    it('getContext() is the agent\'s current context, null outside and once the transaction ended', (t) => {
      const { api, manager, store, start } = setup(t)
      const T = start('T')
      assert.equal(api.getContext(), null)
      manager.runInContext(T, () => {
        assert.equal(api.getContext(), T)
        store.endTransaction(T)
        assert.equal(api.getContext(), null)
      })
    })

    it('runInContext: runs now with thisArg and args (array or arguments), returns, restores, also on throw', (t) => {
      const { api, start } = setup(t)
      const T = start('T')
      const T2 = start('T2')
      const self = {}
      function fn (a, b) { return { self: this, args: [...arguments], ctx: api.getContext() } }
      assert.deepEqual(api.runInContext(T, fn, self, [1, 2]), { self, args: [1, 2], ctx: T })
      assert.deepEqual((function () { return api.runInContext(T, fn, self, arguments) })('x'), { self, args: ['x'], ctx: T })
      assert.deepEqual(api.runInContext(null, fn), { self: undefined, args: [], ctx: null })
      const error = new Error('thrown')
      api.runInContext(T2, () => {
        assert.throws(() => api.runInContext(T, () => { throw error }), (thrown) => thrown === error)
        assert.equal(api.getContext(), T2)
      })
      assert.equal(api.getContext(), null)
    })

    it('bindFunction: the context current at bind time, or the one given; the function itself is untouched', (t) => {
      const { api, start } = setup(t)
      const T = start('T')
      const T2 = start('T2')
      function original (a, b) { return [this, a, b, api.getContext()] }
      const captured = api.runInContext(T, () => api.bindFunction(original))
      const given = api.bindFunction(original, T2)
      const none = api.runInContext(T, () => api.bindFunction(original, null))
      const self = {}
      assert.deepEqual(captured.call(self, 1, 2), [self, 1, 2, T])
      assert.deepEqual(api.runInContext(T, () => given(3, 4)), [undefined, 3, 4, T2])
      assert.deepEqual(none(), [undefined, undefined, undefined, null])
      assert.equal(captured.name, 'original')
      assert.equal(captured.length, 2)
      assert.deepEqual(Reflect.ownKeys(original).sort(), ['length', 'name', 'prototype'].sort())
    })

    it('runWithoutContext: null inside, with thisArg and args; the caller\'s context afterwards', (t) => {
      const { api, start } = setup(t)
      const T = start('T')
      const self = {}
      api.runInContext(T, () => {
        assert.deepEqual(api.runWithoutContext(function (a) { return [this, a, api.getContext()] }, self, ['a']), [self, 'a', null])
        assert.equal(api.getContext(), T)
      })
    })
  })

  describe(`createContextApi on ${kind.name}: argument checks`, () => {
    it('createContextApi: the manager must be a context manager; the store must have traceIdOf and spanIdOf', (t) => {
      const manager = createManager(kind, t)
      assertTypeError(() => createContextApi(), 'createContextApi: manager must be a context manager', 'got undefined')
      assertTypeError(() => createContextApi(null), 'got null')
      assertTypeError(() => createContextApi('manager'), 'got a string')
      assertTypeError(() => createContextApi({ getContext () {} }), 'it has no runInContext method')
      assertTypeError(() => createContextApi(manager, 42), 'store must be a SegmentStore with traceIdOf(handle) and spanIdOf(handle)')
      assertTypeError(() => createContextApi(manager, { isActive () { return false } }), 'traceIdOf', 'cannot report the ids')
      assertTypeError(() => createContextApi(manager, { traceIdOf () { return null } }), 'spanIdOf')
      assert.equal(typeof createContextApi(manager, null).getContext, 'function')
      assert.equal('getTraceMetadata' in createContextApi(manager, undefined), false)
    })

    it('the real SegmentStore has the store API getTraceMetadata needs', (t) => {
      const store = new SegmentStore()
      assert.equal(typeof store.traceIdOf, 'function', 'SegmentStore#traceIdOf(handle) is missing')
      assert.equal(typeof store.spanIdOf, 'function', 'SegmentStore#spanIdOf(handle) is missing')
      const manager = createManager(kind, t, { store })
      assert.equal(typeof createContextApi(manager, store).getTraceMetadata, 'function')
    })

    it('runInContext and runWithoutContext: fn must be a function, args an array or arguments; ctx not undefined', (t) => {
      const { api, start } = setup(t)
      const T = start('T')
      let ran = false
      const fn = () => { ran = true }
      assertTypeError(() => api.runInContext(undefined, fn), 'runInContext: ctx is undefined', 'null')
      assertTypeError(() => api.runInContext(T), 'runInContext: fn must be a function, got undefined')
      assertTypeError(() => api.runInContext(T, 'fn'), 'runInContext: fn must be a function, got a string')
      assertTypeError(() => api.runInContext(T, fn, null, 'a'), 'runInContext: args must be an array or an arguments object, got a string')
      assertTypeError(() => api.runInContext(T, fn, null, { length: 0 }), 'runInContext: args', 'got an object')
      assertTypeError(() => api.runWithoutContext(42), 'runWithoutContext: fn must be a function, got number 42')
      assertTypeError(() => api.runWithoutContext(fn, null, 1), 'runWithoutContext: args', 'got number 1')
      assert.equal(ran, false, 'a rejected call runs nothing')
      assert.equal(api.getContext(), null)
    })

    it('bindFunction: fn must be a function', (t) => {
      const { api } = setup(t)
      assertTypeError(() => api.bindFunction(), 'bindFunction: fn must be a function, got undefined')
      assertTypeError(() => api.bindFunction({ call () {} }), 'bindFunction: fn must be a function, got an object')
      assertTypeError(() => api.bindFunction(null, 1), 'got null')
    })

    it('bindEmitter: an emitter that can be bound; frozen ones and non-configurable methods are refused', (t) => {
      const { api, start } = setup(t)
      const T = start('T')
      assertTypeError(() => api.bindEmitter(), 'bindEmitter: emitter must be an EventEmitter', 'got undefined')
      assertTypeError(() => api.bindEmitter({}), 'bindEmitter: emitter must be an EventEmitter', 'got an object')
      assertTypeError(() => api.bindEmitter('emitter', T), 'got a string')
      assertTypeError(() => api.bindEmitter(Object.freeze(new EventEmitter()), T), 'frozen')
      const locked = new EventEmitter()
      Object.defineProperty(locked, 'on', { value: locked.on, configurable: false })
      assertTypeError(() => api.bindEmitter(locked, T), 'emitter.on is a non-configurable property')
      const ee = new EventEmitter()
      assert.equal(api.bindEmitter(ee, T), ee)
    })
  })

  describe(`createContextApi on ${kind.name}: the customer patterns`, () => {
    it('runWithoutContext: an interval started during a request never runs in it', async (t) => {
      const { api, manager, start } = setup(t)
      const T = start('GET /admin/start-metrics')
      const ticks = []
      const inherited = []
      const enough = deferred()
      let background
      let careless
      manager.runInContext(T, () => {
        // the pattern
        background = api.runWithoutContext(() => setInterval(() => {
          ticks.push(api.getContext())
          if (ticks.length === 3) enough.resolve()
        }, 1))
        // what it prevents: go-forward propagation into every tick
        careless = setInterval(() => inherited.push(api.getContext()), 1)
      })
      t.after(() => { clearInterval(background); clearInterval(careless) })
      await enough.promise
      assert.deepEqual(ticks, [null, null, null])
      assert.ok(inherited.length > 0 && inherited.every((ctx) => ctx === T), 'without it, every tick is the request')
    })

    it('runWithoutContext: a server created during a request serves later requests outside it', async (t) => {
      const { api, manager, start } = setup(t)
      const T = start('GET /first')
      const seen = []
      const server = manager.runInContext(T, () => api.runWithoutContext(() =>
        http.createServer((req, res) => {
          seen.push(api.getContext())
          res.end('ok')
        }).listen(0, '127.0.0.1')))
      t.after(() => server.close())
      if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
      // T is still active: without runWithoutContext these requests would be T's.
      assert.equal(await get(server.address().port), 'ok')
      assert.equal(await get(server.address().port), 'ok')
      assert.deepEqual(seen, [null, null])
    })

    it('bindFunction: a callback queued in a pool runs in the request that queued it', async (t) => {
      const { api, manager, start } = setup(t)
      const pool = new Pool()
      const requests = [start('request 1'), start('request 2')]
      const results = await Promise.all(requests.map((T) => manager.runInContext(T, () => new Promise((resolve) => {
        const seen = {}
        pool.enqueue('select 1', (error, rows) => { seen.unbound = [error, rows, api.getContext()] })
        pool.enqueue('select 2', api.bindFunction((error, rows) => {
          seen.bound = [error, rows, api.getContext()]
          resolve(seen)
        }))
      }))))
      results.forEach((seen, i) => {
        assert.deepEqual(seen.unbound, [null, 'SELECT 1', null], 'the pool\'s own context: none')
        assert.deepEqual(seen.bound, [null, 'SELECT 2', requests[i]])
      })
    })

    it('bindEmitter: listeners of a stream fed from elsewhere see the request', async (t) => {
      const { api, manager, start } = setup(t)
      const T = start('POST /upload')
      const body = new PassThrough() // made outside the request, fed from the pool's interval
      const done = deferred()
      manager.runInContext(T, () => {
        const parts = []
        const parser = api.bindEmitter(body)
        const onData = (chunk) => parts.push([String(chunk), api.getContext()])
        parser.on('data', onData)
        parser.once('end', () => {
          parser.off('data', onData) // the original listener removes it
          done.resolve({ parts, end: api.getContext(), left: parser.listenerCount('data') })
        })
      })
      contextless(() => { body.write('part 1'); body.end('part 2') })
      assert.deepEqual(await done.promise, { parts: [['part 1', T], ['part 2', T]], end: T, left: 0 })
    })

    it('bindEmitter: what it prevents: a listener added in the request runs in the context of whoever emits', async (t) => {
      const { api, manager, start } = setup(t)
      const T = start('GET /events')
      const bus = new EventEmitter() // shared, emitted from the pool's interval
      const bound = new EventEmitter()
      const seen = deferred()
      const results = {}
      manager.runInContext(T, () => {
        bus.on('tick', () => { results.unbound = api.getContext() })
        api.bindEmitter(bound).on('tick', () => { results.bound = api.getContext() })
      })
      contextless(() => {
        bus.emit('tick')
        bound.emit('tick')
        seen.resolve()
      })
      await seen.promise
      assert.deepEqual(results, { unbound: null, bound: T })
    })

    it('getTraceMetadata: log lines carry the ids of the finished trace; {} outside and after the end', (t) => {
      const { api, manager, store, start } = setup(t)
      const lines = []
      const log = (message) => lines.push({ message, ...api.getTraceMetadata() })
      const T = start('GET /users/:id')
      const db = store.startSegment(T, 'Datastore/select')
      log('before')
      manager.runInContext(T, () => {
        log('in the request')
        manager.runInContext(db, () => log('in the query'))
      })
      const trace = store.endTransaction(T)
      manager.runInContext(T, () => log('after the end'))
      const rootId = trace.segments.find((s) => s.parentId === null).id
      const dbId = trace.segments.find((s) => s.name === 'Datastore/select').id
      assert.deepEqual(lines, [
        { message: 'before' },
        { message: 'in the request', traceId: trace.traceId, spanId: rootId },
        { message: 'in the query', traceId: trace.traceId, spanId: dbId },
        { message: 'after the end' }
      ])
      assert.match(trace.traceId, /^[0-9a-f]{32}$/)
      assert.match(dbId, /^[0-9a-f]{16}$/)
    })

    it('getTraceMetadata: the same ids in the trace built as JSON (endTransactionJSON)', (t) => {
      const { api, manager, store, start } = setup(t)
      const T = start('GET /json')
      const child = store.startSegment(T, 'child')
      const inChild = manager.runInContext(child, () => api.getTraceMetadata())
      const trace = JSON.parse(store.endTransactionJSON(T))
      assert.deepEqual(inChild, { traceId: trace.traceId, spanId: trace.segments.find((s) => s.name === 'child').id })
      assert.deepEqual(manager.runInContext(child, () => api.getTraceMetadata()), {})
    })

    it('getTraceMetadata: the ids stay the same across awaits and timers of the request', async (t) => {
      const { api, manager, store, start } = setup(t)
      const T = start('GET /slow')
      const seen = await manager.runInContext(T, async () => {
        const first = api.getTraceMetadata()
        await sleep(2)
        const second = await new Promise((resolve) => setImmediate(() => resolve(api.getTraceMetadata())))
        return [first, second]
      })
      const trace = store.endTransaction(T)
      assert.deepEqual(seen, [
        { traceId: trace.traceId, spanId: trace.segments[0].id },
        { traceId: trace.traceId, spanId: trace.segments[0].id }
      ])
    })
  })

  describe(`createContextApi on ${kind.name}: getTraceMetadata over the store API`, () => {
    /** A store that answers traceIdOf/spanIdOf from tables, and records the calls. */
    function fakeStore () {
      const calls = []
      const traces = new Map([[5, 'a'.repeat(32)], [6, 'a'.repeat(32)]])
      const spans = new Map([[5, '1'.repeat(16)], [6, '2'.repeat(16)]])
      return {
        calls,
        isActive: (h) => traces.has(h),
        traceIdOf (h) { calls.push(['traceIdOf', h]); return traces.has(h) ? traces.get(h) : null },
        spanIdOf (h) { calls.push(['spanIdOf', h]); return spans.has(h) ? spans.get(h) : null }
      }
    }

    it('asks the store for the ids of the current handle; a new object each call', (t) => {
      const store = fakeStore()
      const manager = createManager(kind, t)
      const api = createContextApi(manager, store)
      const first = manager.runInContext(6, () => api.getTraceMetadata())
      const second = manager.runInContext(6, () => api.getTraceMetadata())
      assert.deepEqual(first, { traceId: 'a'.repeat(32), spanId: '2'.repeat(16) })
      assert.notEqual(first, second)
      assert.deepEqual(store.calls, [['traceIdOf', 6], ['spanIdOf', 6], ['traceIdOf', 6], ['spanIdOf', 6]])
    })

    it('{} with no context, a context that is not a handle, or a handle the store does not know', (t) => {
      const store = fakeStore()
      const manager = createManager(kind, t)
      const api = createContextApi(manager, store)
      assert.deepEqual(api.getTraceMetadata(), {})
      for (const ctx of ['5', { handle: 5 }, 7]) {
        assert.deepEqual(manager.runInContext(ctx, () => api.getTraceMetadata()), {}, String(ctx))
      }
      assert.deepEqual(store.calls, [['traceIdOf', 7]], 'only numbers reach the store')
    })
  })
}
