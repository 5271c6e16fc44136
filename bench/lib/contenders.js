'use strict'

// The context managers compared, built the same way in every process that
// measures them. Each contender has:
//   id, label, available (false with a `reason` when it cannot run here),
//   ctxA, ctxB        two distinct contexts of the kind this manager stores
//                     (segment handles for ours and raw ALS, an OpenTelemetry
//                     Context, a New Relic Context object),
//   get()             the current context,
//   run(ctx, fn)      fn() with ctx current,
//   set(ctx)          the imperative set (null when the API has none),
//   bind(fn, ctx)     a bound function (null when the manager has none),
//   scope, ops        what the compiled batch loops of context-ops.js call,
//   propagates        false when the contender does not carry contexts
//                     across async boundaries (legacy with hooks off),
//   activate()/deactivate() for contenders that install process-wide hooks
//                     (the legacy manager with async hooks on), so that
//                     they tax only their own measurements.

const { AsyncLocalStorage } = require('node:async_hooks')
const path = require('node:path')
const fs = require('node:fs')
const semver = require('semver')

const ReflectApply = Reflect.apply
const root = path.join(__dirname, '..', '..')

/**
 * Does Node `version` ("v22.1.0" or "22.1.0") satisfy an engines range
 * ("^18.19.0 || >=20.6.0", ">=14", "*")? semver's answer; prereleases count
 * as their release, as npm does for engines.
 */
function satisfies (version, range) {
  return semver.satisfies(version, range, { includePrerelease: true })
}

function pkgInfo (name) {
  const file = path.join(root, 'node_modules', name, 'package.json')
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
  return { version: pkg.version, engines: (pkg.engines && pkg.engines.node) || '*' }
}

function fn0 () { return 1 }

/** The store and the live handles the contexts of ours and raw ALS are made of. */
function makeHandles () {
  const { SegmentStore } = require('../..')
  const store = new SegmentStore()
  const txn = store.startTransaction('GET /bench')
  const a = store.startSegment(txn, 'outer')
  const b = store.startSegment(txn, 'inner')
  return { store, txn, a, b }
}

function rawAls (h) {
  const als = new AsyncLocalStorage()
  function rawBind (ctx, fn) {
    return function () { return als.run(ctx, ReflectApply, fn, this, arguments) }
  }
  return {
    id: 'raw-als',
    label: 'raw AsyncLocalStorage',
    floor: true,
    available: true,
    ctxA: h.a,
    ctxB: h.b,
    get: () => als.getStore(),
    run: (ctx, fn) => als.run(ctx, fn),
    set: (ctx) => als.enterWith(ctx),
    bind: (fn, ctx) => rawBind(ctx, fn),
    scope: { als, rawBind },
    ops: {
      get: 'sink += als.getStore() === ctxA ? 1 : 0',
      run: 'sink += als.run(ctxB, fn0)',
      set: 'als.enterWith((i & 1) === 0 ? ctxB : ctxA); sink++',
      bindCreateCall: 'sink += rawBind(ctxB, fn0)()',
      bindCall: { setup: 'const bound = rawBind(ctxB, fn0)', body: 'sink += bound()' }
    },
    note: 'bound function: a closure calling als.run(ctx, Reflect.apply, fn, this, arguments)'
  }
}

function rawAlsBind (h) {
  // AsyncLocalStorage.bind(fn) captures the current context: binding to an
  // explicit one takes a run around it (counted in "create + one call").
  const als = new AsyncLocalStorage()
  const ALSbind = AsyncLocalStorage.bind
  const bindIn = (ctx, fn) => als.run(ctx, ALSbind, fn)
  return {
    id: 'raw-als-bind',
    label: 'raw AsyncLocalStorage.bind',
    floor: true,
    available: true,
    bindOnly: true,
    ctxA: h.a,
    ctxB: h.b,
    get: () => als.getStore(),
    run: (ctx, fn) => als.run(ctx, fn),
    set: null,
    bind: (fn, ctx) => bindIn(ctx, fn),
    scope: { als, bindIn },
    ops: {
      bindCreateCall: 'sink += bindIn(ctxB, fn0)()',
      bindCall: { setup: 'const bound = bindIn(ctxB, fn0)', body: 'sink += bound()' }
    },
    note: 'bound function only: AsyncLocalStorage.bind(fn) made inside als.run(ctx)'
  }
}

function otel (line) {
  const name = line === 2 ? 'otel-context-async-hooks-2' : 'otel-context-async-hooks-latest'
  const info = pkgInfo(name)
  const label = `OpenTelemetry AsyncLocalStorageContextManager ${info.version}`
  const id = line === 2 ? 'otel-2' : 'otel-latest'
  if (!satisfies(process.version, info.engines)) {
    return { id, label, available: false, reason: `not available on this Node (@opentelemetry/context-async-hooks ${info.version} needs node ${info.engines})` }
  }
  let Manager, api
  try {
    Manager = require(name).AsyncLocalStorageContextManager
    api = require('@opentelemetry/api')
  } catch (e) {
    return { id, label, available: false, reason: `does not load on this Node: ${e.message}` }
  }
  const m = new Manager().enable()
  const key = api.createContextKey('segment')
  const ctxA = api.ROOT_CONTEXT.setValue(key, 1)
  const ctxB = api.ROOT_CONTEXT.setValue(key, 2)
  return {
    id,
    label,
    available: true,
    ctxA,
    ctxB,
    get: () => m.active(),
    run: (ctx, fn) => m.with(ctx, fn),
    set: (ctx) => m.attach(ctx),
    bind: (fn, ctx) => m.bind(ctx, fn),
    scope: { m },
    ops: {
      get: 'sink += m.active() === ctxA ? 1 : 0',
      run: 'sink += m.with(ctxB, fn0)',
      set: 'sink += m.attach((i & 1) === 0 ? ctxB : ctxA) === undefined ? 0 : 1',
      bindCreateCall: 'sink += m.bind(ctxB, fn0)()',
      bindCall: { setup: 'const bound = m.bind(ctxB, fn0)', body: 'sink += bound()' }
    },
    note: 'contexts are OpenTelemetry Context objects; setContext = attach(ctx) (experimental), token dropped'
  }
}

function newRelic () {
  const label = 'New Relic AsyncLocalContextManager'
  let Manager, Context, version
  // Loading the agent's modules starts its logger, which would otherwise
  // write newrelic_agent.log into the working directory.
  process.env.NEW_RELIC_LOG_ENABLED ??= 'false'
  process.env.NEW_RELIC_NO_CONFIG_FILE ??= 'true'
  try {
    Manager = require('newrelic/lib/context-manager/async-local-context-manager.js')
    Context = require('newrelic/lib/context-manager/context.js')
    version = pkgInfo('newrelic').version
  } catch (e) {
    return { id: 'newrelic', label, available: false, reason: `does not load on this Node: ${e.message}` }
  }
  const m = new Manager(false)
  const transaction = { id: 't1' }
  const ctxA = new Context({ transaction, segment: { id: 's1' } })
  const ctxB = new Context({ transaction, segment: { id: 's2' } })
  return {
    id: 'newrelic',
    label: `${label} (newrelic ${version})`,
    available: true,
    ctxA,
    ctxB,
    get: () => m.getContext(),
    run: (ctx, fn) => m.runInContext(ctx, fn),
    set: (ctx) => m.setContext(ctx),
    bind: null,
    scope: { m },
    ops: {
      get: 'sink += m.getContext() === ctxA ? 1 : 0',
      run: 'sink += m.runInContext(ctxB, fn0)',
      set: 'm.setContext((i & 1) === 0 ? ctxB : ctxA); sink++',
      bindCreateCall: null,
      bindCall: null
    },
    noBindReason: 'not in this manager (New Relic binds on its tracer)',
    note: 'contexts are New Relic Context objects'
  }
}

function ours (id, label, m, h, extra = {}) {
  return {
    id,
    label,
    available: true,
    ours: true,
    ctxA: h.a,
    ctxB: h.b,
    manager: m,
    get: () => m.getContext(),
    run: (ctx, fn) => m.runInContext(ctx, fn),
    set: (ctx) => m.setContext(ctx),
    bind: (fn, ctx) => m.bindFunction(fn, ctx),
    scope: { m },
    ops: {
      get: 'sink += m.getContext() === ctxA ? 1 : 0',
      run: 'sink += m.runInContext(ctxB, fn0)',
      set: 'm.setContext((i & 1) === 0 ? ctxB : ctxA); sink++',
      bindCreateCall: 'sink += m.bindFunction(fn0, ctxB)()',
      bindCall: { setup: 'const bound = m.bindFunction(fn0, ctxB)', body: 'sink += bound()' }
    },
    ...extra
  }
}

/**
 * Every contender, in table order. `which` limits the list to those ids.
 * Contenders that are not available carry `reason` and nothing else.
 */
function makeContenders (which) {
  const lib = require('../..')
  const h = makeHandles()
  const list = []
  const want = (id) => !which || which.includes(id)
  if (want('raw-als')) list.push(rawAls(h))
  if (want('raw-als-bind')) list.push(rawAlsBind(h))
  for (const id of ['otel-2', 'otel-latest']) {
    if (!want(id)) continue
    list.push(unavailable(id) || otel(id === 'otel-2' ? 2 : 3))
  }
  if (want('newrelic')) list.push(newRelic())
  if (want('ours-als-store')) {
    list.push(ours('ours-als-store', 'ours: AsyncLocalContextManager + store', new lib.AsyncLocalContextManager({ store: h.store }), h))
  }
  if (want('ours-als-hook')) {
    // An agent's object contexts ({ transaction, segment }, as New Relic's
    // and Elastic's), killed when stale by the agent's own isActive hook.
    const a = { transaction: h.a, segment: h.a }
    const b = { transaction: h.b, segment: h.b }
    const m = new lib.AsyncLocalContextManager({ isActive: (ctx) => h.store.isActive(ctx.segment) })
    list.push({ ...ours('ours-als-hook', 'ours: AsyncLocalContextManager, object contexts + isActive hook', m, h), ctxA: a, ctxB: b })
  }
  if (want('ours-als-unchecked')) {
    // runInContext less its argument checks (the manager's own _enter): what
    // the checks on the agent's hottest path cost. Not a public API.
    const m = new lib.AsyncLocalContextManager({ store: h.store })
    const c = ours('ours-als-unchecked', 'ours: AsyncLocalContextManager + store, runInContext without its argument checks', m, h)
    c.scope = { m, none: Object.freeze([]) }
    c.ops = { run: 'sink += m._enter(ctxB, fn0, undefined, none)' }
    c.note = 'internal _enter: isolates the cost of runInContext\'s checks'
    list.push(c)
  }
  if (want('ours-als')) {
    list.push(ours('ours-als', 'ours: AsyncLocalContextManager, no store', new lib.AsyncLocalContextManager(), h))
  }
  if (want('ours-legacy-on')) {
    const m = new lib.LegacyContextManager({ store: h.store })
    m.disable() // switched on only while its own measurements run
    list.push(ours('ours-legacy-on', 'ours: LegacyContextManager + store, async hooks on', m, h, {
      activate: () => m.enable(),
      deactivate: () => m.disable()
    }))
  }
  if (want('ours-legacy-off')) {
    const m = new lib.LegacyContextManager({ store: h.store, legacy: { asyncHooks: false } })
    list.push(ours('ours-legacy-off', 'ours: LegacyContextManager + store, async hooks off', m, h, {
      propagates: false,
      note: 'a plain slot: nothing propagates across async boundaries'
    }))
  }
  for (const c of list) {
    if (c.available && c.propagates === undefined) c.propagates = true
  }
  return { contenders: list, handles: h, fn0 }
}

/**
 * Without building anything: null when contender `id` can be measured on
 * this Node, or the row to show instead ({ id, label, available: false,
 * reason }). Lets the orchestrator skip a process for a row that is "not
 * available on this Node".
 */
function unavailable (id) {
  if (id !== 'otel-2' && id !== 'otel-latest') return null
  const latest = pkgInfo('otel-context-async-hooks-latest')
  const two = pkgInfo('otel-context-async-hooks-2')
  const label = (v) => `OpenTelemetry AsyncLocalStorageContextManager ${v}`
  if (id === 'otel-latest' && !satisfies(process.version, latest.engines)) {
    return { id, label: label(latest.version), available: false, reason: `not available on this Node (@opentelemetry/context-async-hooks ${latest.version} needs node ${latest.engines})` }
  }
  if (id === 'otel-2' && satisfies(process.version, latest.engines)) {
    return { id, label: label(two.version), available: false, reason: 'not measured on this Node (the current line is)' }
  }
  if (id === 'otel-2' && !satisfies(process.version, two.engines)) {
    return { id, label: label(two.version), available: false, reason: `not available on this Node (needs node ${two.engines})` }
  }
  return null
}

const ALL_IDS = ['raw-als', 'raw-als-bind', 'otel-2', 'otel-latest', 'newrelic', 'ours-als-store', 'ours-als-hook', 'ours-als-unchecked', 'ours-als', 'ours-legacy-on', 'ours-legacy-off']

module.exports = { makeContenders, unavailable, satisfies, pkgInfo, ALL_IDS, fn0 }
