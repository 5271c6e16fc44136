'use strict'

// The peer benchmark's child process: one contender, fresh, run through the
// phases the parent asks for, the result sent back over IPC (bench/lib/child.js).
//
//   verify  the small fixed run; the span trees the contender produced (when
//           they are decoded in this process) and its wire counts
//   cpu     a warm-up, then the measured load (200 transactions in flight)
//           and the final flush: process CPU time (user + system, every
//           thread), wall time, spans
//   open    heap + external with N transactions open and their spans
//           started, against the same process just before (forced GCs)
//   burst   1,000 transactions of 50 spans opened, then all ended and
//           flushed: the live peak and what is left after GC
//
// After each phase's flush the child writes a marker line to stdout
// (`\0mark:<phase>`), synchronously: the parent counts the contender's
// stdout (New Relic's serverless payloads) and its loopback sink (dd-trace)
// up to each marker, so the bytes of each phase are known.

const fs = require('node:fs')
const path = require('node:path')
const { childMain } = require('../lib/child')
const workload = require('./workload')

const CONTENDERS = path.join(__dirname, 'contenders')

function mark (phase) {
  fs.writeSync(1, `\0mark:${phase}\n`)
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

/** heapUsed and external after full GCs (a few turns between them, for weak callbacks). */
async function memory () {
  for (let i = 0; i < 4; i++) {
    global.gc()
    await tick()
  }
  global.gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, external: m.external, total: m.heapUsed + m.external }
}

function cpuNs (u) {
  return (u.user + u.system) * 1000
}

/** Opens `transactions` transactions (hold mode) and measures; then ends them all and measures again. */
async function openAndEnd (inst, { transactions, shapes }) {
  await inst.flush()
  const base = await memory()
  const open = workload.openMany(inst.tracer, { transactions, shapes })
  await tick()
  const peak = await memory()
  open.release()
  await open.done
  await inst.flush()
  const after = await memory()
  return { spans: open.spans, transactions, base, peak, after }
}

async function main (args) {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc')
  const c = require(path.join(CONTENDERS, args.file))
  const verify = args.phases.includes('verify')
  const inst = await c.create({ verify, sinkUrl: args.sinkUrl })
  const out = { id: c.id, label: c.label, info: inst.info, node: process.version, phases: {} }
  // Every transaction and span this process made, all phases together, to
  // compare with what reached the wire.
  const made = { transactions: 0, spans: 0 }
  const counted = (transactions, spans) => {
    made.transactions += transactions
    made.spans += spans
    return spans
  }
  const t = inst.tracer

  if (verify) {
    const shapes = workload.verifyShapes()
    const spans = counted(shapes.length, await workload.runLoad(t, { transactions: shapes.length, concurrency: workload.VERIFY.concurrency, shapes }))
    await inst.flush()
    mark('verify')
    out.phases.verify = { spans, wire: inst.wire(), traces: inst.traces ? inst.traces() : null }
  }

  if (args.phases.includes('cpu')) {
    const { warmup, transactions, concurrency } = args.cpu
    counted(warmup, await workload.runLoad(t, { transactions: warmup, concurrency }))
    await inst.flush()
    mark('warmup')
    const wire0 = inst.wire()
    await memory()
    const c0 = process.cpuUsage()
    const w0 = process.hrtime.bigint()
    const spans = counted(transactions, await workload.runLoad(t, { transactions, concurrency }))
    await inst.flush()
    const w1 = process.hrtime.bigint()
    const c1 = process.cpuUsage(c0)
    mark('cpu')
    const wire1 = inst.wire()
    out.phases.cpu = {
      transactions,
      spans,
      cpuNs: cpuNs(c1),
      wallNs: Number(w1 - w0),
      wire: { bytes: wire1.bytes - wire0.bytes, spans: wire1.spans - wire0.spans, live: wire1.live }
    }
  }

  if (args.phases.includes('open')) {
    out.phases.open = await openAndEnd(inst, { transactions: args.open.transactions, shapes: workload.SHAPES })
    counted(out.phases.open.transactions, out.phases.open.spans)
    mark('open')
  }

  if (args.phases.includes('burst')) {
    out.phases.burst = await openAndEnd(inst, { transactions: args.burst.transactions, shapes: [workload.shape(args.burst.spans)] })
    counted(out.phases.burst.transactions, out.phases.burst.spans)
    mark('burst')
  }
  out.made = made
  out.wire = inst.wire()
  if (inst.close) await inst.close()
  return out
}

childMain(main)
