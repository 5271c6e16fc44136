'use strict'

// Placeholder main job (`npm start`): runs one small transaction through the
// store, prints its finished trace as a tree, then shows that 10,000 more
// transactions leave nothing behind. The demo server replaces it later.

const { setTimeout: sleep } = require('node:timers/promises')
const { SegmentStore } = require('..')

async function handleRequest (store, id) {
  const txn = store.startTransaction(`GET /users/${id}`)
  store.setAttribute(txn, 'request.id', id)
  const auth = store.startSegment(txn, 'middleware/auth')
  await sleep(2)
  store.endSegment(auth)
  const db = store.startSegment(txn, 'Datastore/postgres/select')
  store.setAttribute(db, 'db.statement', 'SELECT * FROM users WHERE id = $1')
  const cache = store.startSegment(db, 'Cache/redis/get')
  await sleep(1)
  store.endSegment(cache)
  await sleep(3)
  store.endSegment(db)
  store.startSegment(txn, 'render') // left open: closed and marked truncated at the end
  await sleep(1)
  return store.endTransaction(txn)
}

function printTrace (trace) {
  const children = new Map()
  for (const s of trace.segments) {
    if (!children.has(s.parentId)) children.set(s.parentId, [])
    children.get(s.parentId).push(s)
  }
  const walk = (s, depth) => {
    const flags = s.truncated ? ' (truncated)' : ''
    const attrs = Object.keys(s.attributes).length ? ' ' + JSON.stringify(s.attributes) : ''
    console.log(
      `${'  '.repeat(depth)}${s.name.padEnd(34 - 2 * depth)} +${s.start.toFixed(1).padStart(5)} ms` +
        `  ${s.duration.toFixed(1).padStart(5)} ms  excl ${s.exclusive.toFixed(1).padStart(5)} ms${flags}${attrs}`
    )
    for (const c of children.get(s.id) ?? []) walk(c, depth + 1)
  }
  console.log(`trace ${trace.traceId}: ${trace.name}, ${trace.segmentCount} segments, ${trace.duration.toFixed(1)} ms`)
  walk(trace.segments[0], 1)
}

async function main () {
  const store = new SegmentStore()
  printTrace(await handleRequest(store, 42))

  for (let i = 0; i < 10000; i++) {
    const t = store.startTransaction('batch', 0)
    for (let j = 0; j < 9; j++) store.endSegment(store.startSegment(t, `step ${j}`, j), j + 1)
    if (i % 2) store.endTransaction(t, 10)
    else store.endTransactionJSON(t, 10)
  }
  const stats = store.stats()
  console.log('\nafter 10,000 more transactions of 10 segments:', stats)
  const problems = store.verify()
  if (stats.liveTransactions !== 0 || stats.liveSegments !== 0 || problems.length !== 0) {
    console.error('records left behind:', problems)
    process.exit(1)
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
