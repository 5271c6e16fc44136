'use strict'

// A tiny static npm registry for the install test: serves a packument
// (GET /<name>) and a tarball (GET /-/<file>.tgz) for each package it is
// given, on 127.0.0.1 and a free port, and 404 for anything else. Enough for
// `npm install` and `npm ls`; no publishing, search or audit.

const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')

/**
 * Starts the registry.
 * @param {Array<{ manifest: object, tarball: string }>} packages each
 *   package's package.json (as published) and the path of its .tgz
 * @returns {Promise<{ url: string, requests: string[], close: () => Promise<void> }>}
 */
async function startRegistry (packages) {
  const docs = new Map()
  const files = new Map()
  const requests = []
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    const name = decodeURIComponent(req.url.split('?')[0].slice(1))
    if (req.method === 'GET' && docs.has(name)) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(docs.get(name)))
    } else if (req.method === 'GET' && files.has(req.url)) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      fs.createReadStream(files.get(req.url)).pipe(res)
    } else {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end('{"error":"not found"}')
    }
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const url = `http://127.0.0.1:${server.address().port}/`

  for (const { manifest, tarball } of packages) {
    const data = fs.readFileSync(tarball)
    const route = `/-/${path.basename(tarball)}`
    files.set(route, tarball)
    const { name, version } = manifest
    const doc = docs.get(name) || { _id: name, name, 'dist-tags': {}, versions: {}, time: {} }
    doc.versions[version] = {
      ...manifest,
      _id: `${name}@${version}`,
      dist: {
        tarball: new URL(route.slice(1), url).href,
        shasum: crypto.createHash('sha1').update(data).digest('hex'),
        integrity: `sha512-${crypto.createHash('sha512').update(data).digest('base64')}`
      }
    }
    doc['dist-tags'].latest = version
    doc.time[version] = new Date(0).toISOString()
    docs.set(name, doc)
  }

  return {
    url,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

module.exports = { startRegistry }
