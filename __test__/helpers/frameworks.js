'use strict'

// Framework instrumentation the way agents do it, over the test agent of
// instrument.js, and one small app per framework with the same routes:
//
//   express 5, connect: app.use / route registration wrapped, so each
//     middleware and handler runs in a segment under the request's
//     transaction, `next` bound to the caller's context; the transaction
//     from the server's 'request' event (agent.instrumentServer)
//   koa 3: app.use wrapped the same way ((ctx, next) middleware)
//   fastify 5: its own diagnostics channels: node:http's
//     `http.server.request.start` starts the transaction (entered with the
//     storage face's enterWith), `tracing:fastify.request.handler:*` runs
//     each route handler in a segment (`start.bindStore(manager.storage)`),
//     and addHook wrapped for the hooks
//
// Routes (each answers JSON with the rid it read from its own request):
//   GET  /users/:id  middleware (auth: await; log: sync), then a timer, a
//                    query through a pool made at start-up, setImmediate
//   POST /orders     the body read from the request stream, a pool query
//   GET  /search     callbacks only: setTimeout -> setImmediate -> nextTick
// Check points (agent.expectRid) after each await, timer and body read.

const http = require('node:http')
const dc = require('node:diagnostics_channel')
const { ridOf, SlotPool, shimPool, poolQuery, sleep, immediate } = require('./instrument')

const POOL_SIZE = 3

/** The segments every trace of a route must hold (besides the root and the framework's own). */
const EXPECTED = {
  'GET /users/:id': ['Datastore/users/select'],
  'POST /orders': ['Body/parse', 'Datastore/orders/insert'],
  'GET /search': ['Search/index', 'Search/rank']
}

/** The request mix of the load: what request `i` is. */
function requestFor (i) {
  const kind = i % 3
  if (kind === 0) return { route: 'GET /users/:id', method: 'GET', path: `/users/${i}` }
  if (kind === 1) return { route: 'POST /orders', method: 'POST', path: '/orders', body: JSON.stringify({ items: [i, i + 1] }) }
  return { route: 'GET /search', method: 'GET', path: `/search?q=p${i}` }
}

// --- the app's own work, the same whatever the framework -------------------

async function auth (agent, rid) {
  await immediate()
  agent.expectRid(rid, 'in the auth middleware after setImmediate')
}

async function getUser (agent, pool, rid, id) {
  await sleep(1)
  agent.expectRid(rid, 'in the route handler after a timer')
  await poolQuery(agent, pool, rid, 'Datastore/users/select')
  await immediate()
  agent.expectRid(rid, 'in the route handler after a pool query')
  return { rid, id }
}

/** Reads a JSON body from the request stream (listeners on the request emitter). */
function readBody (agent, req, rid) {
  return new Promise((resolve, reject) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('error', reject)
    req.on('end', () => {
      agent.expectRid(rid, "in the request's 'end' listener")
      try {
        resolve(agent.segment('Body/parse', rid, () => JSON.parse(Buffer.concat(chunks).toString('utf8'))))
      } catch (err) {
        reject(err)
      }
    })
  })
}

async function postOrder (agent, pool, rid, order) {
  await poolQuery(agent, pool, rid, 'Datastore/orders/insert')
  agent.expectRid(rid, 'in the route handler after a pool query')
  return { rid, items: order.items.length }
}

function search (agent, rid, q) {
  return new Promise((resolve) => {
    setTimeout(() => {
      const index = agent.startSegment('Search/index', rid)
      setImmediate(() => {
        process.nextTick(() => {
          agent.endSegment(index)
          agent.expectRid(rid, 'in a setTimeout -> setImmediate -> nextTick callback')
          agent.segment('Search/rank', rid, () => resolve({ rid, q }))
        })
      })
    }, 1)
  })
}

function listen (server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

function closeServer (server) {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

// --- express and connect: wrapped registration ------------------------------

/**
 * Wraps a (req, res, next) or (err, req, res, next) function so it runs as
 * segment `name`, with `next` bound to the context it was called in (the
 * next middleware is a sibling, not a child). Keeps the arity, which the
 * frameworks read to tell error handlers apart.
 */
function wrapMiddleware (agent, fn, name) {
  if (typeof fn !== 'function' || (typeof fn.handle === 'function' && typeof fn.set === 'function')) return fn
  const run = (thisArg, args, reqIndex) => {
    const last = args.length - 1
    if (typeof args[last] === 'function') args[last] = agent.bind(args[last], agent.manager.getContext())
    return agent.segment(name, ridOf(args[reqIndex]), fn, thisArg, args)
  }
  if (fn.length === 4) {
    return function (err, req, res, next) { return run(this, [err, req, res, next], 1) }
  }
  return function (req, res, next) { return run(this, [req, res, next], 0) }
}

function wrapAll (agent, fns, prefix) {
  return fns.map((fn) => Array.isArray(fn)
    ? wrapAll(agent, fn, prefix)
    : wrapMiddleware(agent, fn, `${prefix}/${(fn && fn.name) || 'anonymous'}`))
}

/** Express 5: app.use and app.get/post/put/delete/all wrapped. */
function instrumentExpress (agent, app) {
  const use = app.use
  app.use = function (...args) {
    const path = typeof args[0] === 'string' ? [args.shift()] : []
    return use.call(this, ...path, ...wrapAll(agent, args, 'Expressjs/middleware'))
  }
  for (const method of ['get', 'post', 'put', 'delete', 'all']) {
    const register = app[method]
    app[method] = function (path, ...fns) {
      if (fns.length === 0) return register.call(this, path) // app.get(setting)
      return register.call(this, path, ...wrapAll(agent, fns, `Expressjs/route/${method.toUpperCase()} ${path}`))
    }
  }
  return app
}

/** Connect: app.use([route,] fn) wrapped. */
function instrumentConnect (agent, app) {
  const use = app.use
  app.use = function (route, fn) {
    if (typeof route === 'function') return use.call(this, wrapMiddleware(agent, route, `Connect/middleware/${route.name || 'anonymous'}`))
    return use.call(this, route, wrapMiddleware(agent, fn, `Connect/route ${route}/${fn.name || 'anonymous'}`))
  }
  return app
}

/** Koa 3: app.use wrapped; each (ctx, next) runs as a segment, next bound to the caller's context. */
function instrumentKoa (agent, app) {
  const use = app.use
  app.use = function (fn) {
    const name = `Koa/middleware/${fn.name || 'anonymous'}`
    return use.call(this, function (ctx, next) {
      return agent.segment(name, ridOf(ctx.req), fn, this, [ctx, agent.bind(next, agent.manager.getContext())])
    })
  }
  return app
}

/**
 * Fastify 5 through diagnostics channels (and addHook wrapped). Returns the
 * fastify instance; the subscriptions end at agent.close().
 */
function instrumentFastify (agent, fastify) {
  const { manager } = agent
  const server = fastify.server

  // The transaction, from node:http's own channel, published right before
  // the server emits 'request'.
  const onRequestStart = ({ request, response, server: from }) => {
    if (from !== server) return
    if (manager.getContext() !== null) {
      agent.counts.joined++
      return
    }
    const txn = agent.startTransaction(`WebTransaction/${request.method} ${request.url.split('?')[0]}`, ridOf(request))
    agent.bindEmitter(request, txn)
    agent.bindEmitter(response, txn)
    response.once('close', () => setImmediate(() => agent.endTransaction(txn)))
    manager.storage.enterWith(txn)
  }
  dc.subscribe('http.server.request.start', onRequestStart)
  agent.onClose(() => dc.unsubscribe('http.server.request.start', onRequestStart))

  // The route handler, from fastify's tracing channel: a segment per
  // handler, the handler run in it through bindStore (the storage face).
  const handler = dc.tracingChannel('fastify.request.handler')
  const kSegment = Symbol('segment')
  const segmentFor = (message) => {
    const segment = agent.startSegment(`Fastify/route ${message.route.method} ${message.route.url}`, ridOf(message.request.raw))
    message[kSegment] = segment
    return segment ?? manager.getContext()
  }
  const ends = {
    end (message) { if (!message.async) agent.endSegment(message[kSegment] ?? null) },
    asyncEnd (message) { agent.endSegment(message[kSegment] ?? null) },
    error (message) {
      if (message[kSegment]) agent.store.setAttribute(message[kSegment], 'error.message', String(message.error?.message))
    }
  }
  if (agent.breakContext) {
    // No binding: the segment is made, but the handler does not run in it.
    ends.start = segmentFor
  } else {
    handler.start.bindStore(manager.storage, segmentFor)
    agent.onClose(() => handler.start.unbindStore(manager.storage))
  }
  handler.subscribe(ends)
  agent.onClose(() => handler.unsubscribe(ends))

  // Hooks: addHook wrapped, a segment per hook, `done` bound.
  const addHook = fastify.addHook
  fastify.addHook = function (name, fn) {
    if (typeof fn !== 'function' || !['onRequest', 'preParsing', 'preValidation', 'preHandler'].includes(name)) {
      return addHook.call(this, name, fn)
    }
    const segment = `Fastify/hook/${name}/${fn.name || 'anonymous'}`
    const wrapped = fn.length === 3
      ? function (request, reply, done) {
        return agent.segment(segment, ridOf(request.raw), fn, this, [request, reply, agent.bind(done, manager.getContext())])
      }
      : function (request, reply) {
        return agent.segment(segment, ridOf(request.raw), fn, this, [request, reply])
      }
    return addHook.call(this, name, wrapped)
  }
  return fastify
}

// --- the apps -----------------------------------------------------------------

/**
 * Builds, instruments and starts framework `name`'s app on 127.0.0.1.
 * @param {'express'|'connect'|'koa'|'fastify'} name
 * @param {object} agent from createAgent
 * @param {object} [options]
 * @param {(fn: Function) => any} [options.create] how the server is created
 *   and started (default: called directly); the koa/connect cases pass
 *   runInContext/runWithoutContext here
 * @returns {Promise<{ port: number, close: () => Promise<void> }>}
 */
async function startApp (name, agent, options = {}) {
  const create = options.create ?? ((fn) => fn())
  // Made at start-up, outside any request.
  const pool = shimPool(agent, new SlotPool(POOL_SIZE))
  if (name === 'fastify') return startFastify(agent, pool, create)
  const listener = name === 'express'
    ? expressApp(agent, pool)
    : name === 'connect' ? connectApp(agent, pool) : koaApp(agent, pool).callback()
  const server = await create(() => listen(agent.instrumentServer(http.createServer(listener))))
  return { port: server.address().port, close: () => closeServer(server) }
}

function send (res, status, body) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function expressApp (agent, pool) {
  const express = require('express')
  const app = instrumentExpress(agent, express())
  app.use(function log (req, res, next) {
    res.setHeader('x-served-rid', ridOf(req))
    next()
  })
  app.use(async function authenticate (req, res, next) {
    await auth(agent, ridOf(req))
    next()
  })
  app.get('/users/:id', async function getUserRoute (req, res) {
    res.json(await getUser(agent, pool, ridOf(req), req.params.id))
  })
  app.post('/orders', async function postOrderRoute (req, res) {
    const rid = ridOf(req)
    res.status(201).json(await postOrder(agent, pool, rid, await readBody(agent, req, rid)))
  })
  app.get('/search', async function searchRoute (req, res) {
    res.json(await search(agent, ridOf(req), req.query.q))
  })
  return app
}

function connectApp (agent, pool) {
  const connect = require('connect')
  const app = instrumentConnect(agent, connect())
  app.use(function log (req, res, next) {
    res.setHeader('x-served-rid', ridOf(req))
    next()
  })
  app.use(function authenticate (req, res, next) {
    auth(agent, ridOf(req)).then(() => next(), next)
  })
  app.use('/users', function getUserRoute (req, res, next) {
    getUser(agent, pool, ridOf(req), req.url.slice(1)).then((body) => send(res, 200, body), next)
  })
  app.use('/orders', function postOrderRoute (req, res, next) {
    const rid = ridOf(req)
    readBody(agent, req, rid).then((order) => postOrder(agent, pool, rid, order)).then((body) => send(res, 201, body), next)
  })
  app.use('/search', function searchRoute (req, res, next) {
    search(agent, ridOf(req), new URL(req.url, 'http://x').searchParams.get('q')).then((body) => send(res, 200, body), next)
  })
  return app
}

function koaApp (agent, pool) {
  const Koa = require('koa')
  const app = instrumentKoa(agent, new Koa())
  app.use(async function log (ctx, next) {
    ctx.set('x-served-rid', ridOf(ctx.req))
    await next()
  })
  app.use(async function authenticate (ctx, next) {
    await auth(agent, ridOf(ctx.req))
    await next()
  })
  app.use(async function route (ctx) {
    const rid = ridOf(ctx.req)
    if (ctx.method === 'GET' && ctx.path.startsWith('/users/')) {
      ctx.body = await getUser(agent, pool, rid, ctx.path.slice(7))
    } else if (ctx.method === 'POST' && ctx.path === '/orders') {
      ctx.status = 201
      ctx.body = await postOrder(agent, pool, rid, await readBody(agent, ctx.req, rid))
    } else if (ctx.method === 'GET' && ctx.path === '/search') {
      ctx.body = await search(agent, rid, ctx.query.q)
    }
  })
  return app
}

async function startFastify (agent, pool, create) {
  const Fastify = require('fastify')
  const fastify = instrumentFastify(agent, Fastify({ logger: false }))
  fastify.addHook('onRequest', function log (request, reply, done) {
    reply.header('x-served-rid', ridOf(request.raw))
    done()
  })
  fastify.addHook('preHandler', async function authenticate (request) {
    await auth(agent, ridOf(request.raw))
  })
  // Fastify reads the body itself: the parser's stream listeners run in the
  // request because the agent bound the request emitter. The Body/parse
  // segment is made in the parser's callback.
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, function parseJson (request, body, done) {
    const rid = ridOf(request.raw)
    agent.expectRid(rid, "in fastify's body parser callback")
    let parsed
    try {
      parsed = agent.segment('Body/parse', rid, () => JSON.parse(body))
    } catch (err) {
      return done(err)
    }
    done(null, parsed)
  })
  fastify.get('/users/:id', async function getUserRoute (request) {
    return getUser(agent, pool, ridOf(request.raw), request.params.id)
  })
  fastify.post('/orders', async function postOrderRoute (request, reply) {
    reply.code(201)
    return postOrder(agent, pool, ridOf(request.raw), request.body)
  })
  fastify.get('/search', async function searchRoute (request) {
    return search(agent, ridOf(request.raw), request.query.q)
  })
  await create(() => fastify.listen({ port: 0, host: '127.0.0.1' }))
  return { port: fastify.server.address().port, close: () => fastify.close() }
}

module.exports = {
  EXPECTED,
  requestFor,
  startApp,
  instrumentExpress,
  instrumentConnect,
  instrumentKoa,
  instrumentFastify
}
