'use strict'

// The declarations of the customer API and of the bridge compile strictly
// (skipLibCheck off), with @opentelemetry/api installed (its own types are
// used) and without it (the local shapes are used, nothing becomes `any`).

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const ts = require('typescript')

const LIB = path.join(__dirname, '..', '..', 'lib')

/** Every diagnostic of a program, as text. */
function diagnostics (program) {
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : ''
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n')
  })
}

/** The type `active()` returns, and the file that declares it. */
function activeType (program, file) {
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(file)
  let found
  const visit = (node) => {
    if (ts.isVariableDeclaration(node) && node.name.getText(source) === 'probe') found = node
    ts.forEachChild(node, visit)
  }
  visit(source)
  assert.ok(found, 'the probe variable')
  const type = checker.getTypeAtLocation(found)
  const declaration = type.getSymbol()?.getDeclarations()?.[0]
  return {
    name: checker.typeToString(type),
    declaredIn: declaration ? declaration.getSourceFile().fileName : null,
    isAny: (type.flags & ts.TypeFlags.Any) !== 0
  }
}

const STRICT = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  skipLibCheck: false,
  exactOptionalPropertyTypes: true,
  noUnusedLocals: true
}

describe('types of createContextApi and OtelContextManager', () => {
  it('__test__/types/context-api-types.ts compiles with __test__/types/tsconfig.context-api.json', () => {
    const configPath = path.join(__dirname, '..', 'types', 'tsconfig.context-api.json')
    const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')) }
    })
    assert.deepEqual(config.errors, [])
    const program = ts.createProgram(config.fileNames, config.options)
    assert.deepEqual(diagnostics(program), [])
  })

  it('with @opentelemetry/api installed, active() is typed as the API\'s own Context', () => {
    const file = path.join(__dirname, 'otel-types-probe.ts')
    const text = "import { OtelContextManager } from '../../lib/api/otel-bridge'\n" +
      'export const probe = new OtelContextManager().active()\n'
    const host = ts.createCompilerHost({ ...STRICT, types: [] })
    const read = host.readFile
    host.readFile = (name) => (path.resolve(name) === file ? text : read.call(host, name))
    const exists = host.fileExists
    host.fileExists = (name) => path.resolve(name) === file || exists.call(host, name)
    const program = ts.createProgram([file], { ...STRICT, types: [] }, host)
    assert.deepEqual(diagnostics(program), [])
    const type = activeType(program, file)
    assert.equal(type.isAny, false)
    assert.equal(type.name, 'Context')
    assert.match(type.declaredIn, /node_modules[\\/]@opentelemetry[\\/]api[\\/]/)
  })

  it('without @opentelemetry/api, the declarations compile and use the local shapes', (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segment-context-types-'))
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
    for (const name of fs.readdirSync(LIB, { recursive: true })) {
      if (!String(name).endsWith('.d.ts')) continue
      fs.mkdirSync(path.join(dir, 'lib', path.dirname(String(name))), { recursive: true })
      fs.copyFileSync(path.join(LIB, String(name)), path.join(dir, 'lib', String(name)))
    }
    const file = path.join(dir, 'use.ts')
    fs.writeFileSync(file, [
      "import { OtelContextManager, type OtelContext } from './lib/api/otel-bridge'",
      "import { createContextApi } from './lib/api/context-api'",
      "import { AsyncLocalContextManager } from './lib/context/managers'",
      'const bridge = new OtelContextManager({ manager: new AsyncLocalContextManager() })',
      'export const probe = bridge.active()',
      'const value: unknown = probe.getValue(Symbol("k"))',
      'const same: OtelContext = probe.setValue(Symbol("k"), 1)',
      'const n: number = bridge.with(probe, (x: number) => x, undefined, 1)',
      'bridge.attach(same).dispose()',
      '// @ts-expect-error a Context is not a number: the shape is not any',
      'const wrong: number = bridge.active()',
      'const api = createContextApi(new AsyncLocalContextManager<number>())',
      'const ctx: number | null = api.getContext()',
      'void [value, n, wrong, ctx]',
      ''
    ].join('\n'))
    const options = { ...STRICT, types: [] }
    const program = ts.createProgram([file], options)
    assert.equal(ts.resolveModuleName('@opentelemetry/api', file, options, ts.sys).resolvedModule, undefined,
      'no @opentelemetry/api is reachable from the temporary directory')
    assert.deepEqual(diagnostics(program), [])
    const type = activeType(program, file)
    assert.equal(type.isAny, false)
    assert.equal(type.name, 'OtelContextShape')
  })
})
