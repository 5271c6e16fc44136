'use strict'

// The legacy manager's hook table (async id → context) empties by itself, no
// garbage collection needed: a million promises, timers, immediates, ticks,
// intervals, sockets and resources leave zero entries once they are done.
// Where the shared hook takes promises from v8's promise hooks
// ('promise-hooks' mode), a promise's context is kept by the promise itself,
// not in the table: it goes when the promise is collected.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { createHook, AsyncResource } = require('node:async_hooks')
const net = require('node:net')
const { execFileSync } = require('node:child_process')
const { promiseMode } = require('../../lib/context/legacy-hook')
const { KINDS, createManager, deferred, immediate } = require('../helpers/harness')

const legacy = KINDS.find((kind) => kind.key === 'legacy')

async function settleTurns () {
  for (let i = 0; i < 3; i++) await immediate()
}

/**
 * One unit of promise work: a chain, a promise settled by an immediate, an
 * async function with two awaits, a rejection caught, and Promise.all over
 * them, chained once more from a promise made elsewhere.
 */
function unit (i, outsider) {
  const a = Promise.resolve(i)
  const chain = a.then((x) => x + 1).then((x) => x * 2)
  const later = new Promise((resolve) => setImmediate(resolve, i))
  const asyncFn = (async () => {
    await chain
    await later
    return i
  })()
  const caught = Promise.reject(new Error('expected')).catch(() => i)
  return Promise.all([a, chain, later, asyncFn, caught, outsider.then(() => i)]).then(() => undefined)
}

/** A server, one client connection to it, both closed; then `done`. */
function connectOnce (done) {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => socket.end('bye')).listen(0, '127.0.0.1', () => {
      const client = net.connect(server.address().port, '127.0.0.1')
      client.resume()
      client.on('close', () => server.close(() => {
        done()
        resolve()
      }))
    })
  })
}

describe('LegacyContextManager: the hook table empties', () => {
  it('the shared hook leaves promises to the promise hooks exactly where an async hook can leave them out', () => {
    // What this Node does with trackPromises: false, seen from a hook of its own.
    let promiseInits = 0
    const probe = createHook({ trackPromises: false, init (asyncId, type) { if (type === 'PROMISE') promiseInits++ } }).enable()
    Promise.resolve()
    probe.disable()
    assert.equal(promiseMode(), promiseInits === 0 ? 'promise-hooks' : 'async-hooks', `${process.version}: ${promiseInits} promise inits`)
  })

  it('a million promises, some made in contexts, some not, leave no entry once settled', async (t) => {
    const m = createManager(legacy, t)
    let promises = 0
    const counter = createHook({ init (asyncId, type) { if (type === 'PROMISE') promises++ } }).enable()
    t.after(() => counter.disable())
    const outsider = Promise.resolve()
    let wave = 0
    let peak = 0
    // eslint-disable-next-line no-unmodified-loop-condition -- the hook above counts them
    while (promises < 1e6) {
      const work = []
      for (let i = 0; i < 1000; i++) {
        const n = wave * 1000 + i
        if (n % 3 === 0) work.push(unit(n, outsider))
        else if (n % 3 === 1) work.push(m.runInContext(n, unit, null, [n, outsider]))
        // Made in a context, continued from none: uses the parent fallback.
        else work.push(m.runInContext(`ctx ${n}`, () => Promise.resolve(n)).then(() => unit(n, outsider)))
      }
      peak = Math.max(peak, m.hookTableSize)
      await Promise.all(work)
      wave++
    }
    counter.disable()
    await settleTurns()
    assert.ok(promises >= 1e6, `${promises} promises`)
    if (promiseMode() === 'async-hooks') {
      assert.ok(peak > 1000, `the table held promises (peak ${peak})`)
    } else {
      // One immediate a unit; the promises are not in it.
      assert.ok(peak > 0 && peak <= 1000, `the table held the immediates only (peak ${peak})`)
    }
    assert.equal(m.hookTableSize, 0)
  })

  it('a promise still pending keeps its continuation\'s context until it settles', async (t) => {
    const m = createManager(legacy, t)
    const gate = deferred()
    const seen = deferred()
    m.runInContext('c', () => gate.promise.then(() => seen.resolve(m.getContext())))
    await settleTurns()
    // By async id in the table, or by the promise in 'promise-hooks' mode.
    assert.equal(m.hookTableSize, promiseMode() === 'async-hooks' ? 1 : 0)
    gate.resolve()
    assert.equal(await seen.promise, 'c')
    await settleTurns()
    assert.equal(m.hookTableSize, 0)
  })

  it('a promise that never settles holds its context only as long as the promise lives', () => {
    // A fresh process, for gc() and no other hook.
    const script = `
      const { LegacyContextManager } = require(${JSON.stringify(require.resolve('../../lib/context/legacy-manager'))})
      const m = new LegacyContextManager()
      const refs = []
      for (let i = 0; i < 1000; i++) {
        const ctx = { i }
        refs.push(new WeakRef(ctx))
        m.runInContext(ctx, () => { new Promise(() => {}).then(() => {}) })
      }
      const pending = m.hookTableSize
      ;(async () => {
        for (let i = 0; i < 5; i++) {
          globalThis.gc()
          await new Promise((resolve) => setImmediate(resolve))
        }
        const alive = refs.filter((r) => r.deref() !== undefined).length
        process.stdout.write(JSON.stringify({ pending, alive, after: m.hookTableSize }))
      })()`
    const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' }))
    // 'async-hooks' mode: two entries a context (the promise and its
    // continuation), until destroy; 'promise-hooks' mode: none.
    assert.equal(out.pending, promiseMode() === 'async-hooks' ? 2000 : 0)
    assert.deepEqual({ alive: out.alive, after: out.after }, { alive: 0, after: 0 }, 'every context collected with its promise')
  })

  it('timers, immediates, ticks, intervals, resources and sockets leave no entry once done', async (t) => {
    // The first connection of the process creates a DNS channel that lives as
    // long as the process (its entry rightly stays): make it outside the test.
    await connectOnce(() => {})
    const m = createManager(legacy, t)
    const done = deferred()
    let pending = 0
    const finish = () => { if (--pending === 0) done.resolve() }
    const cleared = []
    m.runInContext('c', () => {
      for (let i = 0; i < 1000; i++) {
        pending += 3
        setTimeout(finish, i % 5)
        setImmediate(finish)
        process.nextTick(finish)
        cleared.push(setTimeout(() => {}, 10000), setInterval(() => {}, 10000))
      }
      pending++
      let ticks = 0
      const interval = setInterval(() => {
        if (++ticks === 3) {
          clearInterval(interval)
          finish()
        }
      }, 1)
      const resource = new AsyncResource('TableTest', { requireManualDestroy: true })
      resource.runInAsyncScope(() => {})
      resource.emitDestroy()
      pending++
      connectOnce(finish)
    })
    assert.ok(m.hookTableSize > 5000, `entries while pending: ${m.hookTableSize}`)
    for (const timer of cleared) clearTimeout(timer)
    await done.promise
    await settleTurns()
    assert.equal(m.hookTableSize, 0)
  })
})
