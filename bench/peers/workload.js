'use strict'

// The peer benchmark's workload, the same for every contender: transactions
// of 10 or 50 child spans nested up to 3 deep, 3 attributes each (a string,
// a number, a boolean), whose work hops across `await`, `setImmediate` and
// `setTimeout(0)`. A contender is a tracer with
//   transaction(name, work) → promise   a root span (a transaction) that runs
//                                       work() in its context; settles once
//                                       the transaction is ended and handed
//                                       to the tracer's wire encoding
//   span(name, s, n, b, work) → promise a child of the current span, the 3
//                                       attributes set, work() run in its
//                                       context, ended when work settles
//
// A transaction is `units` units run one after another; a unit is one span
// (depth 1) with two children run in parallel (depth 2), each with one child
// (depth 3): 5 spans. Every span's work first takes one hop (the kinds in
// turn), then runs its children; the hop's callback runs in the span's
// context, and the children start after it, so a parent link in the output
// is proof that the context survived the hop.
//
// Hold mode (for the memory measurements): every span starts its children
// at once, then waits on one shared promise (the gate), so that all the
// transactions and spans of a burst are open at the same time.

const ATTRS = ['bench_s', 'bench_n', 'bench_b']
const SPAN_COUNTS = [10, 50]

function hopAwait () { return Promise.resolve() }
function hopImmediate () { return new Promise((resolve) => setImmediate(resolve)) }
function hopTimeout () { return new Promise((resolve) => setTimeout(resolve, 0)) }
const HOPS = [hopAwait, hopImmediate, hopTimeout]

/** The tree of a transaction with `count` child spans (a multiple of 5), built once. */
function shape (count) {
  if (count % 5 !== 0) throw new RangeError(`span count ${count} is not a multiple of 5`)
  let k = 0
  const node = (name, children) => {
    const i = k++
    return {
      name,
      hop: i % 3,
      s: `SELECT * FROM t${i % 7} WHERE id = $1`,
      n: i * 7 + 1,
      b: (i & 1) === 0,
      children
    }
  }
  const units = []
  for (let u = 0; u < count / 5; u++) {
    const p = `u${u}`
    units.push(node(p, [node(`${p}.a`, [node(`${p}.a.x`, [])]), node(`${p}.b`, [node(`${p}.b.x`, [])])]))
  }
  return { name: `txn-${count}`, count, units }
}

const SHAPES = SPAN_COUNTS.map(shape)

function runNode (t, node, gate) {
  return t.span(node.name, node.s, node.n, node.b, gate ? () => holdWork(t, node, gate) : () => nodeWork(t, node))
}

async function nodeWork (t, node) {
  await HOPS[node.hop]()
  const c = node.children
  if (c.length === 1) await runNode(t, c[0], null)
  else if (c.length > 1) await Promise.all(c.map((x) => runNode(t, x, null)))
}

async function holdWork (t, node, gate) {
  const kids = node.children.map((x) => runNode(t, x, gate))
  await gate
  await Promise.all(kids)
}

/** One transaction of shape `s`. */
function runTransaction (t, s) {
  return t.transaction(s.name, async () => {
    for (const u of s.units) await runNode(t, u, null)
  })
}

/** One transaction of shape `s`, every span opened at once, all waiting on `gate`. */
function openTransaction (t, s, gate) {
  return t.transaction(s.name, () => Promise.all(s.units.map((u) => runNode(t, u, gate))))
}

/**
 * `transactions` transactions, `concurrency` in flight, shapes taken in
 * turn from `shapes`. Resolves to the number of spans (roots included).
 */
async function runLoad (t, { transactions, concurrency, shapes = SHAPES }) {
  let next = 0
  let spans = 0
  async function lane () {
    while (next < transactions) {
      const s = shapes[next++ % shapes.length]
      spans += s.count + 1
      await runTransaction(t, s)
    }
  }
  const lanes = []
  for (let i = 0; i < Math.min(concurrency, transactions); i++) lanes.push(lane())
  await Promise.all(lanes)
  return spans
}

/**
 * Opens `transactions` transactions at once in hold mode. Returns
 * { spans, release(), done }: release() opens the gate, done settles once
 * every transaction has ended.
 */
function openMany (t, { transactions, shapes = SHAPES }) {
  let release
  const gate = new Promise((resolve) => { release = resolve })
  const all = []
  let spans = 0
  for (let i = 0; i < transactions; i++) {
    const s = shapes[i % shapes.length]
    spans += s.count + 1
    all.push(openTransaction(t, s, gate))
  }
  return { spans, release: () => release(), done: Promise.all(all) }
}

/**
 * The span trees that `shapes` should produce: one canonical string per
 * transaction (see canonical()).
 */
function expectedTrees (shapes) {
  return shapes.map((s) => {
    const spans = [{ name: s.name, parent: null, attributes: 0 }]
    const walk = (node, parent) => {
      spans.push({ name: node.name, parent, attributes: ATTRS.length })
      for (const c of node.children) walk(c, node.name)
    }
    for (const u of s.units) walk(u, s.name)
    return canonical(spans)
  })
}

/**
 * One transaction's spans ({ name, parent: the parent's name or null,
 * attributes: how many of the benchmark's attributes it carries }) as one
 * string: the sorted lines `parent > name #attributes`.
 */
function canonical (spans) {
  return spans.map((s) => `${s.parent === null ? '-' : s.parent} > ${s.name} #${s.attributes}`).sort().join('\n')
}

/**
 * Compares the traces a contender produced (arrays of spans as above) with
 * what `shapes` should give. Returns { ok, traces, spans, problem }.
 */
function compareTrees (produced, shapes) {
  const want = expectedTrees(shapes).sort()
  const got = produced.map(canonical).sort()
  const spans = produced.reduce((n, t) => n + t.length, 0)
  if (got.length !== want.length) {
    return { ok: false, traces: got.length, spans, problem: `${got.length} traces, expected ${want.length}` }
  }
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      const g = got[i].split('\n')
      const w = want[i].split('\n')
      const missing = w.filter((l) => !g.includes(l)).slice(0, 3)
      const extra = g.filter((l) => !w.includes(l)).slice(0, 3)
      return {
        ok: false,
        traces: got.length,
        spans,
        problem: `a trace differs (${g.length} spans, expected ${w.length}); missing: ${missing.join('; ') || 'none'}; unexpected: ${extra.join('; ') || 'none'}`
      }
    }
  }
  return { ok: true, traces: got.length, spans, problem: null }
}

/** The fixed run every contender proves its span tree on: 3 of each shape, all in flight together. */
const VERIFY = { transactions: 6, concurrency: 6 }

function verifyShapes () {
  const out = []
  for (let i = 0; i < VERIFY.transactions; i++) out.push(SHAPES[i % SHAPES.length])
  return out
}

module.exports = {
  ATTRS,
  SHAPES,
  SPAN_COUNTS,
  shape,
  runLoad,
  openMany,
  expectedTrees,
  compareTrees,
  canonical,
  VERIFY,
  verifyShapes
}
