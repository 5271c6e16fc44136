'use strict'

// Every method, every argument, against a list of bad and odd values: each
// call either throws TypeError/RangeError whose message names the argument,
// or returns what the contract documents. A throwing call changes nothing.
// Afterwards the store's counts are what the successful calls made,
// verify() is empty and a normal transaction still works.

const test = require('node:test')
const assert = require('node:assert/strict')
const { SegmentStore } = require('../..')
const { refCut, utf8Len, normalize, isHandleValue } = require('../helpers/store-util')

const MB = 1 << 20
const { hostileValues, BIG, LONE } = require('../helpers/hostile-values')

/** The value list of the brief, plus a stale handle and a foreign one. */
function values (store, tracker) {
  const other = new SegmentStore()
  const foreign = other.startSegment(other.startTransaction('foreign', 0), 'f', 0)
  assert.equal(other.isActive(foreign), true)
  const r = tracker.startTransaction('to be stale', 0)
  const stale = tracker.startSegment(r, 'stale', 0)
  tracker.end(r, 1)
  assert.equal(store.isActive(stale), false)
  assert.equal(store.isActive(foreign), false, 'a live handle of another store')
  return hostileValues(stale, foreign, other) // keeps the other store alive
}

/** What the contract says for a value in an argument of a kind. */
function expectFor (kind, v) {
  switch (kind) {
    case 'handle':
      return typeof v === 'number' || v === null ? 'ok' : TypeError
    case 'time':
      if (v === undefined) return 'ok'
      if (typeof v !== 'number') return TypeError
      return Number.isFinite(v) && v >= 0 ? 'ok' : RangeError
    case 'name':
      return typeof v === 'string' ? 'ok' : TypeError
    case 'key':
      if (typeof v !== 'string') return TypeError
      return v === '' ? RangeError : 'ok'
    case 'value':
      if (typeof v === 'string' || typeof v === 'boolean') return 'ok'
      if (typeof v === 'number') return Number.isFinite(v) ? 'ok' : RangeError
      return TypeError
  }
  throw new Error(`kind ${kind}`)
}

/**
 * Time values the contract accepts (finite, >= 0) but that lie beyond 2^53:
 * kept out of the matrix and tested on their own below, so that one finding
 * fails one test.
 */
function beyondSafe (v) {
  return typeof v === 'number' && v > Number.MAX_SAFE_INTEGER && Number.isFinite(v)
}

/**
 * Runs `fn` and checks it against `expected` ('ok' or an error class);
 * `arg` must appear in the message. Returns the result when ok.
 */
function check (label, expected, arg, fn) {
  let result
  let error = null
  try {
    result = fn()
  } catch (e) {
    error = e
  }
  if (expected === 'ok') {
    assert.equal(error, null, `${label}: should not throw, threw ${error && error.name}: ${error && error.message}`)
    return result
  }
  assert.ok(error !== null, `${label}: should throw ${expected.name}, returned ${typeof result === 'symbol' ? 'a symbol' : String(result)}`)
  assert.equal(error.constructor, expected, `${label}: threw ${error.name}: ${error.message}, want ${expected.name}`)
  assert.equal(typeof error.message, 'string')
  assert.ok(error.message.includes(arg), `${label}: message "${error.message}" should name ${arg}`)
  assert.ok(error.message.length < 10000, `${label}: message is ${error.message.length} characters long`)
  return undefined
}

/** Keeps count of what the store should hold. */
class Tracker {
  constructor (store) {
    this.s = store
    this.live = new Map() // root -> segment count
    this.totalTransactions = 0
    this.totalSegments = 0
  }

  startTransaction (name, time) {
    const h = this.s.startTransaction(name, time)
    this.added(h)
    return h
  }

  added (h) {
    assert.ok(isHandleValue(h), `handle ${h}`)
    this.live.set(h, 1)
    this.totalTransactions++
    this.totalSegments++
  }

  startSegment (parent, name, time) {
    const h = this.s.startSegment(parent, name, time)
    assert.notEqual(h, null)
    this.addedSegment(h)
    return h
  }

  addedSegment (h) {
    assert.ok(isHandleValue(h), `handle ${h}`)
    const root = this.s.transactionOf(h)
    this.live.set(root, this.live.get(root) + 1)
    this.totalSegments++
  }

  end (h, time, json = false) {
    const root = this.s.transactionOf(h)
    const t = json ? JSON.parse(this.s.endTransactionJSON(h, time)) : this.s.endTransaction(h, time)
    this.ended(root, t)
    return t
  }

  ended (root, trace) {
    assert.equal(trace.segmentCount, this.live.get(root))
    this.live.delete(root)
  }

  /** stats() agrees with the count, verify() is empty. */
  consistent () {
    let segs = 0
    for (const n of this.live.values()) segs += n
    const st = this.s.stats()
    assert.equal(st.liveTransactions, this.live.size, 'liveTransactions')
    assert.equal(st.liveSegments, segs, 'liveSegments')
    assert.equal(st.totalTransactions, this.totalTransactions, 'totalTransactions')
    assert.equal(st.totalSegments, this.totalSegments, 'totalSegments')
    assert.equal(st.droppedSegments, 0, 'droppedSegments')
    assert.deepEqual(this.s.verify(), [])
    for (const root of this.live.keys()) assert.equal(this.s.isActive(root), true)
  }

  /** Ends everything, checks zero live, and runs one normal transaction. */
  finish () {
    this.consistent()
    for (const root of [...this.live.keys()]) this.end(root, 10)
    this.consistent()
    const st = this.s.stats()
    assert.equal(st.liveTransactions, 0)
    assert.equal(st.liveSegments, 0)
    const r = this.startTransaction('normal', 100)
    const a = this.startSegment(r, 'child', 110)
    this.s.setAttribute(a, 'k', 'v')
    this.s.endSegment(a, 120)
    const t = this.end(r, 130)
    assert.deepEqual(normalize(t).segments.map((x) => [x.parent, x.name, x.start, x.duration, x.exclusive, x.attributes, x.truncated]), [
      [null, 'normal', 0, 30, 20, [], false],
      [0, 'child', 10, 10, 10, [['k', 'v']], false]
    ])
    this.consistent()
  }
}

// ---------------------------------------------------------------------------
// The matrix, one function per method, each usable on a fresh or shared store.

const METHODS = {
  startTransaction (s, tr, vals) {
    for (const [label, v] of vals) {
      const h = check(`startTransaction(name = ${label})`, expectFor('name', v), 'name', () => s.startTransaction(v, 5))
      if (h !== undefined) {
        tr.added(h)
        assert.equal(s.isActive(h), true)
        assert.equal(s.nameOf(h), refCut(v, 255))
        assert.equal(s.transactionOf(h), h)
      }
      tr.consistent()
    }
    for (const [label, v] of vals) {
      if (beyondSafe(v)) continue
      const h = check(`startTransaction(startTime = ${label})`, expectFor('time', v), 'startTime', () => s.startTransaction('t', v))
      if (h !== undefined) {
        tr.added(h)
        assert.equal(s.isActive(h), true)
      }
      tr.consistent()
    }
  },

  startSegment (s, tr, vals) {
    const L = tr.startTransaction('parent', 0)
    for (const [label, v] of vals) {
      const got = check(`startSegment(parent = ${label})`, expectFor('handle', v), 'parent', () => s.startSegment(v, 'x', 5))
      if (expectFor('handle', v) === 'ok') assert.equal(got, null, `startSegment(parent = ${label}) gives null`)
      tr.consistent()
    }
    for (const [label, v] of vals) {
      const h = check(`startSegment(name = ${label})`, expectFor('name', v), 'name', () => s.startSegment(L, v, 5))
      if (h !== undefined) {
        tr.addedSegment(h)
        assert.equal(s.nameOf(h), refCut(v, 255))
        assert.equal(s.parentOf(h), L)
      }
      tr.consistent()
    }
    for (const [label, v] of vals) {
      if (beyondSafe(v)) continue
      const h = check(`startSegment(startTime = ${label})`, expectFor('time', v), 'startTime', () => s.startSegment(L, 'x', v))
      if (h !== undefined) {
        tr.addedSegment(h)
        assert.equal(s.parentOf(h), L)
      }
      tr.consistent()
    }
  },

  endSegment (s, tr, vals) {
    for (const [label, v] of vals) {
      const got = check(`endSegment(handle = ${label})`, expectFor('handle', v), 'handle', () => s.endSegment(v, 5))
      assert.equal(got, undefined)
      tr.consistent()
    }
    // endTime: one fresh segment per value; the trace shows which ended.
    const T = tr.startTransaction('ends', 0)
    const cases = []
    for (const [label, v] of vals) {
      if (beyondSafe(v)) continue
      const h = tr.startSegment(T, `e ${label}`, 0)
      const want = expectFor('time', v)
      const got = check(`endSegment(endTime = ${label})`, want, 'endTime', () => s.endSegment(h, v))
      assert.equal(got, undefined)
      cases.push([label, v, want])
      tr.consistent()
    }
    const t = tr.end(T, 1000)
    for (const [label, v, want] of cases) {
      const seg = t.segments.find((x) => x.name === `e ${label}`)
      if (want === 'ok') {
        assert.equal(seg.truncated, false, `endSegment(endTime = ${label}) ended the segment`)
        if (v !== undefined) assert.equal(seg.duration, v)
      } else {
        assert.equal(seg.truncated, true, `endSegment(endTime = ${label}) threw and left the segment open`)
        assert.equal(seg.duration, 1000)
      }
    }
  },

  setAttribute (s, tr, vals) {
    for (const [label, v] of vals) {
      const got = check(`setAttribute(handle = ${label})`, expectFor('handle', v), 'handle', () => s.setAttribute(v, 'k', 1))
      assert.equal(got, undefined)
      tr.consistent()
    }
    const T = tr.startTransaction('attrs', 0)
    const cases = []
    for (const [label, v] of vals) {
      const hk = tr.startSegment(T, `key ${label}`, 0)
      const wantK = expectFor('key', v)
      assert.equal(check(`setAttribute(key = ${label})`, wantK, 'key', () => s.setAttribute(hk, v, 'val')), undefined)
      cases.push([`key ${label}`, wantK === 'ok' ? [[refCut(v, 255), 'val']] : []])
      const hv = tr.startSegment(T, `value ${label}`, 0)
      const wantV = expectFor('value', v)
      assert.equal(check(`setAttribute(value = ${label})`, wantV, 'value', () => s.setAttribute(hv, 'k', v)), undefined)
      cases.push([`value ${label}`, wantV === 'ok' ? [['k', typeof v === 'string' ? refCut(v, 255) : v]] : []])
      tr.consistent()
    }
    for (const [label, v] of [['true', true], ['false', false]]) {
      const hv = tr.startSegment(T, `value ${label}`, 0)
      s.setAttribute(hv, 'k', v)
      cases.push([`value ${label}`, [['k', v]]])
    }
    for (const json of [false, true]) {
      // The same attributes through both forms: rebuild for the second run.
      const t = json ? rebuildAndEnd(s, tr, vals) : tr.end(T, 10)
      const n = normalize(t)
      for (const [name, attrs] of cases) {
        const seg = n.segments.find((x) => x.name === name)
        assert.ok(seg, `segment ${name}`)
        assert.deepEqual(seg.attributes, attrs, `${json ? 'JSON' : 'object'} form: attributes of ${name}`)
      }
    }
  },

  isActive (s, tr, vals) {
    for (const [label, v] of vals) {
      let got
      assert.doesNotThrow(() => { got = s.isActive(v) }, `isActive(${label})`)
      assert.equal(got, false, `isActive(${label})`)
    }
    tr.consistent()
  },

  transactionOf (s, tr, vals) { lookup(s, tr, vals, 'transactionOf') },
  parentOf (s, tr, vals) { lookup(s, tr, vals, 'parentOf') },
  nameOf (s, tr, vals) { lookup(s, tr, vals, 'nameOf') },

  endTransaction (s, tr, vals) { ending(s, tr, vals, false) },
  endTransactionJSON (s, tr, vals) { ending(s, tr, vals, true) }
}

/** Replays the setAttribute key/value calls that succeed, ending as JSON. */
function rebuildAndEnd (s, tr, vals) {
  const T = tr.startTransaction('attrs', 0)
  for (const [label, v] of vals) {
    const hk = tr.startSegment(T, `key ${label}`, 0)
    if (expectFor('key', v) === 'ok') s.setAttribute(hk, v, 'val')
    const hv = tr.startSegment(T, `value ${label}`, 0)
    if (expectFor('value', v) === 'ok') s.setAttribute(hv, 'k', v)
  }
  for (const [label, v] of [['true', true], ['false', false]]) s.setAttribute(tr.startSegment(T, `value ${label}`, 0), 'k', v)
  return tr.end(T, 10, true)
}

function lookup (s, tr, vals, method) {
  const L = tr.startTransaction('look', 0)
  tr.startSegment(L, 'child', 0)
  for (const [label, v] of vals) {
    const got = check(`${method}(handle = ${label})`, expectFor('handle', v), 'handle', () => s[method](v))
    if (expectFor('handle', v) === 'ok') assert.equal(got, null, `${method}(${label}) gives null`)
    tr.consistent()
  }
}

function ending (s, tr, vals, json) {
  const method = json ? 'endTransactionJSON' : 'endTransaction'
  const L = tr.startTransaction('keep', 0)
  for (const [label, v] of vals) {
    const got = check(`${method}(handle = ${label})`, expectFor('handle', v), 'handle', () => s[method](v, 5))
    if (expectFor('handle', v) === 'ok') assert.equal(got, null, `${method}(${label}) gives null`)
    assert.equal(s.isActive(L), true)
    tr.consistent()
  }
  for (const [label, v] of vals) {
    if (beyondSafe(v)) continue
    const T = tr.startTransaction(`end ${label}`, 0)
    const want = expectFor('time', v)
    const got = check(`${method}(endTime = ${label})`, want, 'endTime', () => s[method](T, v))
    if (want === 'ok') {
      const t = json ? JSON.parse(got) : got
      tr.ended(T, t)
      assert.equal(t.name, `end ${label}`)
      if (v !== undefined) assert.equal(t.duration, v)
      assert.equal(s.isActive(T), false)
    } else {
      assert.equal(s.isActive(T), true, `${method}(endTime = ${label}) threw and left the transaction live`)
    }
    tr.consistent()
  }
}

for (const name of Object.keys(METHODS)) {
  test(`bad input: ${name}, every argument`, () => {
    const s = new SegmentStore()
    const tr = new Tracker(s)
    const vals = values(s, tr)
    METHODS[name](s, tr, vals)
    tr.finish()
  })
}

test('bad input: every method in turn on one store, then it still works', () => {
  const s = new SegmentStore()
  const tr = new Tracker(s)
  const vals = values(s, tr)
  for (const name of Object.keys(METHODS)) {
    METHODS[name](s, tr, vals)
    tr.consistent()
  }
  tr.finish()
})

test('times: any finite number >= 0 is accepted, 2**53 and 1e300 included', () => {
  // The contract: "Times: number >= 0 finite else RangeError".
  const s = new SegmentStore()
  for (const v of [2 ** 53, 2 ** 53 + 2, 1e300, Number.MAX_VALUE]) {
    const label = `time ${v}`
    const r = check(`startTransaction(startTime = ${v})`, 'ok', 'startTime', () => s.startTransaction(label, v))
    if (r === undefined) continue
    const a = check(`startSegment(startTime = ${v})`, 'ok', 'startTime', () => s.startSegment(r, 'a', v))
    check(`endSegment(endTime = ${v})`, 'ok', 'endTime', () => s.endSegment(a, v))
    const t = check(`endTransaction(endTime = ${v})`, 'ok', 'endTime', () => s.endTransaction(r, v))
    assert.equal(t.duration, 0)
    const r2 = s.startTransaction(label, 0)
    const j = check(`endTransactionJSON(endTime = ${v})`, 'ok', 'endTime', () => s.endTransactionJSON(r2, v))
    assert.equal(JSON.parse(j).duration, v)
  }
  assert.deepEqual(s.verify(), [])
})

test('times: -0 is accepted as 0', () => {
  const s = new SegmentStore()
  const r = s.startTransaction('z', -0)
  const a = s.startSegment(r, 'a', -0)
  s.endSegment(a, -0)
  const t = s.endTransaction(r, -0)
  assert.equal(t.duration, 0)
  assert.equal(t.segments[1].duration, 0)
})

// ---------------------------------------------------------------------------
// Long strings

test('a 1 MB name is stored cut to 255 bytes, in look-ups and both trace forms', () => {
  for (const [what, big, want] of [
    ['ASCII', BIG, 'x'.repeat(255)],
    ['3-byte €', '€'.repeat(MB), '€'.repeat(85)],
    ['4-byte 😀', '😀'.repeat(MB / 2), '😀'.repeat(63)]
  ]) {
    const s = new SegmentStore()
    const r = s.startTransaction(big, 0)
    const a = s.startSegment(r, big, 0)
    s.setAttribute(a, big, big)
    assert.equal(s.nameOf(r), want, what)
    assert.equal(s.nameOf(a), want, what)
    assert.ok(utf8Len(want) <= 255)
    const t = s.endTransaction(r, 1)
    assert.equal(t.name, want)
    assert.equal(t.segments[1].name, want)
    assert.deepEqual(t.segments[1].attributes, { [want]: want })
    const r2 = s.startTransaction(big, 0)
    const a2 = s.startSegment(r2, big, 0)
    s.setAttribute(a2, big, big)
    const json = s.endTransactionJSON(r2, 1)
    assert.ok(json.length < 4000, `the JSON holds cut strings only (${json.length} chars)`)
    const j = JSON.parse(json)
    assert.equal(j.name, want)
    assert.equal(j.segments[1].name, want)
    assert.deepEqual(j.segments[1].attributes, { [want]: want })
    assert.deepEqual(s.verify(), [])
  }
})

// ---------------------------------------------------------------------------
// Constructor options

const OPTIONS = ['maxSegmentsPerTransaction', 'maxAttributesPerSegment', 'maxAttributeValueLength']

test('constructor: options must be an object or undefined', () => {
  assert.deepEqual(new SegmentStore().verify(), [])
  assert.deepEqual(new SegmentStore(undefined).verify(), [])
  assert.deepEqual(new SegmentStore({}).verify(), [])
  for (const [label, v] of [['null', null], ['5', 5], ["'x'", 'x'], ['true', true], ['[]', []], ['Symbol()', Symbol('o')], ['10n', 10n], ['() => {}', () => {}], ['NaN', NaN]]) {
    check(`new SegmentStore(${label})`, TypeError, 'options', () => new SegmentStore(v))
  }
})

test('constructor: unknown options are a TypeError naming the option', () => {
  for (const key of ['foo', 'maxSegments', 'maxsegmentspertransaction', '__proto__x', '']) {
    check(`new SegmentStore({ ${key}: 1 })`, TypeError, key, () => new SegmentStore({ [key]: 1 }))
    check(`new SegmentStore({ ${key}: 1, valid })`, TypeError, key, () => new SegmentStore({ maxAttributesPerSegment: 3, [key]: 1 }))
  }
})

test('constructor: option names that are Object.prototype members are unknown options too', () => {
  // e.g. options parsed from a JSON config file.
  for (const key of ['toString', 'constructor', 'hasOwnProperty', 'valueOf', '__proto__']) {
    const options = JSON.parse(`{"${key}": 1}`)
    assert.deepEqual(Object.keys(options), [key])
    check(`new SegmentStore(${JSON.stringify(options)})`, TypeError, key, () => new SegmentStore(options))
  }
})

test('constructor: option values', () => {
  const other = new SegmentStore()
  const handle = other.startTransaction('h', 0)
  for (const key of OPTIONS) {
    const min = key === 'maxAttributesPerSegment' ? 0 : 1
    const cases = [
      ['undefined', undefined, 'ok'],
      ['null', null, TypeError],
      ['NaN', NaN, RangeError],
      ['Infinity', Infinity, RangeError],
      ['-Infinity', -Infinity, RangeError],
      ['-1', -1, RangeError],
      ['1.5', 1.5, RangeError],
      ['2**53', 2 ** 53, RangeError],
      ['min - 1', min - 1, RangeError],
      ['min', min, 'ok'],
      ['1000', 1000, 'ok'],
      ["''", '', TypeError],
      ["'5'", '5', TypeError],
      ['1 MB string', BIG, TypeError],
      ['lone surrogates', LONE, TypeError],
      ['true', true, TypeError],
      ['{}', {}, TypeError],
      ['[]', [], TypeError],
      ['Symbol()', Symbol('v'), TypeError],
      ['10n', 10n, TypeError],
      ['() => {}', () => {}, TypeError],
      ['Number(5) object', Object(5), TypeError]
    ]
    if (key === 'maxSegmentsPerTransaction') cases.push(['2**31', 2 ** 31, RangeError]) // beyond the handle space
    for (const [label, v, want] of cases) {
      const s = check(`new SegmentStore({ ${key}: ${label} })`, want, key, () => new SegmentStore({ [key]: v }))
      if (s !== undefined) {
        // It works.
        const r = s.startTransaction('r', 0)
        s.setAttribute(r, 'k', 'value')
        s.startSegment(r, 'child', 0)
        const t = s.endTransaction(r, 1)
        assert.ok(t.segmentCount >= 1)
        assert.deepEqual(s.verify(), [])
      }
    }
  }
  assert.equal(other.isActive(handle), true)
})

test('constructor: options take effect, and undefined values keep the defaults', () => {
  const s = new SegmentStore({ maxSegmentsPerTransaction: 2, maxAttributesPerSegment: 1, maxAttributeValueLength: 3 })
  const r = s.startTransaction('abcdef', 0)
  assert.equal(s.nameOf(r), 'abc')
  assert.notEqual(s.startSegment(r, 's', 0), null)
  assert.equal(s.startSegment(r, 's', 0), null)
  s.setAttribute(r, 'kkkk', 'vvvv')
  s.setAttribute(r, 'other', 1)
  const t = s.endTransaction(r, 1)
  assert.deepEqual(t.segments[0].attributes, { kkk: 'vvv' })
  assert.equal(t.droppedSegments, 1)

  const d = new SegmentStore({ maxSegmentsPerTransaction: undefined, maxAttributesPerSegment: undefined, maxAttributeValueLength: undefined })
  const r2 = d.startTransaction('y'.repeat(300), 0)
  assert.equal(d.nameOf(r2), 'y'.repeat(255))
  for (let i = 0; i < 70; i++) d.setAttribute(r2, `k${i}`, i)
  let made = 0
  for (let i = 0; i < 950; i++) if (d.startSegment(r2, 's', 0) !== null) made++
  assert.equal(made, 899)
  const t2 = d.endTransaction(r2, 1)
  assert.equal(Object.keys(t2.segments[0].attributes).length, 64)
  assert.equal(t2.droppedSegments, 51)
})
