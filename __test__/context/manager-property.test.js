'use strict'

// Model-checked managers, driven by fast-check. A random program is a tree
// of runInContext(T_i, …), runAndEnd (a new segment of T_i, its function
// returning, throwing, or fulfilling or rejecting a promise after a hop),
// runWithoutContext, setContext, bindFunction (the
// wrapper called later from another context), setTimeout / setImmediate /
// process.nextTick, promise chains (.then attached inside a context), async
// functions awaiting various promises, and promises made in one context and
// chained from another. It runs against each manager with a real store; a
// model derived from ../shared/reference/semantics.md predicts the context
// every callback observes, and every observation is compared. A runAndEnd
// segment is open while its function runs and until its promise settles,
// and ended once it has returned, thrown or settled (read from the store).
//
// The model follows the registration point (rows D-K, O, P) where both
// managers agree, and models the legacy manager's promise-parent fallback
// precisely where they differ on purpose (rows A-C, and an await in a
// contextless async function on a promise made in a context). After each
// program the transactions end, and every bound function reads null (§2);
// the legacy hook table drains to zero.
//
// SEGMENT_CONTEXT_LONG=1 runs 20 times as many programs (helpers/long.js).

// First: the contextless interval must exist before any context does.
const { contextless } = require('../helpers/contextless')

const test = require('node:test')
const assert = require('node:assert/strict')
const fc = require('fast-check')
const { AsyncResource } = require('node:async_hooks')
const { EventEmitter } = require('node:events')
const { SegmentStore } = require('../..')
const { KINDS, immediate } = require('../helpers/harness')
const { fcParams, factor } = require('../helpers/long')

const N_TXN = 3

// ---------------------------------------------------------------------------
// Programs

const ctxArb = fc.nat({ max: N_TXN - 1 })

/**
 * A body: a list of nodes run synchronously in order. `sync` bodies (callbacks,
 * run bodies) may call setContext; the body after an `await` may not (on the
 * ALS manager that would be enterWith inside an async function).
 */
const bodies = new Map()
function bodyArb (depth, sync) {
  const key = `${depth}:${sync}`
  if (bodies.has(key)) return bodies.get(key)
  const leaves = [{ arbitrary: fc.constant({ t: 'obs' }), weight: 3 }]
  if (sync) leaves.push({ arbitrary: ctxArb.map((k) => ({ t: 'set', k })), weight: 1 })
  let node
  if (depth === 0) {
    node = fc.oneof(...leaves)
  } else {
    const sub = bodyArb(depth - 1, true)
    const after = bodyArb(depth - 1, false)
    node = fc.oneof(
      ...leaves,
      { arbitrary: fc.record({ t: fc.constant('run'), k: ctxArb, throws: fc.boolean(), body: sub }), weight: 3 },
      { arbitrary: fc.record({ t: fc.constant('without'), body: sub }), weight: 1 },
      { arbitrary: fc.record({ t: fc.constant('runEnd'), k: ctxArb, throws: fc.boolean(), body: sub }), weight: 2 },
      {
        // An async function: no setContext in it (see bodyArb's comment).
        arbitrary: fc.record({ t: fc.constant('runEndAsync'), k: ctxArb, rejects: fc.boolean(), body: after, late: after }),
        weight: 2
      },
      {
        arbitrary: fc.record({
          t: fc.constant('bind'),
          to: fc.oneof(fc.constant('current'), fc.constant('null'), ctxArb),
          via: fc.oneof(fc.constant('sync'), fc.constant('contextless'), fc.constant('emitter'), ctxArb),
          body: sub
        }),
        weight: 2
      },
      { arbitrary: fc.record({ t: fc.constantFrom('timeout', 'immediate', 'tick', 'interval'), body: sub }), weight: 3 },
      { arbitrary: fc.record({ t: fc.constant('then'), links: fc.array(sub, { minLength: 1, maxLength: 3 }) }), weight: 2 },
      {
        arbitrary: fc.record({
          t: fc.constant('await'),
          steps: fc.array(fc.record({
            kind: fc.oneof(fc.constantFrom('resolved', 'timer', 'contextless', 'immediate'), ctxArb),
            body: after
          }), { minLength: 1, maxLength: 3 })
        }),
        weight: 2
      },
      {
        // Row O: an AsyncResource runs its callbacks in the context it was made in.
        arbitrary: fc.record({ t: fc.constant('resource'), via: fc.oneof(fc.constant('sync'), fc.constant('contextless'), ctxArb), body: sub }),
        weight: 1
      },
      {
        arbitrary: fc.record({
          t: fc.constant('cross'),
          pending: fc.boolean(),
          attach: fc.oneof(fc.constant('contextless'), ctxArb),
          resolveFrom: fc.oneof(fc.constant('contextless'), ctxArb),
          body: sub
        }),
        weight: 2
      }
    )
  }
  const arb = fc.array(node, { maxLength: depth === 0 ? 2 : 3 })
  bodies.set(key, arb)
  return arb
}

const programArb = fc.array(bodyArb(3, true), { minLength: 1, maxLength: 3 })

/** Numbers every node, so observations can be named. */
function number (program) {
  let next = 0
  const walk = (body) => {
    for (const node of body) {
      node.id = next++
      if (node.body) walk(node.body)
      if (node.links) node.links.forEach(walk)
      if (node.steps) node.steps.forEach((s) => walk(s.body))
      if (node.late) walk(node.late)
    }
  }
  program.forEach(walk)
  return program
}

// ---------------------------------------------------------------------------
// The model: which context each observation must see.

/**
 * expected: Map of observation name → index of T (0..2), the label of a
 * runAndEnd node's segment (`S#id`), or null.
 */
function predict (program, legacy) {
  const expected = new Map()
  const body = (nodes, cur) => {
    for (const node of nodes) {
      const at = (suffix) => `${node.t}#${node.id}${suffix}`
      switch (node.t) {
        case 'obs': expected.set(at(''), cur); break
        case 'set': cur = node.k; break
        case 'run':
          expected.set(at(''), node.k)
          body(node.body, node.k)
          expected.set(at(':after'), cur) // restored, also when it threw
          break
        case 'without':
          expected.set(at(''), null)
          body(node.body, null)
          expected.set(at(':after'), cur)
          break
        case 'runEnd': case 'runEndAsync': {
          const seg = `S#${node.id}`
          expected.set(at(''), seg)
          body(node.body, seg)
          if (node.late) {
            expected.set(at(':late'), seg) // after an await inside it
            body(node.late, seg)
          }
          expected.set(at(':after'), cur)
          break
        }
        case 'bind': {
          const to = node.to === 'current' ? cur : node.to === 'null' ? null : node.to
          expected.set(at(''), to)
          body(node.body, to)
          break
        }
        case 'timeout': case 'immediate': case 'tick': case 'interval': case 'resource':
          expected.set(at(''), cur)
          body(node.body, cur)
          break
        case 'then':
          // Each link is attached where the chain is built (row J: a
          // setContext in one link does not reach the next).
          node.links.forEach((link, i) => {
            expected.set(at(`:${i}`), cur)
            body(link, cur)
          })
          break
        case 'await': {
          let c = cur
          node.steps.forEach((step, i) => {
            // Legacy: a contextless await on a promise made in T_k falls
            // back to T_k (the parent promise), and so does the rest of
            // the async function. ALS: the context of the call, always.
            if (legacy && c === null && typeof step.kind === 'number') c = step.kind
            expected.set(at(`:${i}`), c)
            body(step.body, c)
          })
          break
        }
        case 'cross': {
          // p made here (in cur); .then attached later in `attach`.
          const y = node.attach === 'contextless' ? null : node.attach
          const want = legacy && y === null ? cur : y // rows A, B (legacy: the parent's) and D, E, F
          expected.set(at(''), want)
          body(node.body, want)
          break
        }
        default: throw new Error(node.t)
      }
    }
  }
  body(program.flat(), null)
  return expected
}

// ---------------------------------------------------------------------------
// The interpreter: runs a program against a manager.

function execute (m, program, T, store) {
  const seen = new Map()
  const segments = new Map() // a runAndEnd segment's handle → its label
  const misses = [] // runAndEnd segments open or ended when they must not be
  const bound = []
  let pending = 0
  let resolveDone
  const done = new Promise((resolve) => { resolveDone = resolve })
  const errors = []
  const observe = (name) => {
    const ctx = m.getContext()
    const k = ctx === null ? null : segments.has(ctx) ? segments.get(ctx) : T.indexOf(ctx)
    if (seen.has(name)) errors.push(`${name} observed twice`)
    seen.set(name, k === -1 ? `foreign ${String(ctx)}` : k)
  }
  /** A new segment of `T[node.k]` for a runAndEnd node, labelled as the model labels it. */
  const segmentFor = (node) => {
    const h = store.startSegment(T[node.k], `S#${node.id}`)
    segments.set(h, `S#${node.id}`)
    return h
  }
  const hold = () => { pending++ }
  const release = () => {
    if (--pending === 0) resolveDone()
  }
  /** A callback that runs `nodes` after observing `name`, counted as pending until it has run. */
  const callback = (name, nodes) => {
    hold()
    return function () {
      try {
        observe(name)
        body(nodes)
      } catch (e) {
        errors.push(e)
      }
      release()
    }
  }
  const body = (nodes) => {
    for (const node of nodes) {
      const at = (suffix) => `${node.t}#${node.id}${suffix}`
      switch (node.t) {
        case 'obs': observe(at('')); break
        case 'set': m.setContext(T[node.k]); break
        case 'run': {
          const thrown = new Error('planned')
          try {
            m.runInContext(T[node.k], () => {
              observe(at(''))
              body(node.body)
              if (node.throws) throw thrown
            })
          } catch (e) {
            if (e !== thrown) throw e
          }
          observe(at(':after'))
          break
        }
        case 'without':
          m.runWithoutContext(() => {
            observe(at(''))
            body(node.body)
          })
          observe(at(':after'))
          break
        case 'runEnd': {
          const h = segmentFor(node)
          const thrown = new Error('planned')
          try {
            const value = m.runAndEnd(h, () => {
              observe(at(''))
              body(node.body)
              if (!isOpen(store, h)) misses.push(`${at('')} ended while its function ran`)
              if (node.throws) throw thrown
              return at('')
            })
            if (value !== at('')) errors.push(`${at('')} returned ${String(value)}`)
          } catch (e) {
            if (e !== thrown) throw e
          }
          if (isOpen(store, h)) misses.push(`${at('')} open after its function ${node.throws ? 'threw' : 'returned'}`)
          observe(at(':after'))
          break
        }
        case 'runEndAsync': {
          const h = segmentFor(node)
          const thrown = new Error('planned')
          hold()
          const p = m.runAndEnd(h, async () => {
            observe(at(''))
            body(node.body)
            await new Promise((resolve) => setImmediate(resolve))
            if (!isOpen(store, h)) misses.push(`${at('')} ended before its promise settled`)
            observe(at(':late'))
            body(node.late)
            if (node.rejects) throw thrown
            return at('')
          })
          if (!isOpen(store, h)) misses.push(`${at('')} ended when its function returned a promise`)
          observe(at(':after'))
          p.then((value) => {
            if (node.rejects || value !== at('')) errors.push(`${at('')} fulfilled with ${String(value)}`)
          }, (e) => {
            if (e !== thrown) errors.push(e)
          }).then(() => {
            if (isOpen(store, h)) misses.push(`${at('')} open after its promise settled`)
            release()
          })
          break
        }
        case 'bind': {
          const fn = callback(at(''), node.body)
          const bind = (f) => (node.to === 'current' ? m.bindFunction(f) : m.bindFunction(f, node.to === 'null' ? null : T[node.to]))
          const wrapped = bind(fn)
          // A twin bound the same way, called again once the transactions have ended.
          bound.push(bind(() => m.getContext()))
          if (node.via === 'sync') {
            m.runInContext(T[(node.id + 1) % N_TXN], wrapped)
          } else if (node.via === 'contextless') {
            contextless(wrapped)
          } else if (node.via === 'emitter') {
            // A user-land queue: an emitter emitted from another context.
            const ee = new EventEmitter()
            ee.once('go', wrapped)
            m.runInContext(T[(node.id + 2) % N_TXN], () => setImmediate(() => ee.emit('go')))
          } else {
            m.runInContext(T[node.via], () => setTimeout(wrapped, 0))
          }
          break
        }
        case 'timeout': setTimeout(callback(at(''), node.body), 0); break
        case 'immediate': setImmediate(callback(at(''), node.body)); break
        case 'tick': process.nextTick(callback(at(''), node.body)); break
        case 'interval': {
          const cb = callback(at(''), node.body)
          const timer = setInterval(() => {
            clearInterval(timer)
            cb()
          }, 0)
          break
        }
        case 'resource': {
          const resource = new AsyncResource('PropertyTest')
          const cb = callback(at(''), node.body)
          const run = () => {
            resource.runInAsyncScope(cb)
            resource.emitDestroy()
          }
          if (node.via === 'sync') m.runInContext(T[(node.id + 1) % N_TXN], run) // nested inside another context
          else if (node.via === 'contextless') contextless(run)
          else m.runInContext(T[node.via], () => setImmediate(run))
          break
        }
        case 'then': {
          let p = Promise.resolve()
          node.links.forEach((link, i) => { p = p.then(callback(at(`:${i}`), link)) })
          break
        }
        case 'await': {
          hold()
          const made = node.steps.map((step) => (typeof step.kind === 'number'
            ? m.runInContext(T[step.kind], () => Promise.resolve(step.kind))
            : null))
          ;(async () => {
            for (let i = 0; i < node.steps.length; i++) {
              const step = node.steps[i]
              if (step.kind === 'resolved') await Promise.resolve()
              else if (step.kind === 'timer') await new Promise((resolve) => setTimeout(resolve, 0))
              else if (step.kind === 'immediate') await new Promise((resolve) => setImmediate(resolve))
              else if (step.kind === 'contextless') await new Promise((resolve) => contextless(resolve))
              else await made[i]
              observe(at(`:${i}`))
              body(step.body)
            }
          })().catch((e) => errors.push(e)).then(release)
          break
        }
        case 'cross': {
          let resolveP
          const p = node.pending ? new Promise((resolve) => { resolveP = resolve }) : Promise.resolve()
          const cb = callback(at(''), node.body)
          const attach = () => p.then(cb)
          if (node.attach === 'contextless') contextless(attach)
          else m.runInContext(T[node.attach], () => setImmediate(attach))
          if (node.pending) {
            if (node.resolveFrom === 'contextless') contextless(() => contextless(resolveP))
            else m.runInContext(T[node.resolveFrom], () => setTimeout(resolveP, 1))
          }
          break
        }
        default: throw new Error(node.t)
      }
    }
  }
  hold()
  m.runWithoutContext(() => {
    for (const root of program) body(root)
  })
  release()
  return { done, seen, bound, errors, misses }
}

/** True while segment `h` has not ended (read from the store's leak report: every open segment). */
function isOpen (store, h) {
  const report = store.leakReport({ segmentOlderThanMs: 0, transactionOlderThanMs: 1e9, limit: 1e6 })
  return report.segments.some((s) => s.handle === h)
}

// ---------------------------------------------------------------------------

const nodeCount = (program, t = '') => JSON.stringify(program).split(`"t":${t}`).length - 1

for (const kind of KINDS) {
  test(`manager property (${kind.name}): random programs observe the contexts semantics.md requires`, async () => {
    let programs = 0
    let observations = 0
    let nodes = 0
    let maxTable = 0
    let recorded = 0
    let runEnds = 0
    // Half the programs run with the diagnostics recorder on (it must change nothing).
    const diagArb = fc.option(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constant(4096)), { freq: 2 })
    const property = fc.asyncProperty(programArb, diagArb, async (raw, diagSize) => {
      const program = number(JSON.parse(JSON.stringify(raw))) // a tree: fc.constant shares objects
      const store = new SegmentStore()
      const m = new kind.Manager({ store })
      const T = []
      for (let i = 0; i < N_TXN; i++) T.push(store.startTransaction(`T${i}`, 0))
      if (diagSize !== null) m.enableDiagnostics({ size: diagSize })
      try {
        const expected = predict(program, kind.key === 'legacy')
        const { done, seen, bound, errors, misses } = execute(m, program, T, store)
        await done
        assert.deepEqual(errors, [])
        assert.deepEqual(misses, [], 'each runAndEnd segment ends when its function returns, throws or settles')
        assert.deepEqual(Object.fromEntries([...seen].sort()), Object.fromEntries([...expected].sort()))
        assert.equal(m.getContext(), null, 'no context left behind')
        // §2: once the transactions end, every bound function reads null.
        for (const t of T) store.endTransaction(t, 1)
        for (const twin of bound) {
          assert.equal(m.runInContext(T[1], twin), null, 'a bound function reads null once its transaction has ended')
          assert.equal(m.runInContext('outside', () => { twin(); return m.getContext() }), 'outside')
        }
        if (kind.key === 'legacy') {
          // The hook table drains once the program's async work is done.
          for (let i = 0; i < 20 && m.hookTableSize > 0; i++) await immediate()
          maxTable = Math.max(maxTable, m.hookTableSize)
          assert.equal(m.hookTableSize, 0, 'legacy hook table empty')
        }
        if (diagSize !== null) {
          const dump = m.diagnostics()
          assert.equal(dump.events.length, Math.min(dump.recorded, diagSize))
          assert.equal(dump.dropped, dump.recorded - dump.events.length)
          dump.events.forEach((e, i) => assert.equal(e.seq, dump.dropped + i))
          const count = (type) => dump.events.filter((e) => e.type === type).length
          if (dump.dropped === 0) assert.equal(count('run') + count('bound'), count('restore'), 'each run and bound call has its restore')
          if (kind.key === 'als') assert.equal(count('propagate'), 0)
          recorded += dump.recorded
        }
        programs++
        observations += seen.size
        nodes += nodeCount(program)
        runEnds += nodeCount(program, '"runEnd"') + nodeCount(program, '"runEndAsync"')
      } finally {
        m.disable()
      }
    })
    await fc.assert(property, fcParams(400))
    console.log(`# ${kind.name}: ${programs} programs, ${nodes} nodes (${runEnds} runAndEnd), ${observations} observations, ${recorded} diagnostics events`)
    assert.ok(observations >= 1000 * factor, `${observations} observations`)
    assert.ok(runEnds >= 100 * factor, `${runEnds} runAndEnd calls`)
  })
}

// The first program the property found (shrunk): on AsyncLocalStorage, `run`
// returns early when its value is already current and restores nothing, so a
// setContext inside a nested run of the same context (or inside a bound
// function called from its own context) leaked out of it.
for (const kind of KINDS) {
  test(`regression (${kind.name}): setContext inside a run or bound call of the current context does not outlive it`, () => {
    const m = new kind.Manager()
    try {
      m.runInContext('T', () => {
        m.runInContext('T', () => m.setContext('T2'))
        assert.equal(m.getContext(), 'T', 'nested run of the same context')
        m.bindFunction(() => m.setContext('T3'), 'T')()
        assert.equal(m.getContext(), 'T', 'bound call from its own context')
        assert.throws(() => m.runInContext('T', () => {
          m.setContext('T4')
          throw new Error('x')
        }), /x/)
        assert.equal(m.getContext(), 'T', 'nested run that throws')
        m.runWithoutContext(() => m.runWithoutContext(() => m.setContext('T5')))
        assert.equal(m.getContext(), 'T')
      })
      assert.equal(m.getContext(), null)
    } finally {
      m.disable()
    }
  })
}
