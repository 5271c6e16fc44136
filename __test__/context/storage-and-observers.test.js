'use strict'

// The storage face (`manager.storage`, shaped like AsyncLocalStorage),
// switch observers (`onContextSwitch`) and the liveness hook
// (`options.isActive`), on both managers. diagnostics_channel and the
// frameworks are in __test__/integration/.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { KINDS, createManager, deferred, immediate } = require('../helpers/harness')
const { SegmentStore } = require('../helpers/segment-store')

const root = path.join(__dirname, '..', '..')

for (const kind of KINDS) {
  describe(`${kind.name}: storage`, () => {
    it('storage-1: is one object, shaped like AsyncLocalStorage', (t) => {
      const m = createManager(kind, t)
      assert.equal(m.storage, m.storage)
      for (const method of ['getStore', 'run', 'enterWith', 'exit', 'disable']) {
        assert.equal(typeof m.storage[method], 'function', method)
      }
    })

    it('storage-3: run(value, fn, ...args) runs fn in value with the arguments; getStore() is undefined outside', (t) => {
      const m = createManager(kind, t)
      const s = m.storage
      assert.equal(s.getStore(), undefined)
      const got = s.run('T', (a, b) => [s.getStore(), m.getContext(), a, b], 1, 2)
      assert.deepEqual(got, ['T', 'T', 1, 2])
      assert.equal(s.getStore(), undefined)
    })

    it('storage-3: the previous context comes back when fn throws', (t) => {
      const m = createManager(kind, t)
      const s = m.storage
      const boom = new Error('boom')
      s.run('outer', () => {
        assert.throws(() => s.run('inner', () => { throw boom }), (e) => e === boom)
        assert.equal(s.getStore(), 'outer')
      })
    })

    it('storage-4: exit(fn) runs with no context, and what it schedules carries none', async (t) => {
      const m = createManager(kind, t)
      const s = m.storage
      const later = deferred()
      s.run('T', () => s.exit(() => {
        assert.equal(s.getStore(), undefined)
        setImmediate(() => later.resolve(s.getStore()))
      }))
      assert.equal(await later.promise, undefined)
    })

    it('storage-4: enterWith(value) sets the context, and it propagates', async (t) => {
      const m = createManager(kind, t)
      const s = m.storage
      const later = deferred()
      m.runWithoutContext(() => {
        s.enterWith('E')
        assert.equal(m.getContext(), 'E')
        setImmediate(() => later.resolve(s.getStore()))
      })
      assert.equal(await later.promise, 'E')
    })

    it('storage-2: a handle of an ended transaction reads as undefined', (t) => {
      const store = new SegmentStore()
      const m = createManager(kind, t, { store })
      const h = store.startTransaction('t')
      m.storage.run(h, () => {
        assert.equal(m.storage.getStore(), h)
        store.endTransaction(h)
        assert.equal(m.storage.getStore(), undefined)
      })
    })

    it('propagates across timers and promises like the manager', async (t) => {
      const m = createManager(kind, t)
      const s = m.storage
      const seen = await s.run('P', async () => {
        await immediate()
        const a = s.getStore()
        await new Promise((resolve) => setTimeout(resolve, 1))
        return [a, s.getStore()]
      })
      assert.deepEqual(seen, ['P', 'P'])
    })

    it('storage-4: disable() is the manager\'s disable()', (t) => {
      const m = createManager(kind, t)
      m.setContext('before')
      m.storage.disable()
      assert.equal(m.getContext(), null)
    })

    it('storage-5: withScope(value) holds until disposed, once; observers see run and restore', (t) => {
      const m = createManager(kind, t)
      const s = m.storage
      const heard = []
      const stop = m.onContextSwitch((type, ctx) => heard.push([type, ctx]))
      m.runInContext('outer', () => {
        const scope = s.withScope('W')
        assert.equal(s.getStore(), 'W')
        scope[Symbol.dispose]()
        assert.equal(s.getStore(), 'outer')
        m.setContext('later')
        scope.dispose() // a second dispose puts nothing back
        assert.equal(s.getStore(), 'later')
      })
      stop()
      assert.deepEqual(heard.slice(1, 3), [['run', 'W'], ['restore', 'outer']])
    })
  })

  describe(`${kind.name}: onContextSwitch`, () => {
    it('sees set, run, bound, restore (and propagate on legacy), with the context in force', async (t) => {
      const m = createManager(kind, t)
      const events = []
      const stop = m.onContextSwitch((type, ctx) => events.push([type, ctx]))
      m.runInContext('R', () => {
        m.setContext('S')
      })
      const bound = m.bindFunction(() => {}, 'B')
      bound()
      const emitter = m.bindEmitter(new (require('node:events').EventEmitter)(), 'E')
      emitter.on('x', () => {})
      emitter.emit('x')
      m.storage.run('F', () => {})
      const later = deferred()
      m.runInContext('T', () => setImmediate(() => later.resolve()))
      await later.promise
      await immediate()
      stop()
      const types = events.map(([type]) => type)
      assert.deepEqual(events.slice(0, 8), [
        ['run', 'R'], ['set', 'S'], ['restore', null],
        ['bound', 'B'], ['restore', null],
        ['bound', 'E'], ['restore', null],
        ['run', 'F']
      ])
      assert.equal(types.includes('propagate'), kind.key === 'legacy', 'propagate only where the manager sees it')
      if (kind.key === 'legacy') assert.ok(events.some(([type, ctx]) => type === 'propagate' && ctx === 'T'))
    })

    it('an unsubscribed listener hears nothing more; the others go on', (t) => {
      const m = createManager(kind, t)
      const a = []
      const b = []
      const stopA = m.onContextSwitch((type) => a.push(type))
      const stopB = m.onContextSwitch((type) => b.push(type))
      m.runInContext('x', () => {})
      stopA()
      stopA() // twice is harmless
      m.runInContext('y', () => {})
      stopB()
      m.runInContext('z', () => {})
      assert.deepEqual(a, ['run', 'restore'])
      assert.deepEqual(b, ['run', 'restore', 'run', 'restore'])
      assert.equal(m._diag, null, 'nothing records once nobody listens')
    })

    it('works beside the diagnostics ring, which keeps recording', (t) => {
      const m = createManager(kind, t)
      m.enableDiagnostics({ size: 16 })
      const heard = []
      const stop = m.onContextSwitch((type) => heard.push(type))
      m.runInContext(5, () => {})
      stop()
      m.runInContext(6, () => {})
      assert.deepEqual(heard, ['run', 'restore'])
      assert.deepEqual(m.diagnostics().events.map((e) => [e.type, e.handle]), [['run', 5], ['restore', -1], ['run', 6], ['restore', -1]])
    })
  })

  describe(`${kind.name}: options.isActive (liveness of object contexts)`, () => {
    it('a context the hook calls ended reads as null: getContext, bound calls, contextOf, callbacks', async (t) => {
      const ended = new WeakSet()
      const calls = []
      const isActive = (ctx) => { calls.push(ctx); return !ended.has(ctx) }
      const m = createManager(kind, t, { isActive })
      const ctx = { transaction: 'T1', segment: 'S1' }
      const later = deferred()
      const bound = m.bindFunction(() => m.getContext(), ctx)
      const key = {}
      m.associate(key, ctx)
      m.runInContext(ctx, () => {
        assert.equal(m.getContext(), ctx)
        setTimeout(() => later.resolve(m.getContext()), 5)
      })
      assert.equal(bound(), ctx)
      assert.equal(m.contextOf(key), ctx)
      ended.add(ctx)
      assert.equal(bound(), null)
      assert.equal(m.contextOf(key), null)
      assert.equal(m.runInContext(ctx, () => m.getContext()), null)
      assert.equal(await later.promise, null, 'a timer made before the end does not reach the ended context')
      assert.ok(calls.length > 0 && calls.every((c) => c === ctx), 'the hook sees only contexts, never null')
    })

    it('null and undefined never reach the hook', (t) => {
      const m = createManager(kind, t, { isActive: () => { throw new Error('called') } })
      assert.equal(m.getContext(), null)
      assert.equal(m.runWithoutContext(() => m.getContext()), null)
    })

    it('replaces the store\'s check (the agent decides), and a non-function is a TypeError', (t) => {
      const store = new SegmentStore()
      const h = store.startTransaction('t')
      store.endTransaction(h)
      const m = createManager(kind, t, { store, isActive: () => true })
      assert.equal(m.runInContext(h, () => m.getContext()), h, 'the hook, not the store, says it is live')
      for (const bad of [1, 'x', {}, true]) {
        assert.throws(() => new kind.Manager({ isActive: bad }), (e) => e instanceof TypeError && e.message.includes('options.isActive'))
      }
    })
  })
}

describe('onContextSwitch: a listener that throws', () => {
  it('does not break the switch; its error is rethrown on the next tick', () => {
    for (const kind of KINDS) {
      const program = `
        const { ${kind.name} } = require(${JSON.stringify(root)})
        const m = new ${kind.name}()
        m.onContextSwitch(() => { throw new Error('observer bug') })
        let inside
        process.on('uncaughtException', (e) => { console.log(JSON.stringify({ inside, error: e.message })); process.exit(0) })
        inside = m.runInContext('T', () => m.getContext())
      `
      const r = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8' })
      assert.equal(r.status, 0, r.stderr)
      assert.deepEqual(JSON.parse(r.stdout), { inside: 'T', error: 'observer bug' }, kind.name)
    }
  })
})
