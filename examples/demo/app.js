'use strict'

// The demo application: a node:http request handler whose routes do what
// real applications do, written against the agent interface of
// instrumentation.js (agent.segment, agent.segmentCallback, ...). The app
// passes each unit of work the id of the request its own code is serving
// (`rid`); the agent records it on the segment, which is what makes the
// conflation check possible.
//
//   GET  /users/:id   an await chain; two pool queries; on first use, starts
//                     a background cache refresher inside runWithoutContext
//   GET  /catalog     a promise chain (.then), timers, parallel lookups
//   GET  /search      callbacks only: setTimeout -> setImmediate -> nextTick
//   POST /checkout    the body read from the request stream (a bound
//                     emitter), an audit queue drained by its own timer, a
//                     pool query
//
// The pool and the audit queue are created at start-up, outside any request.
// The pool is an in-app fake by default; with `options.db` (the demo's
// `--db postgres`) it is a pg.Pool on a real PostgreSQL behind the same
// acquire/release interface, so the same agent shim binds its callbacks.
// The pool runs a queued callback inside whichever request releases a
// connection; the queue runs its jobs from its own timer. Those are the
// places where real applications get their contexts mixed up or lost, unless
// the agent binds the callbacks (bindFunction, in the agent's shims).

/**
 * A user-land queue: jobs pushed from anywhere run from the queue's own
 * interval, created when the queue is (at start-up, with no context). Like
 * a driver's socket or a batching writer.
 */
class TimerQueue {
  constructor (intervalMs) {
    this._jobs = []
    this._timer = setInterval(() => this._drain(), intervalMs)
    this._timer.unref()
  }

  push (job) {
    this._jobs.push(job)
  }

  _drain () {
    if (this._jobs.length === 0) return
    const jobs = this._jobs
    this._jobs = []
    for (const job of jobs) job()
  }

  close () {
    clearInterval(this._timer)
    this._drain()
  }
}

/**
 * A fake database connection, made at start-up. Its I/O is ordinary Node
 * async work (setImmediate), which the context managers propagate by
 * themselves.
 */
class Connection {
  constructor (id) {
    this.id = id
  }

  execute (sql, params, callback) {
    setImmediate(() => callback(null, fakeRows(sql, params)))
  }
}

/**
 * A connection pool made at start-up: `acquire(cb)` hands out a free
 * connection, or queues `cb` until a caller releases one. A queued callback
 * runs from inside `release()`, that is inside the releasing request's own
 * callback and context: the classic way pools mix requests up, unless the
 * agent binds `cb` to its caller's context when it is queued.
 */
class Pool {
  constructor (size) {
    this._free = []
    this._waiting = []
    for (let i = 0; i < size; i++) this._free.push(new Connection(i))
  }

  acquire (callback) {
    const connection = this._free.pop()
    if (connection === undefined) this._waiting.push(callback)
    else callback(connection)
  }

  release (connection) {
    const next = this._waiting.shift()
    if (next === undefined) this._free.push(connection)
    else next(connection)
  }
}

/**
 * The same interface on a real PostgreSQL: `acquire(cb)` is pg.Pool#connect
 * (which queues callers when every client is busy and hands a released
 * client to the next one, from inside the releasing request's call), and a
 * connection's `execute` is the client's callback-style `query`. The pg
 * module is loaded only here (a dev dependency; `npm start` without --db
 * does not need it).
 */
class PgPool {
  constructor (config, size) {
    const pg = require('pg')
    this._pool = new pg.Pool({ ...config, max: size })
  }

  acquire (callback) {
    this._pool.connect((err, client, done) => {
      if (err) throw err // no database: the demo cannot go on
      callback({
        execute (sql, params, cb) {
          client.query(sql, params, (err, result) => cb(err, result && result.rows))
        },
        done
      })
    })
  }

  release (connection) {
    connection.done()
  }

  end () {
    return this._pool.end()
  }
}

/** The demo's tables and some rows, for `--db postgres` (run once, before the servers start). */
const SCHEMA = `
  CREATE TABLE users (id text PRIMARY KEY, name text NOT NULL, email text NOT NULL);
  INSERT INTO users SELECT g::text, 'User ' || g, 'user' || g || '@example.com' FROM generate_series(0, 999) g;
  CREATE TABLE orders (id serial PRIMARY KEY, user_id text NOT NULL, request_id text, items int NOT NULL);
  CREATE INDEX orders_user_id ON orders (user_id);
  INSERT INTO orders (user_id, request_id, items) SELECT (g % 1000)::text, 'seed', g % 5 FROM generate_series(1, 3000) g;
`

function fakeRows (sql, params) {
  const n = sql.startsWith('SELECT') ? 5 : 1
  const rows = []
  for (let i = 0; i < n; i++) {
    rows.push({ id: `${params[0]}-${i}`, sku: `SKU-${1000 + i}`, price: 9.5 + i, qty: i + 1, note: 'in stock' })
  }
  return rows
}

const CATALOG = Array.from({ length: 40 }, (_, i) => ({
  sku: `SKU-${1000 + i}`,
  title: `Product ${i}`,
  tags: ['demo', i % 2 ? 'odd' : 'even'],
  stock: (i * 7) % 13
}))

const POOL_SIZE = 10

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * @param {ReturnType<import('./instrumentation').createAgent>} agent
 * @param {{ db?: object|null }} [options] db: a pg connection config (the
 *   pool is then a pg.Pool on it); default: the in-app fake pool
 * @returns {{ handle: (req, res) => void, close: () => Promise<void> }}
 */
function createApp (agent, options = {}) {
  // Created at start-up, before any request: no context.
  const rawPool = options.db ? new PgPool(options.db, POOL_SIZE) : new Pool(POOL_SIZE)
  const pool = agent.shimPool(rawPool)
  const audit = agent.shimQueue(new TimerQueue(2))
  const cache = new Map()
  let refresher = null
  let refreshing = null
  let requests = 0

  // A query: segment `name` covers the wait for a connection and the query;
  // its child Datastore/execute starts in the acquire callback, so a
  // callback run in the wrong request's context puts it in the wrong trace.
  const query = (rid, name, sql, params) => agent.segment(name, rid, () => new Promise((resolve, reject) => {
    pool.acquire((connection) => {
      agent.segmentCallback('Datastore/execute', rid, (done) => connection.execute(sql, params, done), (err, rows) => {
        pool.release(connection)
        if (err) reject(err)
        else resolve(rows)
      })
    })
  }))

  function send (res, status, body) {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }

  // The background refresher: every 20 ms a background transaction refreshes
  // the cache through the same pool the requests use.
  function refresh () {
    if (refreshing !== null) return
    refreshing = agent.backgroundTransaction('Background/cache-refresh', async (rid) => {
      const rows = await query(rid, 'Datastore/users/select-all', 'SELECT * FROM users ORDER BY id LIMIT $1', [100])
      agent.segment('Cache/rebuild', rid, () => {
        cache.clear()
        for (const row of rows) cache.set(row.id, row)
      })
    }).finally(() => { refreshing = null })
  }

  // GET /users/:id: an await chain.
  async function getUser (req, res, rid, id) {
    await agent.segment('Middleware/auth', rid, async () => {
      await nextTurn()
      return req.headers.authorization !== 'none'
    })
    if (refresher === null) {
      // Lazy start-up of a background job, during a request: without
      // runWithoutContext every tick would run in this request's context.
      agent.runWithoutContext(() => {
        refresher = setInterval(refresh, 20)
      })
    }
    const cached = await agent.segment('Cache/get', rid, async () => {
      await nextTurn()
      return cache.get(`${id}-0`)
    })
    const user = await query(rid, 'Datastore/users/select', 'SELECT * FROM users WHERE id = $1', [id])
    const orders = await query(rid, 'Datastore/orders/select', 'SELECT * FROM orders WHERE user_id = $1', [id])
    const body = agent.segment('View/render', rid, () => ({ user: user[0], cached: cached !== undefined, orders }))
    send(res, 200, body)
  }

  // GET /catalog: a promise chain with timers and parallel lookups.
  function getCatalog (req, res, rid) {
    return agent.segment('Catalog/fetch', rid, () => sleep(1).then(() => CATALOG.slice(0, 12)))
      .then((items) => agent.segment('Catalog/price', rid, () => Promise.all(items.slice(0, 3).map((item, i) =>
        agent.segment(`Pricing/lookup ${i}`, rid, () => nextTurn().then(() => ({ ...item, price: 10 + i })))
      )).then((priced) => priced.concat(items.slice(3)))))
      .then((items) => agent.segment('Catalog/sort', rid, () => items.sort((a, b) => a.stock - b.stock)))
      .then((items) => send(res, 200, { items }))
  }

  // GET /search: callbacks only.
  function getSearch (req, res, rid, q) {
    return new Promise((resolve) => {
      agent.segmentCallback('Search/debounce', rid, (done) => setTimeout(done, 1), () => {
        agent.segmentCallback('Search/index', rid, (done) => setImmediate(() => process.nextTick(done)), () => {
          const hits = agent.segment('Search/rank', rid, () =>
            CATALOG.filter((item) => item.title.includes(q) || item.tags.includes(q)).slice(0, 10))
          send(res, 200, { q, hits })
          resolve()
        })
      })
    })
  }

  // POST /checkout: the body from the request stream, then a queue and the pool.
  async function postCheckout (req, res, rid) {
    const order = await agent.segment('Request/body', rid, () => new Promise((resolve, reject) => {
      // The listeners run in the request's context because the agent bound
      // the request emitter; the parse below checks that.
      const chunks = []
      req.on('data', (chunk) => chunks.push(chunk))
      req.on('error', reject)
      req.on('end', () => {
        try {
          resolve(agent.segment('Request/parse', rid, () => JSON.parse(Buffer.concat(chunks).toString('utf8'))))
        } catch (err) {
          reject(err)
        }
      })
    }))
    await agent.segment('Checkout/validate', rid, async () => {
      await nextTurn()
      if (!Array.isArray(order.items)) throw new Error('no items')
    })
    const [inserted] = await Promise.all([
      query(rid, 'Datastore/orders/insert', 'INSERT INTO orders (user_id, request_id, items) VALUES ($1, $2, $3) RETURNING id',
        [order.customer ?? 'anonymous', rid, order.items.length]),
      agent.segment('Audit/write', rid, () => new Promise((resolve) => {
        audit.push(() => {
          agent.segment('Audit/flush', rid, () => {})
          resolve()
        })
      }))
    ])
    const body = agent.segment('View/render', rid, () => ({ order: inserted[0].id, items: order.items.length }))
    send(res, 201, body)
  }

  function route (req, res, rid) {
    const url = req.url
    if (req.method === 'GET' && url.startsWith('/users/')) {
      return ['GET /users/:id', () => getUser(req, res, rid, url.slice(7))]
    }
    if (req.method === 'GET' && url === '/catalog') return ['GET /catalog', () => getCatalog(req, res, rid)]
    if (req.method === 'GET' && url.startsWith('/search?q=')) {
      return ['GET /search', () => getSearch(req, res, rid, decodeURIComponent(url.slice(10)))]
    }
    if (req.method === 'POST' && url === '/checkout') return ['POST /checkout', () => postCheckout(req, res, rid)]
    return ['unknown', async () => send(res, 404, { error: 'not found' })]
  }

  return {
    /** The node:http request listener. */
    handle (req, res) {
      // The request id: the app's own, unique, never read from the context manager.
      const rid = `r${++requests}`
      const [name, handler] = route(req, res, rid)
      agent.webTransaction(req, res, name, rid, handler).catch((err) => {
        if (!res.headersSent) send(res, 500, { error: err.message })
      })
    },

    /** Stops the background refresher and the queues, after the work in flight. */
    async close () {
      if (refresher !== null) clearInterval(refresher)
      refresher = null
      for (let job = refreshing; job !== null; job = refreshing) await job
      audit.close()
      if (rawPool instanceof PgPool) await rawPool.end()
    }
  }
}

module.exports = { createApp, Pool, PgPool, TimerQueue, SCHEMA }
