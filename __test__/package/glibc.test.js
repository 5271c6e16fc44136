'use strict'

// The glibc floor check (scripts/check-glibc.js, `npm run test:glibc`): how
// it reads symbol versions and compares them, and that its command line
// fails a binary above the floor. The release binary itself is checked by
// `npm run test:glibc` after `npm run build:release`.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { compareVersions, glibcVersions, checkFile, FLOOR } = require('../../scripts/check-glibc')
const { platformTriple } = require('../../lib/native/platform')

const repo = path.join(__dirname, '..', '..')
const script = path.join(repo, 'scripts', 'check-glibc.js')
const devBuild = path.join(repo, `segment-context.${platformTriple()}.node`)
const onGnu = process.platform === 'linux' && platformTriple().endsWith('-gnu')
const needsBinary = onGnu && fs.existsSync(devBuild) ? false : 'needs a Linux glibc dev build (npm run build)'

const READELF = `
Symbol table '.dynsym' contains 5 entries:
   Num:    Value          Size Type    Bind   Vis      Ndx Name
     1: 0000000000000000     0 FUNC    WEAK   DEFAULT  UND __cxa_finalize@GLIBC_2.2.5 (2)
     2: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND memcpy@GLIBC_2.14 (3)
     3: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND pthread_key_create@GLIBC_2.34 (4)
     4: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND memmove@GLIBC_2.2.5 (2)
`
const OBJDUMP = `
DYNAMIC SYMBOL TABLE:
0000000000000000  w   DF *UND*  0000000000000000 (GLIBC_2.2.5) __cxa_finalize
0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.17)  clock_gettime
0000000000000000      DF *UND*  0000000000000000  GLIBC_2.3.4  __memcpy_chk
`

describe('compareVersions', () => {
  it('compares numerically, part by part', () => {
    assert.ok(compareVersions('2.17', '2.2.5') > 0)
    assert.ok(compareVersions('2.9', '2.17') < 0)
    assert.equal(compareVersions('2.17', '2.17.0'), 0)
    assert.ok(compareVersions('3.0', '2.99') > 0)
  })
})

describe('glibcVersions', () => {
  it('reads readelf --dyn-syms output, distinct and lowest first', () => {
    assert.deepEqual(glibcVersions(READELF), ['2.2.5', '2.14', '2.34'])
  })

  it('reads objdump -T output', () => {
    assert.deepEqual(glibcVersions(OBJDUMP), ['2.2.5', '2.3.4', '2.17'])
  })

  it('finds nothing in text without glibc versions', () => {
    assert.deepEqual(glibcVersions('GLIBCXX_3.4 malloc@GLIBC_PRIVATE'), [])
  })
})

describe('checkFile', () => {
  it('reads a real binary and splits off the versions above a floor', { skip: needsBinary }, () => {
    const { versions, over } = checkFile(devBuild, '2.2.5')
    assert.ok(versions.includes('2.2.5'), `versions: ${versions}`)
    assert.deepEqual(over, versions.filter((v) => v !== '2.2.5'))
    assert.ok(over.length > 0)
    assert.deepEqual(checkFile(devBuild, '999.0').over, [])
  })

  it('throws for a file that is not a binary', () => {
    assert.throws(() => checkFile(__filename), /cannot read the dynamic symbols/)
  })
})

describe('check-glibc command', () => {
  const cli = (...args) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' })

  it('fails a binary that needs more than --max, naming the versions', { skip: needsBinary }, () => {
    const r = cli('--max', '2.2.5', devBuild)
    assert.equal(r.status, 1)
    assert.match(r.stderr, /FAIL .* needs GLIBC_2\.\d+.*above the 2\.2\.5 floor/)
  })

  it('passes a binary within --max', { skip: needsBinary }, () => {
    const r = cli('--max', '999.0', devBuild)
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /ok .* highest GLIBC_/)
  })

  it('fails a file it cannot read', () => {
    const r = cli(__filename)
    assert.equal(r.status, 1)
  })

  it('has the 2.17 floor by default', () => {
    assert.equal(FLOOR, '2.17')
  })
})
