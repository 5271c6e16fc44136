'use strict'

// Types versus runtime: the .d.ts files say what the JS exports, and this
// test holds them to it, both ways, with the TypeScript compiler API. Run by
// `npm run test:types` (and with the JS tests).
//
// What is compared, module by module:
//   lib/store/segment-store.js      ↔ lib/store/segment-store.d.ts
//   lib/context/*.js, together      ↔ lib/context/managers.d.ts
//   lib/api/<name>.js               ↔ lib/api/<name>.d.ts, for every <name>
//   index.js                        ↔ index.d.ts
//
// lib/context has one declaration file for the folder: the exports of its
// modules, taken together, are what managers.d.ts declares, except
//   - the modules of CONTEXT_INTERNAL_MODULES (helpers of the managers,
//     reachable from no public module), whose exports are not declared, and
//   - the exports of CONTEXT_INTERNAL_EXPORTS (shared between the folder's
//     modules, or read by tests), which must exist at run time and must not
//     be declared.
// A new lib/context module, or a new export, therefore fails here until it
// is declared or listed as internal. lib/native/, lib/validate.js and the
// store's other modules (layout, payload, ids, utf8) are internal and have
// no declarations; every other .js file under lib/ must be in the table.
//
// For each module: the runtime export names equal the declared value
// exports (interfaces and type aliases are not run-time values; `export
// type { Class }` is a type), and a declared function, class or constant is
// one at run time. For each exported class: its base class, its public
// prototype members (names not starting with `_`, own and inherited up to
// Object.prototype, `constructor` aside) and its static members equal the
// declared ones (inherited through `extends` included), with the same kind:
// a method is declared as a method, a getter-only accessor as a `readonly`
// property. A member declared `abstract` is supplied by the subclasses: it
// must not be on the abstract class's own prototype chain, and every
// concrete subclass must have it.
//
// Last, index.d.ts must re-export every declaration of the lib .d.ts files
// (types too) but those of NOT_REEXPORTED.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const ts = require('typescript')

const ROOT = path.join(__dirname, '..', '..')

/** lib/context modules that are helpers of the managers: not declared. */
const CONTEXT_INTERNAL_MODULES = {
  'bind-function.js': 'the bound-function wrapper, used by ContextManagerBase#bindFunction',
  'bind-emitter.js': 'EmitterBinder, used by ContextManagerBase#bindEmitter',
  'diagnostics.js': 'the diagnostics ring, used by ContextManagerBase',
  'legacy-hook.js': 'the process\'s one hook, shared by every LegacyContextManager',
  'settle.js': 'ending a segment when a promise settles, used by runAndEnd'
}

/** Exports of lib/context modules that are not part of the declared API. */
const CONTEXT_INTERNAL_EXPORTS = {
  'base-manager.js': { MANAGER_OPTIONS: 'the option keys of both managers, for validation' },
  'legacy-manager.js': {
    checkLegacyOptions: 'used by create-context-manager.js to check config.legacy'
  }
}

/** Modules under lib/ with no declarations (internal layers). */
const INTERNAL = [/^lib\/native\//, /^lib\/validate\.js$/, /^lib\/store\/(layout|payload|ids|utf8|strings)\.js$/]

/** Declarations of lib .d.ts files that index.d.ts does not re-export. */
const NOT_REEXPORTED = {
  'lib/store/segment-store.d.ts': { defineSegmentStore: 'internal: the package exports the store made for the binding it loaded' }
}

/** The runtime ↔ declaration pairs. */
function modulePairs () {
  const contextDir = path.join(ROOT, 'lib', 'context')
  const contextModules = fs.readdirSync(contextDir).filter((f) => f.endsWith('.js')).sort()
  const apiDir = path.join(ROOT, 'lib', 'api')
  const apiModules = fs.readdirSync(apiDir).filter((f) => f.endsWith('.js')).sort()
  // index last: a class is compared once, under the first module that
  // exports it, so a mismatch is reported where the class is defined.
  return [
    { name: 'lib/store/segment-store', runtime: ['lib/store/segment-store.js'], declared: 'lib/store/segment-store.d.ts' },
    {
      name: 'lib/context',
      runtime: contextModules.filter((f) => !(f in CONTEXT_INTERNAL_MODULES)).map((f) => `lib/context/${f}`),
      declared: 'lib/context/managers.d.ts',
      internalExports: CONTEXT_INTERNAL_EXPORTS
    },
    ...apiModules.map((f) => ({
      name: `lib/api/${f.slice(0, -3)}`,
      runtime: [`lib/api/${f}`],
      declared: `lib/api/${f.slice(0, -3)}.d.ts`
    })),
    { name: 'index', runtime: ['index.js'], declared: 'index.d.ts' }
  ]
}

// ---------------------------------------------------------------------------
// The declared side, read with the compiler API.

/** A program over the given declaration files (`host` for in-memory files in the self-check). */
function makeProgram (files, host) {
  const options = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: ['node'],
    skipLibCheck: true
  }
  return ts.createProgram({ rootNames: files, options, host })
}

/** True when `symbol` reaches its target through an `export type`/`import type` somewhere on the way. */
function isTypeOnlyAlias (checker, symbol) {
  const seen = new Set()
  let s = symbol
  while (s !== undefined && (s.flags & ts.SymbolFlags.Alias) !== 0 && !seen.has(s)) {
    seen.add(s)
    for (const d of s.declarations ?? []) {
      if ((ts.isExportSpecifier(d) || ts.isImportSpecifier(d)) && (d.isTypeOnly || d.parent.parent.isTypeOnly)) return true
      if (ts.isImportClause(d) && d.isTypeOnly) return true
      if (ts.isNamespaceImport(d) && d.parent.isTypeOnly) return true
    }
    s = checker.getImmediateAliasedSymbol(s)
  }
  return false
}

/** The target of an alias (or the symbol itself). */
function resolved (checker, symbol) {
  return (symbol.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(symbol) : symbol
}

/**
 * The exports a declaration file declares: name → { kind: 'class' |
 * 'function' | 'const' | 'type', symbol }.
 */
function declaredExports (program, file) {
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(file)
  assert.ok(source, `${file} is in the program`)
  const moduleSymbol = checker.getSymbolAtLocation(source)
  assert.ok(moduleSymbol, `${file} is a module`)
  const out = new Map()
  for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
    const target = resolved(checker, symbol)
    let kind = 'type'
    if (!isTypeOnlyAlias(checker, symbol)) {
      if (target.flags & ts.SymbolFlags.Class) kind = 'class'
      else if (target.flags & ts.SymbolFlags.Function) kind = 'function'
      else if (target.flags & ts.SymbolFlags.Value) kind = 'const'
    }
    out.set(symbol.getName(), { kind, symbol: target })
  }
  return out
}

function modifierFlags (declaration) {
  return ts.getCombinedModifierFlags(declaration)
}

/** The kind of a declared member: 'method', 'getter' (read-only) or 'property'. */
function declaredKind (declarations) {
  if (declarations.some((d) => ts.isMethodDeclaration(d) || ts.isMethodSignature(d))) return 'method'
  const getter = declarations.some(ts.isGetAccessorDeclaration)
  const setter = declarations.some(ts.isSetAccessorDeclaration)
  if (getter || setter) return getter && !setter ? 'getter' : 'property'
  const readonly = declarations.some((d) => (modifierFlags(d) & ts.ModifierFlags.Readonly) !== 0)
  return readonly ? 'getter' : 'property'
}

/**
 * The public members a declared class has, inherited ones included: name →
 * { kind, abstract, owner (the declaring class's name) }. Private and
 * protected members are left out.
 */
function declaredMembers (checker, classSymbol, which) {
  const type = which === 'static'
    ? checker.getTypeOfSymbol(classSymbol)
    : checker.getDeclaredTypeOfSymbol(classSymbol)
  const out = new Map()
  for (const prop of checker.getPropertiesOfType(type)) {
    const name = prop.getName()
    if (which === 'static' && name === 'prototype') continue
    const declarations = prop.getDeclarations() ?? []
    if (declarations.length === 0) continue
    const flags = declarations.map(modifierFlags).reduce((a, b) => a | b, 0)
    if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue
    const owner = declarations[0].parent
    out.set(name, {
      kind: declaredKind(declarations),
      abstract: (flags & ts.ModifierFlags.Abstract) !== 0,
      owner: owner && owner.name ? owner.name.getText() : '?'
    })
  }
  return out
}

/** The name of the class a declared class extends, or null. */
function declaredBase (checker, classSymbol) {
  const bases = checker.getBaseTypes(checker.getDeclaredTypeOfSymbol(classSymbol))
  if (bases.length === 0) return null
  const symbol = bases[0].getSymbol()
  return symbol ? symbol.getName() : '?'
}

// ---------------------------------------------------------------------------
// The runtime side.

function isClass (value) {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value))
}

function runtimeKind (descriptor) {
  if (descriptor.get || descriptor.set) return descriptor.get && !descriptor.set ? 'getter' : 'property'
  return typeof descriptor.value === 'function' ? 'method' : 'property'
}

/** Public prototype members, own and inherited up to Object.prototype: name → { kind, owner }. */
function runtimeMembers (Class) {
  const out = new Map()
  for (let p = Class.prototype; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const key of Object.getOwnPropertyNames(p)) {
      if (key === 'constructor' || key.startsWith('_') || out.has(key)) continue
      out.set(key, { kind: runtimeKind(Object.getOwnPropertyDescriptor(p, key)), owner: p.constructor.name })
    }
  }
  return out
}

/** Public static members, own and inherited from base classes. */
function runtimeStatics (Class) {
  const out = new Map()
  for (let c = Class; c !== null && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    for (const key of Object.getOwnPropertyNames(c)) {
      if (['length', 'name', 'prototype'].includes(key) || key.startsWith('_') || out.has(key)) continue
      out.set(key, { kind: runtimeKind(Object.getOwnPropertyDescriptor(c, key)), owner: c.name })
    }
  }
  return out
}

// ---------------------------------------------------------------------------
// The comparisons: each returns a list of mismatches, as sentences.

/** Runtime exports (`runtime`: name → value) against the declared ones. */
function compareExports (where, runtime, declared, internal = new Map()) {
  const problems = []
  const values = [...declared].filter(([, d]) => d.kind !== 'type')
  for (const [name, reason] of internal) {
    if (!runtime.has(name)) problems.push(`${where}: ${name} is listed as internal (${reason}) but not exported at run time`)
    if (declared.has(name)) problems.push(`${where}: ${name} is listed as internal but declared`)
  }
  for (const [name, value] of runtime) {
    if (internal.has(name)) continue
    const d = declared.get(name)
    if (d === undefined) problems.push(`${where}: ${name} is exported at run time but not declared`)
    else if (d.kind === 'type') problems.push(`${where}: ${name} is exported at run time but declared as a type only`)
    else if (d.kind === 'class' && !isClass(value)) problems.push(`${where}: ${name} is declared as a class but is ${describeValue(value)} at run time`)
    else if (d.kind === 'function' && (typeof value !== 'function' || isClass(value))) problems.push(`${where}: ${name} is declared as a function but is ${describeValue(value)} at run time`)
    else if (d.kind === 'const' && isClass(value)) problems.push(`${where}: ${name} is a class at run time but declared as a constant`)
  }
  for (const [name] of values) {
    if (!runtime.has(name)) problems.push(`${where}: ${name} is declared but not exported at run time`)
  }
  return problems
}

function describeValue (value) {
  if (isClass(value)) return 'a class'
  if (typeof value === 'function') return 'a function'
  return value === null ? 'null' : typeof value
}

/** One member map against the other, both ways. */
function compareMembers (where, runtime, declared, { abstractHere }) {
  const problems = []
  for (const [name, r] of runtime) {
    const d = declared.get(name)
    if (d === undefined) problems.push(`${where}: ${name} (${r.kind}, on ${r.owner}) exists at run time but is not declared`)
    else if (d.abstract && abstractHere) problems.push(`${where}: ${name} is declared abstract but implemented on ${r.owner}`)
    else if (d.kind !== r.kind) problems.push(`${where}: ${name} is a ${r.kind} at run time but declared as a ${d.kind}`)
  }
  for (const [name, d] of declared) {
    if (runtime.has(name)) continue
    if (d.abstract && abstractHere) continue // supplied by the subclasses
    problems.push(`${where}: ${name} is declared (${d.kind}, on ${d.owner}) but missing at run time`)
  }
  return problems
}

/** An exported class: base, prototype members and statics, both ways. */
function compareClass (where, checker, symbol, Class) {
  const problems = []
  const isAbstract = (symbol.declarations ?? []).some((d) => (modifierFlags(d) & ts.ModifierFlags.Abstract) !== 0)
  const runtimeBase = Object.getPrototypeOf(Class) === Function.prototype ? null : Object.getPrototypeOf(Class).name
  const base = declaredBase(checker, symbol)
  if (runtimeBase !== base) problems.push(`${where}: extends ${runtimeBase ?? 'nothing'} at run time but is declared to extend ${base ?? 'nothing'}`)
  problems.push(...compareMembers(where, runtimeMembers(Class), declaredMembers(checker, symbol, 'instance'), { abstractHere: isAbstract }))
  problems.push(...compareMembers(`${where} (static)`, runtimeStatics(Class), declaredMembers(checker, symbol, 'static'), { abstractHere: false }))
  return problems
}

/** Everything for one runtime ↔ declaration pair. */
function comparePair (program, pair, compared = new Map()) {
  const checker = program.getTypeChecker()
  const declared = declaredExports(program, path.join(ROOT, pair.declared))
  const runtime = new Map()
  const internal = new Map()
  const problems = []
  for (const file of pair.runtime) {
    const exports = require(path.join(ROOT, file))
    const base = path.basename(file)
    for (const [name, reason] of Object.entries(pair.internalExports?.[base] ?? {})) internal.set(name, `${file}: ${reason}`)
    for (const [name, value] of Object.entries(exports)) {
      if (runtime.has(name) && runtime.get(name) !== value) problems.push(`${pair.name}: ${name} is exported by two modules with different values`)
      runtime.set(name, value)
    }
  }
  problems.push(...compareExports(pair.name, runtime, declared, internal))
  for (const [name, d] of declared) {
    const value = runtime.get(name)
    if (d.kind !== 'class' || !isClass(value) || compared.has(value)) continue
    compared.set(value, pair.name)
    problems.push(...compareClass(`${pair.name}: class ${name}`, checker, d.symbol, value))
  }
  return problems
}

function report (problems) {
  assert.equal(problems.length, 0, `${problems.length} mismatch(es) between the declarations and the runtime:\n  ${problems.join('\n  ')}`)
}

// ---------------------------------------------------------------------------

describe('declarations versus runtime', () => {
  const pairs = modulePairs()
  const program = makeProgram(pairs.map((p) => path.join(ROOT, p.declared)))
  const compared = new Map() // class → the pair that compared it, so each is compared once

  it('every .js module under lib/ is declared by a pair below or internal', () => {
    const covered = new Set(pairs.flatMap((p) => p.runtime))
    for (const name of Object.keys(CONTEXT_INTERNAL_MODULES)) {
      assert.ok(fs.existsSync(path.join(ROOT, 'lib', 'context', name)), `CONTEXT_INTERNAL_MODULES lists lib/context/${name}, which does not exist`)
      covered.add(`lib/context/${name}`)
    }
    const problems = []
    for (const name of fs.readdirSync(path.join(ROOT, 'lib'), { recursive: true })) {
      const file = `lib/${String(name).split(path.sep).join('/')}`
      if (!file.endsWith('.js') || covered.has(file) || INTERNAL.some((re) => re.test(file))) continue
      problems.push(`${file} has no declarations and is not listed as internal`)
    }
    for (const p of pairs) {
      if (!fs.existsSync(path.join(ROOT, p.declared))) problems.push(`${p.name}: ${p.declared} is missing`)
    }
    report(problems)
  })

  for (const pair of pairs) {
    it(`${pair.runtime.length === 1 ? pair.runtime[0] : pair.name + '/*.js'} matches ${pair.declared}: exports, classes and their members`, () => {
      report(comparePair(program, pair, compared))
    })
  }

  it('compares every exported class', () => {
    const classes = new Map()
    for (const pair of pairs) comparePair(program, pair, classes)
    assert.deepEqual([...classes.keys()].map((c) => c.name).sort(), [
      'AsyncLocalContextManager', 'ContextManagerBase', 'ContextStorage', 'LegacyContextManager', 'OtelContextManager', 'SegmentStore'
    ])
  })

  it('index.d.ts re-exports every declaration of the lib .d.ts files (types included)', () => {
    const index = declaredExports(program, path.join(ROOT, 'index.d.ts'))
    const problems = []
    for (const pair of pairs) {
      if (pair.declared === 'index.d.ts') continue
      const skip = NOT_REEXPORTED[pair.declared] ?? {}
      for (const [name, d] of declaredExports(program, path.join(ROOT, pair.declared))) {
        const again = index.get(name)
        if (name in skip) {
          if (again !== undefined) problems.push(`${name} is listed in NOT_REEXPORTED but index.d.ts exports it`)
        } else if (again === undefined) {
          problems.push(`${pair.declared}: ${name} is not re-exported by index.d.ts`)
        } else if (again.symbol !== d.symbol) {
          problems.push(`index.d.ts: ${name} is not the declaration of ${pair.declared}`)
        }
      }
    }
    report(problems)
  })
})

describe('the comparison itself', () => {
  // An in-memory declaration file and runtime classes with one mismatch of
  // each kind: the checks above can fail, and say why.
  const FILE = path.join(ROOT, '__test__', 'types', '__self_check__.d.ts')
  const TEXT = `
    export declare abstract class Base { abstract need(): void; shared(): void; readonly size: number }
    export declare class Child extends Base { need(): void; own(): void; renamed(): void }
    export declare class Lone { method(): void; readonly count: number }
    export declare function helper(): void
    export declare const VERSION: string
    export interface Shape { x: number }
    export type { Lone as LoneType }
  `
  function selfCheckProgram () {
    const host = ts.createCompilerHost({})
    const getSourceFile = host.getSourceFile
    host.getSourceFile = (name, version, ...rest) => name === FILE
      ? ts.createSourceFile(name, TEXT, version)
      : getSourceFile.call(host, name, version, ...rest)
    const fileExists = host.fileExists
    host.fileExists = (name) => name === FILE || fileExists.call(host, name)
    return makeProgram([FILE], host)
  }

  it('reports missing and extra exports, members, wrong kinds, bases and abstract members', () => {
    class Base {
      shared () {}
      need () {} // declared abstract, yet implemented here
      get size () { return 1 }
    }
    class Child extends Base {
      own () {}
      renamedd () {} // a typo: `renamed` is declared
    }
    class Lone {
      get method () { return 1 } // declared as a method
      count () {} // declared as a readonly property
      static make () {} // a static nobody declared
      _private () {} // leading underscore: not public, never compared
    }
    const program = selfCheckProgram()
    const problems = comparePair(program, { name: 'self', runtime: [], declared: path.relative(ROOT, FILE) })
    assert.ok(problems.length > 0, 'with nothing at run time, everything declared is missing')

    const checker = program.getTypeChecker()
    const declared = declaredExports(program, FILE)
    assert.deepEqual([...declared].map(([name, d]) => [name, d.kind]).sort(), [
      ['Base', 'class'], ['Child', 'class'], ['Lone', 'class'], ['LoneType', 'type'], ['Shape', 'type'], ['VERSION', 'const'], ['helper', 'function']
    ])
    const runtime = new Map([['Base', Base], ['Child', Child], ['Lone', Lone], ['helper', class {}], ['extra', 1]])
    assert.deepEqual(compareExports('self', runtime, declared).sort(), [
      'self: VERSION is declared but not exported at run time',
      'self: extra is exported at run time but not declared',
      'self: helper is declared as a function but is a class at run time'
    ])
    assert.deepEqual(compareClass('Base', checker, declared.get('Base').symbol, Base), [
      'Base: need is declared abstract but implemented on Base'
    ])
    assert.deepEqual(compareClass('Child', checker, declared.get('Child').symbol, Child).sort(), [
      'Child: renamed is declared (method, on Child) but missing at run time',
      'Child: renamedd (method, on Child) exists at run time but is not declared'
    ])
    class NotAChild {}
    assert.deepEqual(compareClass('Child', checker, declared.get('Child').symbol, NotAChild).slice(0, 1), [
      'Child: extends nothing at run time but is declared to extend Base'
    ])
    assert.deepEqual(compareClass('Lone', checker, declared.get('Lone').symbol, Lone).sort(), [
      'Lone (static): make (method, on Lone) exists at run time but is not declared',
      'Lone: count is a method at run time but declared as a getter',
      'Lone: method is a getter at run time but declared as a method'
    ])
  })
})
