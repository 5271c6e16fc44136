'use strict'

// OtelContextManager against what OpenTelemetry's own context-manager suite
// asks of AsyncLocalStorageContextManager (identity of active(), forwarding,
// nested restore across timers and await, independence, emitters, attach,
// disable), written here in our own words, for each backing manager.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { EventEmitter } = require('node:events')
const { PassThrough } = require('node:stream')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { ROOT_CONTEXT, createContextKey } = require('@opentelemetry/api')
const { OtelContextManager } = require('../../lib/api/otel-bridge')
const { AsyncLocalContextManager } = require('../../lib/context/als-manager')
const { LegacyContextManager } = require('../../lib/context/legacy-manager')
const { createContextManager } = require('../../index')
const { deferred, sleep, immediate } = require('../helpers/harness')

const KEY = createContextKey('otel-bridge test key')

/**
 * The managers the bridge runs on. `parentFallback`: the legacy manager's
 * default promise parent fallback (rows A-C of docs/semantics.md): a promise
 * made with no current context takes the context of the promise it chains
 * from. The bridge stops the fallback at the promise `with()` returns, so
 * `await with(ctx, asyncFn)` at the top of a chain leaves the caller in its
 * own context on every backing, as OpenTelemetry's suite requires.
 */
const BACKINGS = [
  { name: 'its own AsyncLocalContextManager (no options)', parentFallback: false, make: () => new OtelContextManager() },
  {
    name: 'AsyncLocalContextManager',
    parentFallback: false,
    make: () => new OtelContextManager({ manager: new AsyncLocalContextManager() })
  },
  {
    name: 'LegacyContextManager (async hooks on, promiseParentFallback off)',
    parentFallback: false,
    make: () => new OtelContextManager({ manager: new LegacyContextManager({ legacy: { promiseParentFallback: false } }) })
  },
  {
    name: 'LegacyContextManager (defaults: async hooks on, promiseParentFallback on)',
    parentFallback: true,
    make: () => new OtelContextManager({ manager: new LegacyContextManager() })
  }
]

/** A bridge switched off when the test ends. */
function bridge (backing, t) {
  const cm = backing.make()
  t.after(() => cm.disable())
  return cm
}

/** Contexts that differ only by the value under KEY. */
function contexts (...values) {
  return values.map((value) => ROOT_CONTEXT.setValue(KEY, value))
}

/** Throws a TypeError whose message contains every one of `words`. */
function assertTypeError (fn, ...words) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof TypeError, `${error} is a TypeError`)
    for (const word of words) assert.ok(error.message.includes(word), `"${error.message}" mentions "${word}"`)
    return true
  })
}

for (const backing of BACKINGS) {
  describe(`OtelContextManager on ${backing.name}`, () => {
    describe('enable, disable, active', () => {
      it('enable() and disable() return the bridge; a fresh bridge is at ROOT_CONTEXT', (t) => {
        const cm = bridge(backing, t)
        assert.equal(cm.active(), ROOT_CONTEXT)
        assert.equal(cm.enable(), cm)
        assert.equal(cm.active(), ROOT_CONTEXT)
        assert.equal(cm.disable(), cm)
        assert.equal(cm.active(), ROOT_CONTEXT)
        assert.equal(cm.enable(), cm)
      })

      it('active() is the very object passed to with(), for Contexts and for any other value', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const values = [c1, ROOT_CONTEXT, 'a string', 7, { not: 'a Context' }]
        for (const value of values) {
          assert.equal(cm.with(value, () => cm.active()), value)
        }
        assert.equal(cm.active(), ROOT_CONTEXT)
      })

      it('with(null) and with(undefined) run at ROOT_CONTEXT', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        cm.with(c1, () => {
          assert.equal(cm.with(null, () => cm.active()), ROOT_CONTEXT)
          assert.equal(cm.with(undefined, () => cm.active()), ROOT_CONTEXT)
          assert.equal(cm.active(), c1)
        })
      })
    })

    describe('with()', () => {
      it('runs fn synchronously and returns its value', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        let ran = false
        const value = {}
        assert.equal(cm.with(c1, () => { ran = true; return value }), value)
        assert.equal(ran, true)
        assert.equal(cm.with(ROOT_CONTEXT, () => 3.5), 3.5)
      })

      it('forwards thisArg and exactly the arguments given after it', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const self = { self: true }
        function record () {
          return { self: this, args: Array.from(arguments), active: cm.active() }
        }
        assert.deepEqual(cm.with(c1, record, self, 'one', 2), { self, args: ['one', 2], active: c1 })
        assert.deepEqual(cm.with(c1, record, self), { self, args: [], active: c1 })
        assert.deepEqual(cm.with(c1, record), { self: undefined, args: [], active: c1 })
        assert.deepEqual(cm.with(c1, record, undefined, undefined), { self: undefined, args: [undefined], active: c1 })
        const many = [1, 2, 3, 4, 5, 6, 7, 8]
        assert.deepEqual(cm.with(c1, record, 'that', ...many), { self: 'that', args: many, active: c1 })
      })

      it('rethrows the very error fn throws and restores the context', (t) => {
        const cm = bridge(backing, t)
        const [c1, c2] = contexts('c1', 'c2')
        const error = new Error('rethrown')
        cm.with(c1, () => {
          assert.throws(() => cm.with(c2, () => { throw error }), (thrown) => thrown === error)
          assert.equal(cm.active(), c1)
        })
        assert.equal(cm.active(), ROOT_CONTEXT)
      })

      it('nested with() calls restore each previous context (synchronous)', (t) => {
        const cm = bridge(backing, t)
        const [c1, c2, c3] = contexts('c1', 'c2', 'c3')
        const seen = []
        cm.with(c1, () => {
          seen.push(cm.active())
          cm.with(c2, () => {
            seen.push(cm.active())
            cm.with(c3, () => seen.push(cm.active()))
            seen.push(cm.active())
          })
          seen.push(cm.active())
        })
        seen.push(cm.active())
        assert.deepEqual(seen.map((c) => c.getValue(KEY)), ['c1', 'c2', 'c3', 'c2', 'c1', undefined])
        assert.equal(seen[5], ROOT_CONTEXT)
      })

      it('a timer set inside with() runs in that context; the caller is back at ROOT at once', async (t) => {
        const cm = bridge(backing, t)
        const [c1, c2] = contexts('c1', 'c2')
        const fired = deferred()
        const seen = []
        cm.with(c1, () => {
          cm.with(c2, () => setTimeout(() => seen.push(cm.active()), 1))
          setTimeout(() => {
            seen.push(cm.active())
            setImmediate(() => {
              seen.push(cm.active())
              fired.resolve()
            })
          }, 5)
        })
        assert.equal(cm.active(), ROOT_CONTEXT)
        await fired.promise
        assert.equal(seen.length, 3)
        assert.equal(seen[0], c2)
        assert.equal(seen[1], c1)
        assert.equal(seen[2], c1)
      })

      it('an async function called inside a nested with() keeps the nested context after its await', async (t) => {
        const cm = bridge(backing, t)
        const [c1, c2] = contexts('c1', 'c2')
        const after = deferred()
        async function downstream () {
          await (async () => {})()
          after.resolve(cm.active())
        }
        cm.with(c1, () => {
          cm.with(c2, () => { downstream() })
          assert.equal(cm.active(), c1)
        })
        assert.equal(cm.active(), ROOT_CONTEXT)
        assert.equal(await after.promise, c2)
      })

      it('the context survives an await of a timer', async (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const seen = await cm.with(c1, async () => {
          const before = cm.active()
          await sleep(20)
          return [before, cm.active()]
        })
        assert.equal(seen[0], c1)
        assert.equal(seen[1], c1)
      })

      it('awaited async with() calls, four deep, restore each level; the caller ends at ROOT (the parent fallback included)', async (t) => {
        const cm = bridge(backing, t)
        const [c1, c2, c3, c4] = contexts('c1', 'c2', 'c3', 'c4')
        const seen = []
        await cm.with(c1, async () => {
          seen.push(['in 1', cm.active()])
          await cm.with(c2, async () => {
            seen.push(['in 2', cm.active()])
            await cm.with(c3, async () => {
              seen.push(['in 3', cm.active()])
              await cm.with(c4, async () => {
                await immediate()
                seen.push(['in 4', cm.active()])
              })
              seen.push(['back in 3', cm.active()])
            })
            seen.push(['back in 2', cm.active()])
          })
          seen.push(['back in 1', cm.active()])
        })
        seen.push(['outside', cm.active()])
        // The outermost await (made with no context) chains from the promise
        // with() returned, which the bridge keeps out of the parent fallback.
        const outside = ROOT_CONTEXT
        assert.deepEqual(seen.map(([label, c]) => [label, c.getValue(KEY)]), [
          ['in 1', 'c1'], ['in 2', 'c2'], ['in 3', 'c3'], ['in 4', 'c4'],
          ['back in 3', 'c3'], ['back in 2', 'c2'], ['back in 1', 'c1'], ['outside', outside.getValue(KEY)]
        ])
        assert.equal(seen[7][1], outside)
      })

      it('concurrent chains with timers, awaits and nested with() each see only their own contexts', async (t) => {
        const cm = bridge(backing, t)
        const [a, b, a2, b2] = contexts('a', 'b', 'a-inner', 'b-inner')
        const seen = []
        const see = (label) => seen.push([label, cm.active().getValue(KEY)])
        const chainA = deferred()
        const chainB = deferred()
        cm.with(a, async () => {
          see('a start')
          setTimeout(async () => {
            see('a timer')
            await cm.with(a2, async () => {
              see('a inner')
              await sleep(5)
              see('a inner after sleep')
            })
            see('a timer after inner')
            chainA.resolve()
          }, 30)
          await sleep(10)
          see('a after sleep')
        })
        assert.equal(cm.active(), ROOT_CONTEXT)
        cm.with(b, async () => {
          see('b start')
          setTimeout(() => {
            cm.with(b2, async () => {
              see('b inner')
              await sleep(1)
              see('b inner after sleep')
              chainB.resolve()
            })
            see('b timer after inner')
          }, 5)
          await sleep(15)
          see('b after sleep')
        })
        assert.equal(cm.active(), ROOT_CONTEXT)
        await Promise.all([chainA.promise, chainB.promise])
        const byLabel = Object.fromEntries(seen)
        assert.equal(seen.length, 11)
        assert.deepEqual(byLabel, {
          'a start': 'a',
          'a timer': 'a',
          'a inner': 'a-inner',
          'a inner after sleep': 'a-inner',
          'a timer after inner': 'a',
          'a after sleep': 'a',
          'b start': 'b',
          'b inner': 'b-inner',
          'b inner after sleep': 'b-inner',
          'b timer after inner': 'b',
          'b after sleep': 'b'
        })
      })

      it('timers sharing a delay keep their own contexts (one set inside with(), two outside)', async (t) => {
        const cm = bridge(backing, t)
        const root = cm.active()
        const inner = root.setValue(Symbol('shared delay'), 23)
        const seen = []
        const all = deferred()
        const record = (label) => () => {
          seen.push([label, cm.active()])
          if (seen.length === 3) all.resolve()
        }
        cm.with(inner, () => setTimeout(record('inside'), 2))
        setTimeout(record('outside, same delay'), 2)
        setTimeout(record('outside, one more'), 3)
        await all.promise
        const byLabel = new Map(seen)
        assert.equal(byLabel.get('inside'), inner)
        assert.equal(byLabel.get('outside, same delay'), root)
        assert.equal(byLabel.get('outside, one more'), root)
      })

      it('two bridges never see each other\'s contexts', async (t) => {
        const cm = bridge(backing, t)
        const other = bridge(backing, t)
        const [mine, theirs] = contexts('mine', 'theirs')
        const later = deferred()
        cm.with(mine, () => {
          assert.equal(cm.active(), mine)
          assert.equal(other.active(), ROOT_CONTEXT)
          other.with(theirs, () => {
            assert.equal(cm.active(), mine)
            assert.equal(other.active(), theirs)
            setTimeout(() => later.resolve([cm.active(), other.active()]), 1)
          })
          assert.equal(other.active(), ROOT_CONTEXT)
        })
        const [seenMine, seenTheirs] = await later.promise
        assert.equal(seenMine, mine)
        assert.equal(seenTheirs, theirs)
      })

      it('runs when disabled, with its context active inside', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        cm.disable()
        assert.equal(cm.with(c1, () => cm.active()), c1)
        assert.equal(cm.active(), ROOT_CONTEXT)
      })
    })

    describe('bind(function)', () => {
      it('the wrapper runs in the bound context whatever calls it', (t) => {
        const cm = bridge(backing, t)
        const [c1, c2] = contexts('c1', 'c2')
        const fn = cm.bind(c1, () => cm.active())
        assert.equal(fn(), c1)
        assert.equal(cm.with(c2, fn), c1)
        assert.equal(cm.active(), ROOT_CONTEXT)
      })

      it('sees the bound Context as it is, values set on its objects later included', (t) => {
        const cm = bridge(backing, t)
        const holder = { title: 'a1' }
        const ctx = ROOT_CONTEXT.setValue(KEY, holder)
        holder.title = 'a2'
        const getTitle = cm.bind(ctx, () => cm.active().getValue(KEY).title)
        assert.equal(getTitle(), 'a2')
      })

      it('forwards this, arguments and return value, and keeps name and length', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const self = {}
        const bound = cm.bind(c1, function named (a, b) {
          return { self: this, args: Array.from(arguments), active: cm.active() }
        })
        assert.equal(bound.name, 'named')
        assert.equal(bound.length, 2)
        assert.deepEqual(bound.call(self, 1, 2, 3), { self, args: [1, 2, 3], active: c1 })
        const error = new Error('through')
        assert.throws(() => cm.bind(c1, () => { throw error })(), (thrown) => thrown === error)
      })

      it('bind(undefined, fn) takes the context active now; bind(null, fn) runs at ROOT', (t) => {
        const cm = bridge(backing, t)
        const [c1, c2] = contexts('c1', 'c2')
        const [captured, rooted] = cm.with(c1, () => [
          cm.bind(undefined, () => cm.active()),
          cm.bind(null, () => cm.active())
        ])
        assert.equal(cm.with(c2, captured), c1)
        assert.equal(cm.with(c2, rooted), ROOT_CONTEXT)
      })

      it('anything that is neither a function nor an EventEmitter comes back unchanged', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const plain = { a: 1 }
        const on = () => {}
        const emitterLike = { on, emit () {} }
        const targets = [plain, c1, emitterLike, null, undefined, 42, 'text', Symbol('s')]
        for (const target of targets) assert.equal(cm.bind(c1, target), target)
        assert.equal(emitterLike.on, on, 'an object with on() that is not an EventEmitter is not patched')
        assert.deepEqual(Object.getOwnPropertyNames(plain), ['a'])
      })

      it('the same, when disabled', (t) => {
        const cm = bridge(backing, t)
        cm.disable()
        const plain = { a: 1 }
        assert.equal(cm.bind(ROOT_CONTEXT, plain), plain)
      })

      it('a bound function still runs in its context when the bridge is disabled', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        cm.disable()
        const fn = cm.bind(c1, () => cm.active())
        assert.equal(fn(), c1)
      })

      it('async work started by a bound function keeps the bound context', async (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const later = deferred()
        const fn = cm.bind(c1, () => {
          setTimeout(() => later.resolve(cm.active()), 10)
        })
        fn()
        assert.equal(await later.promise, c1)
      })

      it('functions bound by two bridges see both contexts', (t) => {
        const cm = bridge(backing, t)
        const other = bridge(backing, t)
        const [mine, theirs] = contexts('mine', 'theirs')
        const fn = other.bind(theirs, cm.bind(mine, () => [cm.active(), other.active()]))
        const [seenMine, seenTheirs] = fn()
        assert.equal(seenMine, mine)
        assert.equal(seenTheirs, theirs)
      })
    })

    describe('bind(EventEmitter)', () => {
      it('returns the same emitter, enabled or disabled', (t) => {
        const cm = bridge(backing, t)
        const ee = new EventEmitter()
        assert.equal(cm.bind(ROOT_CONTEXT, ee), ee)
        cm.disable()
        const other = new EventEmitter()
        assert.equal(cm.bind(ROOT_CONTEXT, other), other)
      })

      it('on(): the listener runs in the bound context; removeListener with the original removes it', (t) => {
        const cm = bridge(backing, t)
        const [c1, c2] = contexts('c1', 'c2')
        const ee = cm.bind(c1, new EventEmitter())
        const seen = []
        const handler = () => {
          seen.push(cm.active())
          ee.removeListener('test', handler)
          seen.push(ee.listeners('test').length)
        }
        ee.on('test', handler)
        assert.equal(ee.listeners('test').length, 1)
        assert.equal(ee.listeners('test')[0], handler)
        cm.with(c2, () => ee.emit('test'))
        assert.deepEqual(seen, [c1, 0])
        assert.equal(ee.emit('test'), false)
      })

      it('removeAllListeners(event) from inside a listener removes it', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const ee = cm.bind(c1, new EventEmitter())
        const seen = []
        const handler = () => {
          seen.push(cm.active())
          ee.removeAllListeners('test')
          seen.push(ee.listeners('test').length)
        }
        ee.on('test', handler)
        ee.on('kept', handler)
        ee.emit('test')
        assert.deepEqual(seen, [c1, 0])
        assert.equal(ee.listeners('kept').length, 1)
      })

      it('removeAllListeners() with no event removes the listeners of every event', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const ee = cm.bind(c1, new EventEmitter())
        const seen = []
        const handler = () => {
          seen.push(cm.active())
          ee.removeAllListeners()
          seen.push(ee.listeners('test').length, ee.listeners('test1').length)
        }
        ee.on('test', handler)
        ee.on('test1', handler)
        assert.equal(ee.listeners('test').length, 1)
        assert.equal(ee.listeners('test1').length, 1)
        ee.emit('test')
        assert.deepEqual(seen, [c1, 0, 0])
        assert.equal(ee.emit('test1'), false)
      })

      it('once(): runs once in the bound context', (t) => {
        const cm = bridge(backing, t)
        const [c1, c2] = contexts('c1', 'c2')
        const ee = cm.bind(c1, new EventEmitter())
        const seen = []
        ee.once('test', (value) => seen.push([value, cm.active()]))
        cm.with(c2, () => {
          ee.emit('test', 'first')
          ee.emit('test', 'second')
        })
        assert.deepEqual(seen, [['first', c1]])
        assert.equal(ee.listeners('test').length, 0)
      })

      it('a once() listener is removed by removeListener with the original', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const ee = cm.bind(c1, new EventEmitter())
        let calls = 0
        function handler () { calls++ }
        ee.once('test', handler)
        assert.equal(ee.listeners('test').length, 1)
        ee.removeListener('test', handler)
        assert.equal(ee.listeners('test').length, 0)
        ee.emit('test')
        assert.equal(calls, 0)
      })

      it('a once() listener is removed by off with the original', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const ee = cm.bind(c1, new EventEmitter())
        let calls = 0
        const handler = () => { calls++ }
        ee.once('test', handler)
        assert.equal(ee.listeners('test').length, 1)
        ee.off('test', handler)
        assert.equal(ee.listeners('test').length, 0)
        ee.emit('test')
        assert.equal(calls, 0)
      })

      it('prependListener and prependOnceListener run in the bound context, in order', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const ee = cm.bind(c1, new EventEmitter())
        const seen = []
        ee.on('test', () => seen.push(['on', cm.active()]))
        ee.prependListener('test', () => seen.push(['prepend', cm.active()]))
        ee.prependOnceListener('test', () => seen.push(['prependOnce', cm.active()]))
        ee.emit('test')
        assert.deepEqual(seen, [['prependOnce', c1], ['prepend', c1], ['on', c1]])
      })

      it('async work started by a listener keeps the bound context', async (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const ee = cm.bind(c1, new EventEmitter())
        const later = deferred()
        const handler = () => {
          const inListener = cm.active()
          setImmediate(() => {
            ee.removeAllListeners('test')
            later.resolve([inListener, cm.active(), ee.listeners('test').length])
          })
        }
        ee.on('test', handler)
        ee.emit('test')
        assert.deepEqual(await later.promise, [c1, c1, 0])
      })

      it('listeners of an emitter bound while the bridge is disabled run in the bound context', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        cm.disable()
        const ee = cm.bind(c1, new EventEmitter())
        const seen = []
        const handler = () => {
          seen.push(cm.active())
          ee.removeListener('test', handler)
        }
        ee.on('test', handler)
        ee.emit('test')
        assert.deepEqual(seen, [c1])
        assert.equal(ee.listeners('test').length, 0)
      })

      it('an emitter bound by two bridges: listeners see both contexts, and removal works through both', (t) => {
        const cm = bridge(backing, t)
        const other = bridge(backing, t)
        const [mine, theirs] = contexts('mine', 'theirs')
        const ee = other.bind(theirs, cm.bind(mine, new EventEmitter()))
        const seen = []
        const handler = () => seen.push([cm.active(), other.active()])
        ee.on('test', handler)
        ee.emit('test')
        assert.equal(seen.length, 1)
        assert.equal(seen[0][0], mine)
        assert.equal(seen[0][1], theirs)
        ee.removeListener('test', handler)
        assert.equal(ee.listenerCount('test'), 0)
      })

      it('a stream (an EventEmitter) bound with bind(): its data listeners see the bound context', async (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const stream = cm.bind(c1, new PassThrough())
        const chunks = []
        stream.on('data', (chunk) => chunks.push([String(chunk), cm.active()]))
        const ended = new Promise((resolve) => stream.on('end', () => resolve(cm.active())))
        setImmediate(() => stream.end('body'))
        assert.equal(await ended, c1)
        assert.deepEqual(chunks, [['body', c1]])
      })
    })

    describe('attach()', () => {
      it('makes a context active until the token is disposed', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        cm.with(ROOT_CONTEXT, () => {
          const token = cm.attach(c1)
          assert.equal(typeof token.dispose, 'function')
          assert.equal(cm.active(), c1)
          token.dispose()
          assert.equal(cm.active(), ROOT_CONTEXT)
        })
      })

      it('nested attach/dispose restore each previous context', (t) => {
        const cm = bridge(backing, t)
        const [c1, c2, c3] = contexts('c1', 'c2', 'c3')
        cm.with(ROOT_CONTEXT, () => {
          const t1 = cm.attach(c1)
          const t2 = cm.attach(c2)
          const t3 = cm.attach(c3)
          assert.equal(cm.active(), c3)
          t3.dispose()
          assert.equal(cm.active(), c2)
          t2.dispose()
          assert.equal(cm.active(), c1)
          t1.dispose()
          assert.equal(cm.active(), ROOT_CONTEXT)
        })
      })

      it('dispose() works once: a second call changes nothing', (t) => {
        const cm = bridge(backing, t)
        const [c1, c2] = contexts('c1', 'c2')
        cm.with(ROOT_CONTEXT, () => {
          const t1 = cm.attach(c1)
          t1.dispose()
          const t2 = cm.attach(c2)
          t1.dispose()
          assert.equal(cm.active(), c2)
          t2.dispose()
          assert.equal(cm.active(), ROOT_CONTEXT)
        })
      })

      it('the token is disposable with Symbol.dispose where the language has it', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        assert.equal(typeof Symbol.dispose, 'symbol', 'Node 20.17+ and 24 have Symbol.dispose')
        cm.with(ROOT_CONTEXT, () => {
          const token = cm.attach(c1)
          token[Symbol.dispose]()
          assert.equal(cm.active(), ROOT_CONTEXT)
        })
      })

      it('the attached context reaches timers and promises; dispose after an await restores', async (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        await cm.with(ROOT_CONTEXT, async () => {
          await immediate()
          const token = cm.attach(c1)
          const inImmediate = await new Promise((resolve) => setImmediate(() => resolve(cm.active())))
          const inThen = await Promise.resolve().then(() => cm.active())
          assert.equal(inImmediate, c1)
          assert.equal(inThen, c1)
          assert.equal(cm.active(), c1)
          token.dispose()
          assert.equal(cm.active(), ROOT_CONTEXT)
        })
      })

      it('with() inside an attached context restores it; attach inside with() is disposed back to with()\'s context', (t) => {
        const cm = bridge(backing, t)
        const [c1, c2, c3] = contexts('c1', 'c2', 'c3')
        cm.with(ROOT_CONTEXT, () => {
          const t1 = cm.attach(c1)
          cm.with(c2, () => {
            assert.equal(cm.active(), c2)
            const t3 = cm.attach(c3)
            assert.equal(cm.active(), c3)
            t3.dispose()
            assert.equal(cm.active(), c2)
          })
          assert.equal(cm.active(), c1)
          assert.equal(cm.bind(c2, () => cm.active())(), c2)
          assert.equal(cm.active(), c1)
          t1.dispose()
          assert.equal(cm.active(), ROOT_CONTEXT)
        })
      })

      it('works when the bridge is disabled', (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        cm.with(ROOT_CONTEXT, () => {
          cm.disable()
          const token = cm.attach(c1)
          assert.equal(cm.active(), c1)
          token.dispose()
          assert.equal(cm.active(), ROOT_CONTEXT)
          cm.enable()
        })
      })

      it('does not leak out of the enclosing with(), even when never disposed', (t) => {
        const cm = bridge(backing, t)
        const [outer, attached] = contexts('outer', 'attached')
        cm.with(outer, () => {
          cm.with(ROOT_CONTEXT, () => { cm.attach(attached) })
          assert.equal(cm.active(), outer)
        })
        assert.equal(cm.active(), ROOT_CONTEXT)
      })

      it('does not leak out of a with() of the context already active, even when never disposed', (t) => {
        const cm = bridge(backing, t)
        const [outer, attached] = contexts('outer', 'attached')
        cm.with(outer, () => {
          cm.with(outer, () => { cm.attach(attached) })
          assert.equal(cm.active(), outer)
          cm.bind(outer, () => { cm.attach(attached) })()
          assert.equal(cm.active(), outer)
        })
        assert.equal(cm.active(), ROOT_CONTEXT)
      })

      it('does not leak into a sibling callback, even when never disposed', async (t) => {
        const cm = bridge(backing, t)
        const [attached] = contexts('attached')
        const sibling = deferred()
        const afterwards = deferred()
        cm.with(ROOT_CONTEXT, () => {
          setImmediate(() => {
            cm.attach(attached)
            setImmediate(() => afterwards.resolve(cm.active()))
          })
          setImmediate(() => sibling.resolve(cm.active()))
        })
        assert.equal(await sibling.promise, ROOT_CONTEXT, 'a callback queued beside it')
        assert.equal(await afterwards.promise, attached, 'work it scheduled carries it')
      })

      it('hazard (documented): in an async function before its first await, it reaches the caller until the caller\'s with() ends', async (t) => {
        const cm = bridge(backing, t)
        const [outer, attached] = contexts('outer', 'attached')
        let done
        const inCaller = cm.with(outer, () => {
          async function attachesEarly () {
            const token = cm.attach(attached)
            await immediate()
            token.dispose()
          }
          done = attachesEarly()
          return cm.active()
        })
        assert.equal(inCaller, attached, 'the caller continues in the attached context')
        assert.equal(cm.active(), ROOT_CONTEXT, 'but only up to the end of its with()')
        await done
      })
    })

    describe('disable()', () => {
      it('after disable() the active context is ROOT, also when switched off inside a callback that had one', async (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        const later = deferred()
        cm.with(c1, () => {
          setTimeout(() => {
            const before = cm.active()
            cm.disable()
            const after = cm.active()
            setTimeout(() => later.resolve([before, after]), 1)
          }, 1)
        })
        const [before, after] = await later.promise
        assert.equal(before, c1)
        assert.equal(after, ROOT_CONTEXT)
        // An unrelated callback, once the one that switched it off is over.
        await immediate()
        assert.equal(await new Promise((resolve) => setImmediate(() => resolve(cm.active()))), ROOT_CONTEXT)
      })

      it('enable() after disable() propagates again', async (t) => {
        const cm = bridge(backing, t)
        const [c1] = contexts('c1')
        cm.disable()
        cm.enable()
        const later = deferred()
        cm.with(c1, () => setTimeout(() => later.resolve(cm.active()), 1))
        assert.equal(await later.promise, c1)
      })
    })
  })
}

describe('OtelContextManager: construction', () => {
  it('runs on a manager from createContextManager()', async (t) => {
    const manager = createContextManager({ feature_flag: { new_async_context: true } })
    const cm = new OtelContextManager({ manager })
    t.after(() => cm.disable())
    const [c1] = contexts('c1')
    const later = deferred()
    cm.with(c1, () => setTimeout(() => later.resolve(cm.active()), 1))
    assert.equal(await later.promise, c1)
    assert.equal(manager.getContext(), null, 'the manager holds the OpenTelemetry Context itself')
    assert.equal(cm.with(c1, () => manager.getContext()), c1)
  })

  it('options: undefined, null and {} make a bridge on its own manager; bad options are TypeErrors', (t) => {
    for (const options of [undefined, null, {}, { manager: undefined }, { manager: null }]) {
      const cm = new OtelContextManager(options)
      t.after(() => cm.disable())
      assert.equal(cm.active(), ROOT_CONTEXT)
    }
    assertTypeError(() => new OtelContextManager('manager'), 'options must be an object')
    assertTypeError(() => new OtelContextManager([]), 'options must be an object')
    assertTypeError(() => new OtelContextManager({ manger: new AsyncLocalContextManager() }), 'unknown option "manger"')
    assertTypeError(() => new OtelContextManager({ manager: 1 }), 'options.manager must be a context manager')
    assertTypeError(() => new OtelContextManager({ manager: { getContext () {} } }), 'options.manager', 'setContext')
    assertTypeError(() => new OtelContextManager({ manager: new OtelContextManager() }), 'options.manager', 'getContext')
  })

  it('each bridge without options has its own manager', (t) => {
    const a = new OtelContextManager()
    const b = new OtelContextManager()
    t.after(() => { a.disable(); b.disable() })
    const [c1] = contexts('c1')
    assert.equal(a.with(c1, () => b.active()), ROOT_CONTEXT)
    assert.equal(b.with(c1, () => a.active()), ROOT_CONTEXT)
  })

  it('implements every method of @opentelemetry/api\'s ContextManager, plus attach', () => {
    const cm = new OtelContextManager()
    for (const method of ['active', 'with', 'bind', 'enable', 'disable', 'attach']) {
      assert.equal(typeof cm[method], 'function', method)
    }
    cm.disable()
  })

  it('uses the application\'s copy of @opentelemetry/api; without one, constructing it is a clear Error', (t) => {
    // A throwaway application: segment-context's lib/ and, in the first run,
    // its own copy of @opentelemetry/api, in its node_modules.
    const app = fs.mkdtempSync(path.join(os.tmpdir(), 'segment-context-otel-'))
    t.after(() => fs.rmSync(app, { recursive: true, force: true }))
    const ours = path.join(app, 'node_modules', 'segment-context')
    fs.cpSync(path.join(__dirname, '..', '..', 'lib'), path.join(ours, 'lib'), { recursive: true })
    let apiDir = path.dirname(require.resolve('@opentelemetry/api'))
    while (!fs.existsSync(path.join(apiDir, 'package.json')) ||
        JSON.parse(fs.readFileSync(path.join(apiDir, 'package.json'), 'utf8')).name !== '@opentelemetry/api') {
      assert.notEqual(path.dirname(apiDir), apiDir, 'found the package directory of @opentelemetry/api')
      apiDir = path.dirname(apiDir)
    }
    const appApi = path.join(app, 'node_modules', '@opentelemetry', 'api')
    fs.cpSync(apiDir, appApi, { recursive: true })
    const script = `
      const { OtelContextManager } = require('segment-context/lib/api/otel-bridge')
      const api = require('@opentelemetry/api')
      const cm = new OtelContextManager()
      const ctx = api.ROOT_CONTEXT.setValue(api.createContextKey('k'), 1)
      console.log(JSON.stringify({
        root: cm.active() === api.ROOT_CONTEXT,
        same: cm.with(ctx, () => cm.active()) === ctx,
        resolved: require.resolve('@opentelemetry/api')
      }))`
    const env = { ...process.env, NODE_PATH: '' }
    const run = () => execFileSync(process.execPath, ['-e', script], { cwd: app, env, encoding: 'utf8' })
    const result = JSON.parse(run())
    assert.deepEqual(result, { root: true, same: true, resolved: require.resolve(path.join(appApi)) })

    // The same application without @opentelemetry/api: requiring the bridge
    // is fine, constructing it says what to install.
    fs.rmSync(path.join(app, 'node_modules', '@opentelemetry'), { recursive: true })
    const missing = `
      const { OtelContextManager } = require('segment-context/lib/api/otel-bridge')
      try { new OtelContextManager(); console.log('constructed') } catch (e) {
        console.log(JSON.stringify({ type: e.constructor.name, code: e.code, message: e.message }))
      }`
    const error = JSON.parse(execFileSync(process.execPath, ['-e', missing], { cwd: app, env, encoding: 'utf8' }))
    assert.equal(error.type, 'Error')
    assert.equal(error.code, 'SEGMENT_CONTEXT_OTEL_API_MISSING')
    assert.match(error.message, /@opentelemetry\/api/)
    assert.match(error.message, /npm install @opentelemetry\/api/)
  })
})
