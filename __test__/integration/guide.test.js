'use strict'

// The agent author's guide (docs/agent-integration.md): every example under
// examples/agent-integration/ runs and its assertions hold (exit code 0, and
// 'ok' as its last line, printed only after the last assertion), and the
// guide links each of them, and only existing ones.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFile } = require('node:child_process')

const ROOT = path.join(__dirname, '..', '..')
const DIR = path.join(ROOT, 'examples', 'agent-integration')
const GUIDE = path.join(ROOT, 'docs', 'agent-integration.md')
const examples = fs.readdirSync(DIR).filter((f) => f.endsWith('.js')).sort()

function run (file) {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(DIR, file)], { timeout: 30000, env: { ...process.env, SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT: '' } },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }))
  })
}

describe('docs/agent-integration.md and its examples', () => {
  it('has the five examples the guide is built on', () => {
    assert.deepEqual(examples, [
      'bind-pool-callbacks.js',
      'diagnostics-channel.js',
      'null-to-empty-context.js',
      'replace-context-manager.js',
      'run-without-context.js'
    ])
  })

  it('links every example, and links nothing that does not exist', () => {
    const guide = fs.readFileSync(GUIDE, 'utf8')
    const linked = [...guide.matchAll(/\]\(\.\.\/examples\/agent-integration\/([\w-]+\.js)\)/g)].map((m) => m[1])
    assert.deepEqual([...new Set(linked)].sort(), examples)
  })

  for (const file of examples) {
    it(`${file} runs and its assertions hold on both managers`, async () => {
      const { code, stdout, stderr } = await run(file)
      assert.equal(code, 0, `${file} failed:\n${stderr}`)
      const lines = stdout.trim().split('\n')
      assert.equal(lines.at(-1), 'ok')
      assert.ok(lines.some((l) => l.startsWith('AsyncLocalContextManager:')), stdout)
      assert.ok(lines.some((l) => l.startsWith('LegacyContextManager:')), stdout)
    })
  }
})
