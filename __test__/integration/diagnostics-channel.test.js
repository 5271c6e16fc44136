'use strict'

// node:diagnostics_channel wired to the managers' storage face, on both
// managers: channel(name).bindStore(manager.storage, transform) with
// runStores; tracingChannel(name) with start.bindStore(manager.storage)
// through traceSync, tracePromise and traceCallback (and asyncStart bound
// for a callback that comes back through a contextless queue); and a
// profiler-style observer on onContextSwitch whose label, kept from the
// switch events alone, equals the current context at every sample point.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const dc = require('node:diagnostics_channel')
const { AsyncLocalStorage } = require('node:async_hooks')
const { MANAGERS, createAgent, sleep, immediate } = require('../helpers/instrument')

let seq = 0
/** A channel name of this test's own. */
const uniqueName = (what) => `segment-context:test:${what}:${++seq}`

/** A queue made outside any context and drained from its own timer: callbacks come back with no context. */
function contextlessQueue (manager) {
  const jobs = []
  const timer = manager.runWithoutContext(() => setInterval(() => {
    while (jobs.length > 0) jobs.shift()()
  }, 1))
  return { push: (job) => jobs.push(job), close: () => clearInterval(timer) }
}

for (const { key, className } of MANAGERS) {
  describe(`diagnostics_channel and the storage face: ${className}`, () => {
    it('the storage face is one AsyncLocalStorage-shaped object', (t) => {
      const agent = createAgent(key)
      t.after(() => agent.close())
      const { manager } = agent
      const storage = manager.storage
      assert.equal(manager.storage, storage)
      for (const m of ['getStore', 'run', 'enterWith', 'exit', 'disable']) assert.equal(typeof storage[m], 'function', m)
      const txn = agent.startTransaction('T', 'r1')
      assert.equal(storage.getStore(), undefined)
      assert.equal(storage.run(txn, (a, b) => [storage.getStore(), a, b], 1, 2).join(), [txn, 1, 2].join())
      storage.run(txn, () => {
        assert.equal(storage.exit((x) => [storage.getStore(), x], 'x').join(), [undefined, 'x'].join())
        assert.equal(storage.getStore(), txn)
      })
      agent.endTransaction(txn)
      // A stale handle reads as undefined.
      assert.equal(storage.run(txn, () => storage.getStore()), undefined)
    })

    it('channel.bindStore(manager.storage, transform) + runStores: the transform\'s context inside, also in what it schedules', async (t) => {
      const agent = createAgent(key)
      t.after(() => agent.close())
      const { manager, store } = agent
      const ch = dc.channel(uniqueName('query'))
      const seen = []
      const subscriber = (message) => seen.push([message.name, manager.getContext()])
      ch.subscribe(subscriber)
      ch.bindStore(manager.storage, (message) => agent.startSegment(`Channel/${message.name}`, message.rid))
      // A second, plain AsyncLocalStorage on the same channel gets its own value.
      const other = new AsyncLocalStorage()
      ch.bindStore(other, (message) => `other:${message.rid}`)
      t.after(() => {
        ch.unsubscribe(subscriber)
        ch.unbindStore(manager.storage)
        ch.unbindStore(other)
      })

      const txn = agent.startTransaction('T', 'r1')
      let inside
      let later
      await manager.runInContext(txn, async () => {
        const scheduled = ch.runStores({ name: 'select', rid: 'r1' }, () => {
          inside = manager.getContext()
          assert.equal(other.getStore(), 'other:r1')
          return sleep(1).then(() => { later = manager.getContext() })
        })
        assert.equal(manager.getContext(), txn, 'restored after runStores')
        assert.equal(other.getStore(), undefined)
        await scheduled
        assert.equal(manager.getContext(), txn)
      })
      assert.equal(store.nameOf(inside), 'Channel/select')
      assert.equal(store.parentOf(inside), txn)
      assert.equal(later, inside, 'a timer scheduled inside runStores keeps its context')
      // Subscribers run inside the stores (runStores publishes after entering them).
      assert.deepEqual(seen, [['select', inside]])
      agent.endSegment(inside)
      const trace = agent.endTransaction(txn)
      assert.deepEqual(trace.segments.map((s) => s.name), ['T', 'Channel/select'])
      assert.equal(manager.getContext(), null)
      assert.equal(store.stats().liveSegments, 0)
    })

    it('tracingChannel: start.bindStore(manager.storage) through traceSync, tracePromise and traceCallback', async (t) => {
      const agent = createAgent(key)
      t.after(() => agent.close())
      const { manager, store } = agent
      const tc = dc.tracingChannel(uniqueName('op'))
      const events = []
      const handlers = {
        start: (m) => events.push(`start ${m.op}`),
        end: (m) => { events.push(`end ${m.op}`); if (m.op === 'sync') agent.endSegment(m.segment) },
        asyncStart: (m) => events.push(`asyncStart ${m.op}`),
        asyncEnd: (m) => { events.push(`asyncEnd ${m.op}`); agent.endSegment(m.segment) },
        error: (m) => events.push(`error ${m.op}`)
      }
      tc.subscribe(handlers)
      tc.start.bindStore(manager.storage, (m) => (m.segment = agent.startSegment(`Op/${m.op}`, m.rid)))
      // Manual context recovery for callbacks: asyncStart runs the callback in the caller's context.
      tc.asyncStart.bindStore(manager.storage, (m) => m.parent)
      const queue = contextlessQueue(manager)
      t.after(() => {
        queue.close()
        tc.unsubscribe(handlers)
        tc.start.unbindStore(manager.storage)
        tc.asyncStart.unbindStore(manager.storage)
      })

      const txn = agent.startTransaction('T', 'r1')
      await manager.runInContext(txn, async () => {
        // traceSync
        const sync = { op: 'sync', rid: 'r1' }
        const inSync = tc.traceSync(() => manager.getContext(), sync)
        assert.equal(inSync, sync.segment)
        assert.equal(manager.getContext(), txn)

        // tracePromise: the segment inside, across its awaits; the caller's context after.
        const promised = { op: 'promise', rid: 'r1' }
        const contexts = await tc.tracePromise(async () => {
          const before = manager.getContext()
          await immediate()
          return [before, manager.getContext()]
        }, promised)
        assert.deepEqual(contexts, [promised.segment, promised.segment])
        assert.equal(manager.getContext(), txn)

        // traceCallback: the operation hands its callback to a contextless
        // queue; asyncStart's bound store brings the caller's context back.
        const called = { op: 'callback', rid: 'r1', parent: txn }
        const result = await new Promise((resolve, reject) => {
          tc.traceCallback(function (cb) {
            assert.equal(manager.getContext(), called.segment)
            queue.push(() => cb(null, 'done'))
          }, 0, called, undefined, (err, value) => {
            if (err) return reject(err)
            resolve([value, manager.getContext()])
          })
        })
        assert.deepEqual(result, ['done', txn])
      })
      assert.deepEqual(events, [
        'start sync', 'end sync',
        'start promise', 'end promise', 'asyncStart promise', 'asyncEnd promise',
        'start callback', 'end callback', 'asyncStart callback', 'asyncEnd callback'
      ])
      const trace = agent.endTransaction(txn)
      assert.deepEqual(trace.segments.map((s) => s.name), ['T', 'Op/sync', 'Op/promise', 'Op/callback'])
      assert.equal(agent.counts.truncated, 0, agent.describe())
      assert.equal(store.stats().liveSegments, 0)
    })

    it('traceCallback without asyncStart bound: the queued callback comes back with no context (the recovery is real)', async (t) => {
      const agent = createAgent(key)
      t.after(() => agent.close())
      const { manager } = agent
      const tc = dc.tracingChannel(uniqueName('op'))
      tc.start.bindStore(manager.storage, (m) => agent.startSegment(`Op/${m.op}`, m.rid))
      const queue = contextlessQueue(manager)
      t.after(() => {
        queue.close()
        tc.start.unbindStore(manager.storage)
      })
      const txn = agent.startTransaction('T', 'r1')
      const seen = await manager.runInContext(txn, () => new Promise((resolve) => {
        tc.traceCallback((cb) => queue.push(() => cb(null)), 0, { op: 'callback', rid: 'r1' }, undefined,
          () => resolve(manager.getContext()))
      }))
      assert.equal(seen, null)
      agent.endTransaction(txn)
    })

    it('a profiler-style observer on onContextSwitch: its label equals the current context at every sample point', async (t) => {
      const agent = createAgent(key)
      t.after(() => agent.close())
      const { manager } = agent
      const counts = {}
      let label = null
      const off = manager.onContextSwitch((type, ctx) => {
        counts[type] = (counts[type] ?? 0) + 1
        label = ctx
      })
      t.after(off)
      const ch = dc.channel(uniqueName('sample'))
      ch.bindStore(manager.storage, (m) => m.ctx)
      t.after(() => ch.unbindStore(manager.storage))
      let samples = 0
      const sample = (where) => {
        samples++
        assert.equal(label, manager.getContext(), `the observer's label ${where}`)
      }

      const a = agent.startTransaction('A', 'a')
      const b = agent.startTransaction('B', 'b')
      sample('before anything')
      manager.runInContext(a, () => {
        sample('in a run')
        manager.runInContext(b, () => sample('in a nested run'))
        sample('after the nested run returned')
        manager.runWithoutContext(() => sample('in runWithoutContext'))
        sample('after runWithoutContext')
      })
      sample('after the run')

      const boundToB = manager.bindFunction(() => sample('in a bound function'), b)
      manager.runInContext(a, () => {
        boundToB()
        sample('after a bound call')
      })

      const { EventEmitter } = require('node:events')
      const emitter = manager.bindEmitter(new EventEmitter(), a)
      emitter.on('tick', () => sample('in a bound emitter listener'))
      manager.runInContext(b, () => {
        emitter.emit('tick')
        sample('after the bound listener')
      })

      ch.runStores({ ctx: b }, () => sample('in a channel run'))
      sample('after the channel run')
      manager.storage.run(a, () => sample('in storage.run'))
      manager.storage.exit(() => sample('in storage.exit'))
      sample('at the end')

      assert.ok(samples >= 15)
      // a, b nested, without; around the bound call; around the emit; the channel run; storage.run and exit
      assert.equal(counts.run, 3 + 1 + 1 + 1 + 2, `run events: ${JSON.stringify(counts)}`)
      assert.equal(counts.bound, 2, `bound events: ${JSON.stringify(counts)}`)
      assert.equal(counts.restore, counts.run + counts.bound, `each run and bound call restored: ${JSON.stringify(counts)}`)

      if (key === 'legacy') {
        // The legacy hook reports propagation, so the label follows async
        // hops too. (AsyncLocalStorage propagates inside Node, unseen.)
        await manager.runInContext(a, () => new Promise((resolve) => {
          setTimeout(() => {
            sample('in a timer callback (propagate)')
            setImmediate(() => {
              sample('in an immediate (propagate)')
              resolve()
            })
          }, 1)
        }))
        assert.ok(counts.propagate >= 2, `propagate events: ${JSON.stringify(counts)}`)
      } else {
        assert.equal(counts.propagate, undefined)
      }

      // Unsubscribed: no more events.
      off()
      const before = JSON.stringify(counts)
      manager.runInContext(a, () => {})
      assert.equal(JSON.stringify(counts), before)
      agent.endTransaction(a)
      agent.endTransaction(b)
    })
  })
}
