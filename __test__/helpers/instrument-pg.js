'use strict'

// The test agent's shim of `pg` (node-postgres), the way agents wrap it:
// pool.query, pool.connect and the checked-out client's query each start a
// segment under the current context and bind the callback (or the promise
// continuation) to the caller's context with bindFunction. With the agent's
// break switch on, nothing is bound.
//
// The segment's label comes from the query itself: the app tags its SQL with
// a comment `/* rid:r12 */` (sqlcommenter style), so the label is the
// request's own data, never the context manager's.

const RID = /\/\* rid:([\w-]+) \*\//
const UNLABELLED = 'unlabelled'

/** The rid in a query's SQL comment. */
function ridOfQuery (config) {
  const text = typeof config === 'string' ? config : config && config.text
  const match = typeof text === 'string' ? RID.exec(text) : null
  return match ? match[1] : UNLABELLED
}

/** `sql` tagged with `rid`. */
function tag (rid, sql) {
  return `/* rid:${rid} */ ${sql}`
}

/** What kind of statement, for the segment name: select, insert, begin, ... */
function operation (config) {
  const text = (typeof config === 'string' ? config : config && config.text) || ''
  const word = text.replace(RID, '').trim().split(/\s+/)[0] || 'query'
  return word.toLowerCase()
}

/**
 * Wraps a `query(config, [values], [callback])` method: a segment for the
 * query; with a callback, the callback ends it and runs bound to the
 * caller's context; without, the promise's continuation does.
 */
function wrapQuery (agent, query) {
  return function instrumentedQuery (config, values, callback) {
    const rid = ridOfQuery(config)
    const parent = agent.manager.getContext()
    // An untagged query outside any transaction (the tests' own set-up) is
    // not a request's: nothing to record, nothing lost.
    const segment = rid === UNLABELLED && parent === null
      ? null
      : agent.startSegment(`Datastore/postgres/${operation(config)}`, rid, parent)
    const args = Array.prototype.slice.call(arguments)
    const last = args.length - 1
    if (typeof args[last] === 'function') {
      const cb = agent.bind(args[last], parent)
      args[last] = function () {
        agent.endSegment(segment)
        return cb.apply(this, arguments)
      }
      return query.apply(this, args)
    }
    const promise = query.apply(this, args)
    if (promise === undefined || typeof promise.then !== 'function') {
      agent.endSegment(segment) // a Submittable (cursor, stream): not shimmed here
      return promise
    }
    return promise.then(
      agent.bind((result) => { agent.endSegment(segment); return result }, parent),
      agent.bind((err) => { agent.endSegment(segment); throw err }, parent))
  }
}

const shimmedClients = new WeakSet()

/** The checked-out client's query, shimmed once per client. */
function shimClient (agent, client) {
  if (client && !shimmedClients.has(client)) {
    shimmedClients.add(client)
    client.query = wrapQuery(agent, client.query)
  }
  return client
}

/**
 * Shims a pg.Pool instance: `pool.query` (callback and promise forms) and
 * `pool.connectFor(rid, [callback])`, which is `pool.connect` with the wait
 * for a client as segment Datastore/postgres/connect. The rid is the
 * caller's (the test's label; there is no SQL to read it from), and the
 * checked-out client's `query` is shimmed too. pool.connect itself is left
 * alone, because pool.query calls it inside.
 */
function shimPool (agent, pool) {
  pool.query = wrapQuery(agent, pool.query)
  const connect = pool.connect
  /** pool.connect([callback]) with the wait as segment Datastore/postgres/connect of `rid`. */
  pool.connectFor = function (rid, callback) {
    const parent = agent.manager.getContext()
    const segment = agent.startSegment('Datastore/postgres/connect', rid, parent)
    if (typeof callback === 'function') {
      const cb = agent.bind(callback, parent)
      return connect.call(this, function (err, client, release) {
        agent.endSegment(segment)
        return cb.call(this, err, shimClient(agent, client), release)
      })
    }
    return connect.call(this).then(
      agent.bind((client) => { agent.endSegment(segment); return shimClient(agent, client) }, parent),
      agent.bind((err) => { agent.endSegment(segment); throw err }, parent))
  }
  return pool
}

module.exports = { shimPool, tag, ridOfQuery }
