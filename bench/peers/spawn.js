'use strict'

// The parent's side of one peer-benchmark child: a loopback HTTP sink for
// tracers that send to an agent (dd-trace), the child forked with
// --expose-gc and its stdout piped back (New Relic's serverless payloads go
// there), and both counted up to each `\0mark:<phase>` line the child
// writes. The sink's bodies and the stdout lines are kept, for the
// contender's decoder (the span trees of verify runs, and in every run the
// count of what reached the wire), which runs once the child has exited.

const http = require('node:http')
const path = require('node:path')
const { fork } = require('node:child_process')

const WORKER = path.join(__dirname, 'worker.js')

/** A server on 127.0.0.1 that reads and discards every request, counting bytes per path. */
function startSink ({ keep }) {
  const counts = { bytes: 0, requests: 0, byPath: {} }
  const bodies = []
  const server = http.createServer((req, res) => {
    const chunks = keep ? [] : null
    let n = 0
    req.on('data', (c) => {
      n += c.length
      if (chunks) chunks.push(c)
    })
    req.on('end', () => {
      const p = req.url.split('?')[0]
      counts.bytes += n
      counts.requests++
      const e = counts.byPath[p] || (counts.byPath[p] = { bytes: 0, requests: 0 })
      e.bytes += n
      e.requests++
      if (chunks) bodies.push({ path: p, headers: req.headers, body: Buffer.concat(chunks) })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
  })
  server.keepAliveTimeout = 60000
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        counts,
        bodies,
        snapshot: () => JSON.parse(JSON.stringify(counts)),
        close: () => new Promise((resolve) => {
          server.closeAllConnections?.()
          server.close(() => resolve())
        })
      })
    })
  })
}

/**
 * Runs contender module `file` in a fresh child through `phases`. Resolves
 * with { value (the child's result), marks: { [phase]: { stdoutBytes,
 * sink } }, stdout (its lines), sinkBodies, sink (the totals) }.
 */
async function runWorker ({ file, contender, phases, params, keep = true, timeoutMs = 600000 }) {
  const sink = await startSink({ keep })
  const env = { ...process.env }
  for (const [k, v] of Object.entries(contender.env || {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  const args = { file, phases, sinkUrl: sink.url, ...params }
  const child = fork(WORKER, ['--child', JSON.stringify(args)], {
    execArgv: ['--expose-gc', ...(contender.execArgv || [])],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env
  })
  const marks = {}
  let stdoutBytes = 0
  const kept = keep ? [] : null
  let pending = ''
  child.stdout.setEncoding('latin1')
  child.stdout.on('data', (chunk) => {
    // Lines: a marker is a line of its own; everything else is the contender's output.
    let text = pending + chunk
    let at
    while ((at = text.indexOf('\n')) >= 0) {
      const line = text.slice(0, at)
      text = text.slice(at + 1)
      if (line.startsWith('\0mark:')) {
        marks[line.slice(6)] = { stdoutBytes, sink: sink.snapshot() }
      } else {
        stdoutBytes += line.length + 1
        if (kept) kept.push(line)
      }
    }
    pending = text
  })
  const stdoutDone = new Promise((resolve) => child.stdout.on('end', resolve))
  try {
    const value = await new Promise((resolve, reject) => {
      let result
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`${file}: timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      child.on('message', (msg) => {
        if (msg && msg.type === 'result') result = msg.value
        else if (msg && msg.type === 'error') {
          clearTimeout(timer)
          reject(new Error(msg.message))
        }
      })
      child.on('error', (e) => {
        clearTimeout(timer)
        reject(e)
      })
      child.on('exit', (code, signal) => {
        clearTimeout(timer)
        if (result) resolve(result)
        else reject(new Error(`${file}: exited (${signal || code}) without a result`))
      })
    })
    await stdoutDone
    if (pending) {
      stdoutBytes += pending.length
      if (kept) kept.push(pending)
    }
    return { value, marks, stdoutBytes, stdout: kept, sinkBodies: sink.bodies, sink: sink.snapshot() }
  } finally {
    await sink.close()
  }
}

module.exports = { runWorker, startSink }
