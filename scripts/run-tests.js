'use strict'

// Runs the Node test suite: every __test__/**/*.test.js file (or the folders
// given, e.g. `node scripts/run-tests.js store context`), one file at a time,
// with the Node binary running this script. `--backend js` runs it on the
// pure-JS backend (SEGMENT_CONTEXT_BACKEND=js). Node 20 has no glob for
// --test, so the files are listed here.

const { spawnSync } = require('node:child_process')
const { readdirSync } = require('node:fs')
const path = require('node:path')
const { parseArgs } = require('node:util')

const root = path.join(__dirname, '..')
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { backend: { type: 'string', default: 'auto' } }
})
if (!['auto', 'native', 'js'].includes(values.backend)) {
  console.error(`run-tests: --backend must be auto, native or js, got ${values.backend}`)
  process.exit(2)
}

const folders = positionals.length > 0 ? positionals : ['.']
const files = []
for (const folder of folders) {
  const dir = path.join(root, '__test__', folder)
  for (const name of readdirSync(dir, { recursive: true })) {
    if (String(name).endsWith('.test.js')) files.push(path.join('__test__', folder, String(name)))
  }
}
files.sort()

const env = { ...process.env }
if (values.backend !== 'auto') env.SEGMENT_CONTEXT_BACKEND = values.backend
console.error(`run-tests: ${files.length} files on Node ${process.version}, backend ${values.backend}`)
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { cwd: root, stdio: 'inherit', env })
process.exit(r.status ?? 1)
