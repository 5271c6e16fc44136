'use strict'

// A throwaway PostgreSQL cluster for the integration tests and for the demo's
// `--db postgres`: initdb in a temp dir (trust auth, fsync off, a unix socket
// in that dir, optionally 127.0.0.1 on a free port), `pg_ctl start -w`, and
// always `pg_ctl stop -m immediate` plus removal of the dir: from stop(), and
// on process exit and SIGINT/SIGTERM/SIGHUP.
//
// The server binaries: $SEGMENT_CONTEXT_PG_BIN, else the newest
// /usr/lib/postgresql/<ver>/bin (Debian's layout). initdb refuses root, so as
// root the server runs as the `postgres` system user (runuser), the temp dir
// chowned to it; otherwise it runs as the current user.
//
//   const { startPostgres, postgresOrSkip } = require('./postgres')
//   const pg = await startPostgres()  // throws PostgresUnavailable with the reason
//   pg.config                         // { host, port, user, database } for `new pg.Pool()`
//   await pg.stop()
//
// In node:test files, postgresOrSkip(t) gives the cluster, or, when it cannot
// be had, fails the test with the reason when process.env.CI is set and
// skips it with the reason otherwise (never a pass).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const net = require('node:net')
const { execFile, spawnSync } = require('node:child_process')

const DEBIAN_ROOT = '/usr/lib/postgresql'
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP']

/** PostgreSQL is not installed or could not start; `message` says why. */
class PostgresUnavailable extends Error {
  constructor (message) {
    super(message)
    this.name = 'PostgresUnavailable'
  }
}

/** The directory holding initdb, pg_ctl and postgres, or throws PostgresUnavailable. */
function findBin (env = process.env) {
  const has = (dir) => ['initdb', 'pg_ctl', 'postgres'].every((f) => fs.existsSync(path.join(dir, f)))
  if (env.SEGMENT_CONTEXT_PG_BIN) {
    const dir = env.SEGMENT_CONTEXT_PG_BIN
    if (!has(dir)) throw new PostgresUnavailable(`SEGMENT_CONTEXT_PG_BIN=${dir} has no initdb, pg_ctl and postgres`)
    return dir
  }
  let versions = []
  try {
    versions = fs.readdirSync(DEBIAN_ROOT).filter((v) => /^\d+(\.\d+)?$/.test(v))
  } catch {}
  versions.sort((a, b) => Number(b) - Number(a))
  for (const v of versions) {
    const dir = path.join(DEBIAN_ROOT, v, 'bin')
    if (has(dir)) return dir
  }
  throw new PostgresUnavailable(`PostgreSQL server binaries not found in ${DEBIAN_ROOT}/<version>/bin ` +
    '(install postgresql, or set SEGMENT_CONTEXT_PG_BIN to the directory of initdb and pg_ctl)')
}

/** As root: the uid and gid of the `postgres` system user, or throws. Otherwise null. */
function serverUser () {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
  if (r.status !== 0 || g.status !== 0) {
    throw new PostgresUnavailable('running as root, and there is no `postgres` system user to run the server as')
  }
  return { name: 'postgres', uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) }
}

/** [file, args] running `bin/cmd args` as `user` (runuser) or as ourselves. */
function command (user, bin, cmd, args) {
  const file = path.join(bin, cmd)
  return user === null ? [file, args] : ['runuser', ['-u', user.name, '--', file, ...args]]
}

function run (user, bin, cmd, args, timeoutMs) {
  const [file, argv] = command(user, bin, cmd, args)
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new PostgresUnavailable(`${cmd} failed: ${(stderr || err.message).trim().split('\n').slice(-3).join(' / ')}`))
      else resolve(stdout)
    })
  })
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
function freePort () {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

// Clusters started by this process and not yet stopped: stopped at exit.
const running = new Set()
let hooked = false
const handlers = {} // our signal listeners, removed before re-raising

function stopSync (cluster) {
  if (!running.delete(cluster)) return
  const [file, argv] = command(cluster.user, cluster.bin, 'pg_ctl', ['-D', cluster.dataDir, '-m', 'immediate', '-w', '-t', '10', 'stop'])
  spawnSync(file, argv, { stdio: 'ignore', timeout: 15000 })
  fs.rmSync(cluster.dir, { recursive: true, force: true })
}

function hookExit () {
  if (hooked) return
  hooked = true
  process.on('exit', () => {
    for (const cluster of [...running]) stopSync(cluster)
  })
  for (const signal of SIGNALS) {
    const onSignal = () => {
      for (const cluster of [...running]) stopSync(cluster)
      // Die of the signal as we would have without this listener.
      for (const s of SIGNALS) process.removeListener(s, handlers[s])
      process.kill(process.pid, signal)
    }
    handlers[signal] = onSignal
    process.on(signal, onSignal)
  }
}

/**
 * Starts a throwaway cluster. Rejects with PostgresUnavailable (the reason in
 * its message) when PostgreSQL is missing or does not start; nothing is left
 * behind then.
 * @param {object} [options]
 * @param {boolean} [options.tcp] also listen on 127.0.0.1 (a free port)
 * @param {number} [options.maxConnections] default 40
 * @param {number} [options.timeoutMs] for initdb and for the start, default 60000
 * @returns {Promise<{ config: {host: string, port: number, user: string, database: string},
 *   tcp: {host: string, port: number}|null, dir: string, version: string, stop: () => Promise<void> }>}
 */
async function startPostgres (options = {}) {
  const timeoutMs = options.timeoutMs ?? 60000
  const bin = findBin()
  const user = serverUser()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segctx-pg-'))
  const dataDir = path.join(dir, 'data')
  const cluster = { bin, user, dir, dataDir }
  running.add(cluster)
  hookExit()
  try {
    if (user !== null) fs.chownSync(dir, user.uid, user.gid)
    await run(user, bin, 'initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], timeoutMs)
    // The unix socket's name carries a port number even without TCP: inside
    // our own dir, any number is free.
    const port = options.tcp ? await freePort() : 5432
    const serverOptions = [
      `-p ${port}`,
      `-k ${dir}`,
      `-c listen_addresses=${options.tcp ? '127.0.0.1' : "''"}`,
      '-F', // fsync off
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      `-c max_connections=${options.maxConnections ?? 40}`
    ].join(' ')
    await run(user, bin, 'pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'server.log'), '-w', '-t', String(Math.ceil(timeoutMs / 1000)),
      '-o', serverOptions, 'start'], timeoutMs + 5000)
    const version = (await run(user, bin, 'postgres', ['--version'], 10000)).trim()
    return {
      config: { host: dir, port, user: 'postgres', database: 'postgres' },
      tcp: options.tcp ? { host: '127.0.0.1', port } : null,
      dir,
      version,
      /** Stops the server (immediate mode) and removes its dir; idempotent. */
      async stop () {
        if (!running.has(cluster)) return
        running.delete(cluster)
        try {
          await run(user, bin, 'pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', '-t', '10', 'stop'], 15000)
        } catch {
          // Already gone (or never fully up): the removal below is what matters.
        } finally {
          fs.rmSync(dir, { recursive: true, force: true })
        }
      }
    }
  } catch (err) {
    let log = ''
    try {
      log = fs.readFileSync(path.join(dir, 'server.log'), 'utf8').trim().split('\n').slice(-3).join(' / ')
    } catch {}
    stopSync(cluster)
    if (err instanceof PostgresUnavailable) {
      if (log) err.message += ` (server log: ${log})`
      throw err
    }
    throw new PostgresUnavailable(`PostgreSQL could not start: ${err.message}`)
  }
}

/**
 * For node:test files: one cluster per file, started in `before()` and
 * stopped in `after()`. `get(t)` returns it inside a test, or null after
 * failing the test (CI) or skipping it (elsewhere) with the reason.
 * @param {{ before: Function, after: Function }} hooks node:test's before/after
 */
function postgresForTests ({ before, after }, options) {
  let cluster = null
  let reason = null
  before(async () => {
    try {
      cluster = await startPostgres(options)
    } catch (err) {
      if (!(err instanceof PostgresUnavailable)) throw err
      reason = err.message
    }
  })
  after(async () => {
    if (cluster !== null) await cluster.stop()
  })
  return {
    /** The cluster, or null once `t` is failed (CI) or skipped (elsewhere) with the reason. */
    get (t) {
      if (cluster !== null) return cluster
      const why = `PostgreSQL unavailable: ${reason ?? 'not started'}`
      if (process.env.CI) throw new Error(why)
      t.skip(why)
      return null
    }
  }
}

module.exports = { startPostgres, postgresForTests, findBin, PostgresUnavailable }
