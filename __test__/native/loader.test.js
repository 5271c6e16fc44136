'use strict'

// The loader's errors: a missing binary and one that is not loadable here
// (built for another platform) both say what to run.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { platformTriple } = require('../../lib/native/platform')

function packageCopy () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segment-context-loader-'))
  fs.mkdirSync(path.join(dir, 'lib'))
  for (const f of ['loader.js', 'platform.js']) {
    fs.copyFileSync(path.join(__dirname, '..', '..', 'lib', f), path.join(dir, 'lib', f))
  }
  return dir
}

test('a missing binary is an error that names the file and says to run npm run build', (t) => {
  const dir = packageCopy()
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  assert.throws(() => require(path.join(dir, 'lib', 'loader.js')), (err) => {
    assert.match(err.message, new RegExp(`segment-context\\.${platformTriple()}\\.node is missing`))
    assert.match(err.message, /npm run build/)
    return true
  })
})

test('a binary that does not load here is an error that says so and what to run', (t) => {
  const dir = packageCopy()
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, `segment-context.${platformTriple()}.node`), 'not an ELF file')
  assert.throws(() => require(path.join(dir, 'lib', 'loader.js')), (err) => {
    assert.match(err.message, /could not be loaded/)
    assert.match(err.message, /built for another platform/)
    assert.match(err.message, /npm run build/)
    assert.ok(err.cause instanceof Error, 'the original error is kept as the cause')
    return true
  })
})

test('the platform triple names this platform', () => {
  assert.match(platformTriple(), new RegExp(`^${process.platform}-${process.arch}(-gnu|-musl|-msvc)?$`))
})
