'use strict'

// Checks that a Linux binary needs no glibc newer than the floor (2.17): reads
// its dynamic symbol versions with `readelf --dyn-syms` (any architecture),
// or `objdump -T` when readelf is missing, and fails on any GLIBC_x.y above.
//
//   node scripts/check-glibc.js [--max 2.17] [file ...]
//
// Without files it checks every npm/linux-*-gnu/*.node present, and fails
// when there is none (run `npm run build:release` first). `npm run test:glibc`.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { parseArgs } = require('node:util')

const root = path.join(__dirname, '..')
const FLOOR = '2.17'

/** Compares dotted versions numerically: negative, 0 or positive. */
function compareVersions (a, b) {
  const x = a.split('.').map(Number)
  const y = b.split('.').map(Number)
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] || 0) - (y[i] || 0)
    if (d !== 0) return d
  }
  return 0
}

/**
 * The distinct glibc versions named in readelf or objdump output, lowest first.
 * @param {string} text
 * @returns {string[]} e.g. ['2.2.5', '2.14', '2.17']
 */
function glibcVersions (text) {
  const found = new Set()
  for (const m of String(text).matchAll(/\bGLIBC_(\d+(?:\.\d+)+)\b/g)) found.add(m[1])
  return [...found].sort(compareVersions)
}

/** The dynamic symbol table of `file` as text, from readelf or else objdump. */
function dynamicSymbols (file) {
  const tries = [['readelf', ['--dyn-syms', '--wide', file]], ['objdump', ['-T', file]]]
  const errors = []
  for (const [cmd, args] of tries) {
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    if (!r.error && r.status === 0) return r.stdout
    errors.push(`${cmd}: ${r.error ? r.error.message : r.stderr.trim()}`)
  }
  throw new Error(`cannot read the dynamic symbols of ${file} (${errors.join('; ')})`)
}

/**
 * The glibc versions `file` needs and those above `max`.
 * @param {string} file
 * @param {string} [max]
 * @returns {{ versions: string[], over: string[] }}
 */
function checkFile (file, max = FLOOR) {
  const versions = glibcVersions(dynamicSymbols(file))
  return { versions, over: versions.filter((v) => compareVersions(v, max) > 0) }
}

function defaultFiles () {
  const npm = path.join(root, 'npm')
  const files = []
  for (const dir of fs.existsSync(npm) ? fs.readdirSync(npm) : []) {
    if (!/^linux-.*-gnu$/.test(dir)) continue
    for (const f of fs.readdirSync(path.join(npm, dir))) {
      if (f.endsWith('.node')) files.push(path.join(npm, dir, f))
    }
  }
  return files
}

function main () {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { max: { type: 'string', default: FLOOR } } })
  const files = positionals.length > 0 ? positionals : defaultFiles()
  if (files.length === 0) {
    console.error('check-glibc: no npm/linux-*-gnu/*.node to check; run `npm run build:release` first')
    process.exit(1)
  }
  let failed = false
  for (const file of files) {
    const rel = path.relative(process.cwd(), file)
    let result
    try {
      result = checkFile(file, values.max)
    } catch (err) {
      console.error(`check-glibc: ${err.message}`)
      failed = true
      continue
    }
    const { versions, over } = result
    if (versions.length === 0) {
      console.error(`check-glibc: FAIL ${rel}: no GLIBC_ symbol versions found (not a glibc binary?)`)
      failed = true
    } else if (over.length > 0) {
      console.error(`check-glibc: FAIL ${rel} needs GLIBC_${over.join(', GLIBC_')}, above the ${values.max} floor`)
      failed = true
    } else {
      console.log(`check-glibc: ok ${rel}: highest GLIBC_${versions[versions.length - 1]} (floor ${values.max})`)
    }
  }
  process.exit(failed ? 1 : 0)
}

if (require.main === module) main()

module.exports = { compareVersions, glibcVersions, checkFile, FLOOR }
