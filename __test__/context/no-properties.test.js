'use strict'

// Row 9 in depth: the managers write no property onto a user's functions,
// associated objects, promises or resources, and nothing enumerable or
// symbol-keyed onto bound emitters.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { EventEmitter } = require('node:events')
const { AsyncResource } = require('node:async_hooks')
const { execFileSync } = require('node:child_process')
const { KINDS, createManager, deferred, immediate } = require('../helpers/harness')
const { isFrameBased } = require('../../lib/context/als-manager')
const { promiseMode } = require('../../lib/context/legacy-hook')

/** Everything an object shows of its own properties. */
function footprint (value) {
  const symbols = Object.getOwnPropertySymbols(value)
  return {
    names: Object.getOwnPropertyNames(value),
    keys: Object.keys(value),
    symbols: symbols.map(String),
    json: typeof value === 'function' ? undefined : JSON.stringify(value)
  }
}

// The symbols Node itself puts on async resources: async_hooks' ids once any
// hook is enabled, and the store of each async_hooks-based AsyncLocalStorage
// (Node 20). The managers add none of their own.
const NODE_SYMBOLS = new Set(['Symbol(async_id_symbol)', 'Symbol(trigger_async_id_symbol)', 'Symbol(kResourceStore)'])

for (const kind of KINDS) {
  describe(`${kind.name}: no properties`, () => {
    it('functions given to bindFunction gain no property (frozen functions can be bound and called)', (t) => {
      const m = createManager(kind, t)
      const named = function named (a, b) { return [a, b, m.getContext()] }
      named.custom = 'kept'
      const cases = [named, (a) => a, class Thing {}, async function asyncFn () {}, Object.freeze(function frozen (x) { return m.getContext() })]
      for (const fn of cases) {
        const before = footprint(fn)
        const descriptors = Object.getOwnPropertyDescriptors(fn)
        const bound = m.bindFunction(fn, 'c')
        if (!/^class/.test(Function.prototype.toString.call(fn))) m.runInContext('caller', () => bound(1, 2))
        m.bindFunction(fn)
        assert.deepEqual(footprint(fn), before, fn.name)
        assert.deepEqual(Object.getOwnPropertyDescriptors(fn), descriptors, fn.name)
      }
      assert.equal(m.bindFunction(cases[4], 'frozen ctx')(), 'frozen ctx')
    })

    it('associated objects gain no property (frozen objects can be associated)', (t) => {
      const m = createManager(kind, t)
      const plain = { a: 1 }
      const frozen = Object.freeze({ b: 2 })
      const fn = function () {}
      for (const object of [plain, frozen, fn, [1, 2], new Map()]) {
        const before = footprint(object)
        m.associate(object, 'c')
        assert.equal(m.contextOf(object), 'c')
        m.associate(object, null)
        m.associate(object, 'again')
        assert.deepEqual(footprint(object), before)
      }
    })

    it('promises made, chained and awaited in a context gain no string-keyed property and no symbol of ours', async (t) => {
      const m = createManager(kind, t)
      const promises = []
      const done = deferred()
      m.runInContext('c', async () => {
        const resolved = Promise.resolve(1)
        const chained = resolved.then((x) => x + 1).catch(() => {}).finally(() => {})
        const pending = new Promise((resolve) => setImmediate(resolve))
        const all = Promise.all([resolved, chained, pending])
        const asyncResult = (async () => { await pending; return 1 })()
        promises.push(resolved, chained, pending, all, asyncResult)
        await all
        await asyncResult
        done.resolve()
      })
      await done.promise
      const outside = Promise.resolve(1)
      await outside
      await immediate()
      for (const promise of promises) {
        const print = footprint(promise)
        assert.deepEqual(print.names, [])
        assert.deepEqual(print.keys, [])
        assert.equal(print.json, '{}')
        for (const symbol of print.symbols) assert.ok(NODE_SYMBOLS.has(symbol), `${symbol} is Node's own`)
        assert.deepEqual(print, footprint(outside), 'same as a promise made outside any context')
      }
    })

    it('in a process with no other async hook, promises carry only what Node itself adds', () => {
      // node:test enables an async hook of its own, so look from a child process.
      const script = `
        const { ${kind.Manager.name} } = require(${JSON.stringify(require.resolve(`../../lib/context/${kind.key}-manager`))})
        const m = new ${kind.Manager.name}()
        m.runInContext('c', () => {
          const p = Promise.resolve().then(() => {})
          process.stdout.write(JSON.stringify(Object.getOwnPropertySymbols(p).map(String)))
        })`
      const symbols = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))
      const expected = {
        // AsyncContextFrame keeps contexts off resources and needs no hook.
        als: isFrameBased() ? [] : ['Symbol(async_id_symbol)', 'Symbol(trigger_async_id_symbol)', 'Symbol(kResourceStore)'],
        // In 'promise-hooks' mode the async hook leaves promises out: Node
        // gives them no async ids.
        legacy: promiseMode() === 'promise-hooks' ? [] : ['Symbol(async_id_symbol)', 'Symbol(trigger_async_id_symbol)']
      }
      assert.deepEqual(symbols, expected[kind.key])
    })

    it('async resources made in a context look like those made outside', (t) => {
      const m = createManager(kind, t)
      const inside = m.runInContext('c', () => [new AsyncResource('Mine'), setTimeout(() => {}, 1000), setImmediate(() => {})])
      const outside = [new AsyncResource('Mine'), setTimeout(() => {}, 1000), setImmediate(() => {})]
      clearTimeout(inside[1])
      clearTimeout(outside[1])
      clearImmediate(inside[2])
      clearImmediate(outside[2])
      for (let i = 0; i < inside.length; i++) {
        assert.deepEqual(Object.getOwnPropertyNames(inside[i]), Object.getOwnPropertyNames(outside[i]))
        assert.deepEqual(Object.getOwnPropertySymbols(inside[i]).map(String), Object.getOwnPropertySymbols(outside[i]).map(String))
      }
    })

    it('bound emitters gain no own property at all; their prototype inherits from the original', (t) => {
      const m = createManager(kind, t)
      const ee = new EventEmitter()
      const twin = new EventEmitter()
      const names = Object.getOwnPropertyNames(ee)
      const before = footprint(ee)
      m.bindEmitter(ee, 'c')
      m.bindEmitter(ee, 'again')
      assert.deepEqual(footprint(ee).keys, before.keys)
      assert.deepEqual(footprint(ee).symbols, before.symbols)
      assert.equal(footprint(ee).json, before.json)
      assert.deepEqual(Object.getOwnPropertyNames(ee), names, 'no own property added, enumerable or not')
      assert.ok(ee instanceof EventEmitter)
      assert.equal(ee.constructor, EventEmitter)
      assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(ee)), EventEmitter.prototype, 'the patched prototype inherits from the original')
      assert.equal(Object.getPrototypeOf(twin), EventEmitter.prototype, 'an unbound emitter is untouched')
      const other = new EventEmitter()
      m.bindEmitter(other, 'c')
      assert.equal(Object.getPrototypeOf(other), Object.getPrototypeOf(ee), 'one patched prototype per manager and original prototype')
      const listener = () => {}
      for (const emitter of [ee, twin]) {
        emitter.on('x', listener)
        emitter.once('y', listener)
        emitter.prependListener('z', listener)
        emitter.emit('y')
        emitter.removeListener('z', listener)
      }
      assert.deepEqual(footprint(ee).keys, footprint(twin).keys)
      assert.deepEqual(footprint(ee).symbols, footprint(twin).symbols)
      assert.equal(footprint(ee).json, footprint(twin).json)
    })

    it('an emitter that has own enumerable methods keeps them enumerable', (t) => {
      const m = createManager(kind, t)
      const base = new EventEmitter()
      const custom = { on: (...args) => base.on(...args), removeListener: (...args) => base.removeListener(...args), label: 'x' }
      const keys = Object.keys(custom)
      m.bindEmitter(custom, 'c')
      assert.deepEqual(Object.keys(custom), keys)
      let seen
      const listener = () => { seen = m.getContext() }
      custom.on('x', listener)
      base.emit('x')
      assert.equal(seen, 'c')
    })
  })
}
