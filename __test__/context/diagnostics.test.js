'use strict'

// The managers' recorder of context transitions (lib/diagnostics.js): off by
// default, events in order with consecutive sequence numbers, a ring that
// wraps and counts what it dropped, a dump that survives JSON, handles of
// ended transactions flagged, propagation visible on the legacy manager only.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { EventEmitter } = require('node:events')
const { SegmentStore } = require('../..')
const { KINDS, createManager, deferred, immediate } = require('../helpers/harness')

/** The events as [type, handle] pairs (or [type, handle, 'ended']). */
const pairs = (dump) => dump.events.map((e) => (e.ended ? [e.type, e.handle, 'ended'] : [e.type, e.handle]))

for (const kind of KINDS) {
  const legacy = kind.key === 'legacy'

  describe(`${kind.name}: diagnostics`, () => {
    it('is off by default: nothing is recorded, whatever runs', async (t) => {
      const store = new SegmentStore()
      const m = createManager(kind, t, { store })
      const T = store.startTransaction('T', 0)
      m.runInContext(T, () => m.setContext(T))
      m.bindFunction(() => {}, T)()
      await m.runInContext(T, () => new Promise((resolve) => setImmediate(resolve)))
      assert.deepEqual(m.diagnostics(), { enabled: false, size: 0, recorded: 0, dropped: 0, propagation: legacy, events: [] })
      assert.equal(m._diag, null, 'no recorder exists while off')
    })

    it('records set, run, bound and restore, in order, with consecutive sequence numbers', (t) => {
      const store = new SegmentStore()
      const m = createManager(kind, t, { store })
      const T = store.startTransaction('T', 0)
      const T2 = store.startTransaction('T2', 0)
      const f = m.bindFunction(() => m.getContext(), T2) // binding records nothing
      assert.equal(m.enableDiagnostics({ size: 64 }), m)
      m.runInContext(T, () => {
        m.setContext('a string context')
        assert.equal(f(), T2)
        assert.equal(m.getContext(), 'a string context')
      })
      m.runWithoutContext(() => m.runInContext({ an: 'object' }, () => {}))
      assert.throws(() => m.runInContext(T, () => { throw new Error('x') }), /x/)
      const dump = m.diagnostics()
      assert.deepEqual(pairs(dump), [
        ['run', T], ['set', -2], ['bound', T2], ['restore', -2], ['restore', -1],
        ['run', -1], ['run', -2], ['restore', -1], ['restore', -1],
        ['run', T], ['restore', -1]
      ])
      assert.deepEqual(dump.events.map((e) => e.seq), dump.events.map((e, i) => i))
      assert.deepEqual({ ...dump, events: undefined }, { enabled: true, size: 64, recorded: 11, dropped: 0, propagation: legacy, events: undefined })
    })

    it('the ring wraps: the newest `size` events are kept, the rest counted as dropped', (t) => {
      const m = createManager(kind, t)
      m.enableDiagnostics({ size: 5 })
      m.runWithoutContext(() => {
        for (let i = 0; i < 10; i++) m.setContext(100 + i)
      })
      const dump = m.diagnostics()
      // run, 10 sets, restore: 12 events; the last 5 are sets 106-109 and
      // the restore (the ring's write position is not at its start).
      assert.equal(dump.recorded, 12)
      assert.equal(dump.dropped, 7)
      assert.equal(dump.size, 5)
      assert.deepEqual(dump.events.map((e) => [e.seq, e.type, e.handle]), [
        [7, 'set', 106], [8, 'set', 107], [9, 'set', 108], [10, 'set', 109], [11, 'restore', -1]
      ])
      // Exactly full, and size 1.
      m.enableDiagnostics({ size: 3 })
      for (let i = 0; i < 3; i++) m.runWithoutContext(() => m.setContext(i))
      assert.equal(m.diagnostics().dropped, 6)
      assert.deepEqual(m.diagnostics().events.map((e) => e.seq), [6, 7, 8])
      m.enableDiagnostics({ size: 1 })
      m.runWithoutContext(() => m.setContext(7))
      assert.deepEqual(pairs(m.diagnostics()), [['restore', -1]])
      assert.equal(m.diagnostics().dropped, 2)
    })

    it('the dump is plain data: JSON round-trips it exactly', (t) => {
      const store = new SegmentStore()
      const m = createManager(kind, t, { store })
      const T = store.startTransaction('T', 0)
      m.enableDiagnostics({ size: 8 })
      for (let i = 0; i < 5; i++) m.runInContext(T, () => m.setContext(i % 2 ? 'x' : T))
      const dump = m.diagnostics()
      const text = JSON.stringify(dump)
      assert.deepEqual(JSON.parse(text), dump)
      assert.equal(Object.getPrototypeOf(dump), Object.prototype)
      assert.notEqual(m.diagnostics(), dump, 'a new object each call')
      assert.deepEqual(Object.keys(dump.events[0]), ['seq', 'type', 'handle', 'ended'])
    })

    it('handles of ended transactions are flagged: a context kept alive past its transaction shows up', async (t) => {
      const store = new SegmentStore()
      const m = createManager(kind, t, { store })
      const T = store.startTransaction('T', 0)
      m.enableDiagnostics()
      const late = m.bindFunction(() => m.getContext(), T)
      const fired = deferred()
      m.runInContext(T, () => setTimeout(() => fired.resolve(m.getContext()), 5))
      store.endTransaction(T, 1)
      assert.equal(late(), null, 'the ended handle reads as null')
      assert.equal(await fired.promise, null)
      const ended = m.diagnostics().events.filter((e) => e.ended)
      assert.ok(ended.some((e) => e.type === 'bound' && e.handle === T), 'the late bound call')
      // The timer was created while T was live: the legacy hook propagated T
      // to it; by the time it ran, T had ended.
      assert.equal(ended.some((e) => e.type === 'propagate' && e.handle === T), legacy)
      // The leak report agrees that nothing is left open.
      assert.deepEqual(store.leakReport({ now: 1e9, segmentOlderThanMs: 0, transactionOlderThanMs: 0 }).transactions, [])
    })

    it(`propagation: ${legacy ? 'the hook swap-in is recorded as propagate' : 'not visible (AsyncLocalStorage propagates inside Node)'}`, async (t) => {
      const store = new SegmentStore()
      const m = createManager(kind, t, { store })
      const T = store.startTransaction('T', 0)
      m.enableDiagnostics()
      const seen = deferred()
      m.runInContext(T, () => setImmediate(() => seen.resolve(m.getContext())))
      assert.equal(await seen.promise, T)
      await immediate()
      const types = pairs(m.diagnostics())
      assert.deepEqual(types.slice(0, 2), [['run', T], ['restore', -1]])
      assert.equal(types.some(([type, h]) => type === 'propagate' && h === T), legacy)
      assert.equal(m.diagnostics().propagation, legacy)
      // Contextless callbacks are not recorded.
      assert.ok(pairs(m.diagnostics()).every(([type, h]) => type !== 'propagate' || h !== -1))
    })

    it('listeners of a bound emitter are recorded as bound calls', (t) => {
      const store = new SegmentStore()
      const m = createManager(kind, t, { store })
      const T = store.startTransaction('T', 0)
      const ee = m.bindEmitter(new EventEmitter(), T)
      let seen = 'not called'
      ee.on('x', () => { seen = m.getContext() })
      m.enableDiagnostics()
      ee.emit('x')
      assert.equal(seen, T)
      assert.deepEqual(pairs(m.diagnostics()), [['bound', T], ['restore', -1]])
    })

    it('disableDiagnostics stops recording and keeps the ring readable; enabling again starts a new ring', (t) => {
      const m = createManager(kind, t)
      m.enableDiagnostics({ size: 16 })
      m.runInContext(5, () => {})
      assert.equal(m.disableDiagnostics(), m)
      m.runInContext(6, () => {})
      m.setContext(7)
      m.setContext(null)
      const dump = m.diagnostics()
      assert.equal(dump.enabled, false)
      assert.deepEqual(pairs(dump), [['run', 5], ['restore', -1]])
      m.enableDiagnostics({ size: 16 })
      assert.deepEqual({ ...m.diagnostics(), events: m.diagnostics().events.length }, { enabled: true, size: 16, recorded: 0, dropped: 0, propagation: legacy, events: 0 })
      m.runInContext(8, () => {})
      assert.deepEqual(pairs(m.diagnostics()), [['run', 8], ['restore', -1]])
    })

    it('contexts are unchanged by recording: the same answers on and off', async (t) => {
      const m = createManager(kind, t)
      const trial = async () => {
        const seen = []
        const bound = m.bindFunction(() => seen.push(m.getContext()), 'bound')
        await m.runInContext('a', async () => {
          seen.push(m.getContext())
          m.runInContext('a', () => { m.setContext('b'); bound() })
          seen.push(m.getContext())
          await new Promise((resolve) => setImmediate(resolve))
          seen.push(m.getContext())
          await m.runWithoutContext(() => new Promise((resolve) => setTimeout(() => { seen.push(m.getContext()); resolve() }, 1)))
          seen.push(m.getContext())
        })
        // (Here the legacy manager's promise-parent fallback would give 'a'
        // to this contextless await's continuation, ALS null: not compared.)
        return seen
      }
      const off = await trial()
      m.enableDiagnostics({ size: 2 })
      const on = await trial()
      assert.deepEqual(on, off)
      assert.deepEqual(off, ['a', 'bound', 'a', 'a', null, 'a'])
      assert.ok(m.diagnostics().recorded > 6)
    })

    it('options: size must be an integer from 1 to 2^24; unknown options and non-objects are TypeErrors', (t) => {
      const m = createManager(kind, t)
      for (const ok of [undefined, null, {}, { size: undefined }, { size: 1 }, { size: 2 ** 24 }]) {
        m.enableDiagnostics(ok)
      }
      assert.equal(m.enableDiagnostics({}).diagnostics().size, 4096)
      for (const [bad, Err, word] of [
        [{ size: 0 }, RangeError, 'options.size'], [{ size: -1 }, RangeError, 'options.size'], [{ size: 1.5 }, RangeError, 'options.size'],
        [{ size: 2 ** 24 + 1 }, RangeError, 'options.size'], [{ size: NaN }, RangeError, 'options.size'], [{ size: Infinity }, RangeError, 'options.size'],
        [{ size: '8' }, TypeError, 'options.size'], [{ size: null }, TypeError, 'options.size'], [{ size: 8n }, TypeError, 'options.size'],
        [{ sise: 8 }, TypeError, 'sise'], [8, TypeError, 'options'], ['x', TypeError, 'options'], [[], TypeError, 'options']
      ]) {
        assert.throws(() => m.enableDiagnostics(bad), (e) => e instanceof Err && e.message.includes(word) && e.message.includes('enableDiagnostics'))
      }
      assert.equal(m.diagnostics().size, 4096, 'a rejected call leaves the recorder as it was')
    })
  })
}
