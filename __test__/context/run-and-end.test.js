'use strict'

// runAndEnd on both managers: the segment ends when fn returns, throws, or
// its native promise settles, and it is always the right segment, also with
// hundreds of calls interleaved, nested, with a context set inside, and
// while diagnostics record. "Open" is read from the store's leak report
// (every open segment, at age 0), so each check sees exactly which
// segments have ended.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const vm = require('node:vm')
const { SegmentStore } = require('../helpers/segment-store')
const { KINDS, createManager, deferred, sleep, immediate } = require('../helpers/harness')

/** The handles of the store's open segments, sorted. */
function openSegments (store) {
  const report = store.leakReport({ segmentOlderThanMs: 0, transactionOlderThanMs: 1e9, limit: 1e6 })
  return report.segments.map((s) => s.handle).sort((a, b) => a - b)
}

const sorted = (handles) => handles.slice().sort((a, b) => a - b)

function setup (kind, t) {
  const store = new SegmentStore()
  const m = createManager(kind, t, { store })
  const txn = store.startTransaction('T')
  t.after(() => { if (store.isActive(txn)) store.endTransaction(txn) })
  return { store, m, txn }
}

for (const kind of KINDS) {
  describe(`${kind.name}: runAndEnd`, () => {
    it('a function that returns: runs in the segment, ends it before returning, its value comes back', (t) => {
      const { store, m, txn } = setup(kind, t)
      const h = store.startSegment(txn, 'sync')
      const self = { tag: 'self' }
      const result = m.runAndEnd(h, function (a, b) {
        assert.deepEqual(openSegments(store), [h])
        return { ctx: m.getContext(), self: this, args: [a, b] }
      }, self, ['a', 'b'])
      assert.deepEqual(result, { ctx: h, self, args: ['a', 'b'] })
      assert.deepEqual(openSegments(store), [])
      assert.equal(m.getContext(), null)
    })

    it('a function that throws: the segment ends and the error comes back unchanged', (t) => {
      const { store, m, txn } = setup(kind, t)
      const h = store.startSegment(txn, 'throws')
      const error = new Error('boom')
      assert.throws(() => m.runAndEnd(h, () => { throw error }), (e) => e === error)
      assert.deepEqual(openSegments(store), [])
      assert.equal(m.getContext(), null)
    })

    it('a promise: the segment ends when it settles, not before; the value and the reason come back', async (t) => {
      const { store, m, txn } = setup(kind, t)
      const a = store.startSegment(txn, 'fulfils')
      const b = store.startSegment(txn, 'rejects')
      const da = deferred()
      const db = deferred()
      const pa = m.runAndEnd(a, () => da.promise)
      const pb = m.runAndEnd(b, () => db.promise)
      assert.ok(pa instanceof Promise && pb instanceof Promise)
      await sleep(2)
      assert.deepEqual(openSegments(store), sorted([a, b]))
      da.resolve('value')
      assert.equal(await pa, 'value')
      assert.deepEqual(openSegments(store), [b])
      const reason = new Error('reason')
      db.reject(reason)
      await assert.rejects(pb, (e) => e === reason)
      assert.deepEqual(openSegments(store), [])
    })

    it('400 interleaved calls, three deep, settling in shuffled order: each end is its own segment', async (t) => {
      const { store, m, txn } = setup(kind, t)
      const calls = [] // { handle, gate, done }
      const start = (parent, depth) => {
        const handle = store.startSegment(parent, `d${depth}`)
        const gate = deferred()
        const call = { handle, gate, done: null }
        calls.push(call)
        call.done = m.runAndEnd(handle, async () => {
          // Children start after a hop, in this segment's context.
          await immediate()
          assert.equal(m.getContext(), handle)
          if (depth < 3) {
            start(handle, depth + 1)
            start(handle, depth + 1)
          }
          await gate.promise
          assert.equal(m.getContext(), handle)
          return handle
        })
        return call
      }
      for (let i = 0; i < 58; i++) start(txn, 1)
      while (calls.length < 58 * 7) await immediate()
      assert.equal(openSegments(store).length, calls.length)
      // A shuffled order, the same in every run.
      const order = calls.slice()
      let seed = 12345
      for (let i = order.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff
        const j = seed % (i + 1)
        ;[order[i], order[j]] = [order[j], order[i]]
      }
      const open = new Set(calls.map((c) => c.handle))
      for (const call of order) {
        call.gate.resolve()
        assert.equal(await call.done, call.handle)
        open.delete(call.handle)
        assert.deepEqual(openSegments(store), sorted([...open]), `after ${call.handle} settled`)
      }
    })

    it('a context set inside fn does not change which segment ends', async (t) => {
      const { store, m, txn } = setup(kind, t)
      const h = store.startSegment(txn, 'sets')
      const other = store.startSegment(txn, 'other')
      const d = deferred()
      const p = m.runAndEnd(h, () => {
        m.setContext(other)
        return d.promise
      })
      d.resolve(1)
      assert.equal(await p, 1)
      assert.deepEqual(openSegments(store), [other])
    })

    it('nested in its own context, and from inside another segment: the right one ends', async (t) => {
      const { store, m, txn } = setup(kind, t)
      const outer = store.startSegment(txn, 'outer')
      const inner = store.startSegment(outer, 'inner')
      const d = deferred()
      const p = m.runInContext(outer, () => m.runAndEnd(outer, () => m.runAndEnd(inner, () => d.promise)))
      await sleep(1)
      assert.deepEqual(openSegments(store), sorted([outer, inner]))
      d.resolve()
      await p
      assert.deepEqual(openSegments(store), [])
    })

    it('while diagnostics record: the run is recorded and the right segment ends', async (t) => {
      const { store, m, txn } = setup(kind, t)
      m.enableDiagnostics({ size: 64 })
      const h = store.startSegment(txn, 'recorded')
      const keep = store.startSegment(txn, 'kept')
      const d = deferred()
      const p = m.runAndEnd(h, () => d.promise)
      d.resolve()
      await p
      assert.deepEqual(openSegments(store), [keep])
      const types = m.diagnostics().events.map((e) => `${e.type}:${e.handle}`)
      assert.ok(types.includes(`run:${h}`), types.join(' '))
    })

    it('a promise of another realm is waited for', async (t) => {
      const { store, m, txn } = setup(kind, t)
      const h = store.startSegment(txn, 'realm')
      const box = vm.runInNewContext('let resolve; const promise = new Promise((r) => { resolve = r }); ({ promise, resolve })')
      assert.ok(!(box.promise instanceof Promise))
      const p = m.runAndEnd(h, () => box.promise)
      await sleep(1)
      assert.deepEqual(openSegments(store), [h])
      box.resolve(5)
      assert.equal(await p, 5)
      assert.deepEqual(openSegments(store), [])
    })

    it('another thenable is not waited for: its then is never called and the segment ends at once', (t) => {
      const { store, m, txn } = setup(kind, t)
      const h = store.startSegment(txn, 'thenable')
      let thenCalls = 0
      const query = { then () { thenCalls++ } }
      assert.equal(m.runAndEnd(h, () => query), query)
      assert.equal(thenCalls, 0)
      assert.deepEqual(openSegments(store), [])
    })

    it('segment null: fn runs with no context and nothing ends', async (t) => {
      const { store, m, txn } = setup(kind, t)
      const h = store.startSegment(txn, 'untouched')
      const value = await m.runInContext(h, () => m.runAndEnd(null, async () => m.getContext()))
      assert.equal(value, null)
      assert.deepEqual(openSegments(store), [h])
    })

    it('bad arguments and a manager with no store: TypeErrors naming the problem, fn never runs', (t) => {
      const { store, m, txn } = setup(kind, t)
      const h = store.startSegment(txn, 'x')
      let ran = 0
      const fn = () => { ran++ }
      assert.throws(() => m.runAndEnd('1', fn), /runAndEnd: segment/)
      assert.throws(() => m.runAndEnd(undefined, fn), /runAndEnd: segment/)
      assert.throws(() => m.runAndEnd(h, 'not a function'), /runAndEnd: fn/)
      assert.throws(() => m.runAndEnd(h, fn, undefined, 5), /runAndEnd: args/)
      const bare = createManager(kind, t)
      assert.throws(() => bare.runAndEnd(h, fn), (e) => e instanceof TypeError && /options\.store/.test(e.message))
      const onlyActive = createManager(kind, t, { store: { isActive: () => true } })
      assert.throws(() => onlyActive.runAndEnd(h, fn), /endSegment/)
      assert.equal(ran, 0)
      assert.deepEqual(openSegments(store), [h])
    })
  })
}
