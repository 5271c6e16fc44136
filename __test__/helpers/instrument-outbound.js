'use strict'

// The test agent's outbound HTTP instrumentation, the two ways agents do it:
//
//   httpRequest(agent)  a wrapper of node:http's request() (what a shim of
//                       http.request is): a segment External/<host>/<method>
//                       started under the caller's context, the response
//                       callback bound to it, the request and response
//                       emitters bound (so 'data'/'end' listeners see it).
//                       Node keeps these right by itself (a socket handed to
//                       a waiting request is reset in that request's async
//                       scope); the binding makes it independent of that
//   instrumentFetch(agent)  undici's diagnostics channels for fetch:
//                       `undici:request:create` starts External/fetch under
//                       the current context and associates it with the
//                       request object; `undici:request:headers` records
//                       External/fetch/headers under that associated
//                       segment; `undici:request:trailers` / `:error` end it
//
// The label is the outgoing request's own header x-rid. With the agent's
// break switch on, nothing is bound, and the fetch subscribers use the
// context current when the channel fires instead of the associated one.

const http = require('node:http')
const dc = require('node:diagnostics_channel')

/** The x-rid of an undici request: its headers are a string of lines (undici 6) or a flat array (undici 7+). */
function ridOfUndici (request) {
  const headers = request.headers
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === 'x-rid') return String(headers[i + 1])
    }
    return 'unlabelled'
  }
  const match = /(?:^|\r\n)x-rid:\s*([\w-]+)/i.exec(String(headers))
  return match ? match[1] : 'unlabelled'
}

/**
 * http.request(options, callback) instrumented; options.headers['x-rid']
 * labels it. `misroute: true` is a sabotage, not a break: every request is
 * bound to the context of the call before it (as a shared queue in the wrong
 * place would), to show the checks catch a response in the wrong transaction.
 */
function httpRequest (agent, { misroute = false } = {}) {
  const { manager } = agent
  let previous = null
  return function request (options, callback) {
    const rid = options.headers?.['x-rid'] ?? 'unlabelled'
    let parent = manager.getContext()
    if (misroute) [previous, parent] = [parent, previous ?? parent]
    const segment = agent.startSegment(`External/${options.host}/${options.method ?? 'GET'}`, rid, parent)
    const onResponse = agent.bind(function (res) {
      agent.bindEmitter(res, parent)
      res.once('end', () => agent.endSegment(segment))
      res.once('close', () => agent.endSegment(segment))
      if (typeof callback === 'function') return callback.apply(this, arguments)
    }, parent)
    const req = segment === null
      ? http.request(options, onResponse)
      : manager.runInContext(segment, http.request, undefined, [options, onResponse])
    agent.bindEmitter(req, parent)
    req.once('error', () => agent.endSegment(segment))
    return req
  }
}

/** Subscribes to undici's fetch channels; unsubscribed at agent.close(). */
function instrumentFetch (agent) {
  const { manager } = agent
  const segmentOf = (request) => agent.breakContext ? manager.getContext() : manager.contextOf(request)
  const handlers = {
    'undici:request:create' ({ request }) {
      const segment = agent.startSegment(`External/fetch/${request.method}`, ridOfUndici(request))
      if (segment !== null && !agent.breakContext) manager.associate(request, segment)
      // With the break switch the segment is only ended at the transaction's end.
    },
    'undici:request:headers' ({ request, response }) {
      const headers = agent.startSegment('External/fetch/headers', ridOfUndici(request), segmentOf(request))
      if (headers !== null) agent.store.setAttribute(headers, 'http.statusCode', response.statusCode)
      agent.endSegment(headers)
    },
    'undici:request:trailers' ({ request }) {
      if (!agent.breakContext) agent.endSegment(manager.contextOf(request))
    },
    'undici:request:error' ({ request }) {
      if (!agent.breakContext) agent.endSegment(manager.contextOf(request))
    }
  }
  for (const [name, fn] of Object.entries(handlers)) {
    dc.subscribe(name, fn)
    agent.onClose(() => dc.unsubscribe(name, fn))
  }
}

module.exports = { httpRequest, instrumentFetch, ridOfUndici }
