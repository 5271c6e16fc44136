'use strict'

// A bounded load client for the integration tests: `total` requests to a
// server on 127.0.0.1, `concurrency` in flight, over a keep-alive agent,
// each labelled with its own request id (header x-rid, r0, r1, ...). Bounded
// in count and in time: whatever has not answered by `timeoutMs` counts as
// failed. Made outside any context (the caller's context is not carried
// into the client's sockets).

const http = require('node:http')

/**
 * @param {object} o
 * @param {number} o.port
 * @param {number} [o.total] default 200
 * @param {number} [o.concurrency] default 25
 * @param {(i: number) => {method?: string, path: string, body?: string}} o.request
 * @param {number} [o.timeoutMs] default 20000
 * @returns {Promise<{ ok: number, failed: number, failures: string[], bodies: Map<string, string> }>}
 *   bodies: rid -> response body (for the 2xx responses)
 */
async function runLoad ({ port, total = 200, concurrency = 25, request, timeoutMs = 20000 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const deadline = Date.now() + timeoutMs
  const bodies = new Map()
  const failures = []
  let next = 0
  let ok = 0

  function one (i) {
    const rid = `r${i}`
    const { method = 'GET', path, body } = request(i)
    return new Promise((resolve) => {
      const headers = { 'x-rid': rid }
      if (body !== undefined) {
        headers['content-type'] = 'application/json'
        headers['content-length'] = Buffer.byteLength(body)
      }
      const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => { text += chunk })
        res.on('end', () => {
          if (res.statusCode >= 200 && res.statusCode < 300) {
            ok++
            bodies.set(rid, text)
          } else if (failures.length < 5) {
            failures.push(`${rid} ${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`)
          }
          resolve()
        })
      })
      req.setTimeout(Math.max(1, deadline - Date.now()), () => req.destroy(new Error('timed out')))
      req.on('error', (err) => {
        if (failures.length < 5) failures.push(`${rid} ${method} ${path}: ${err.message}`)
        resolve()
      })
      req.end(body)
    })
  }

  async function worker () {
    while (next < total && Date.now() < deadline) await one(next++)
  }

  try {
    await Promise.all(Array.from({ length: concurrency }, worker))
  } finally {
    agent.destroy()
  }
  return { ok, failed: total - ok, failures, bodies }
}

module.exports = { runLoad }
