'use strict'

// The store's string interning (lib/store/strings.js) at its limit. A store
// holds at most MAX_STRINGS (2^24) distinct strings at once; reaching that
// takes 16M live strings, so the limit is exercised here on the class
// itself, made with a small one. Nothing here syncs, so the binding it is
// given is never called.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Strings, MIN_LIMIT } = require('../../lib/store/strings')

/** A binding stand-in that fails the test if it is called. */
function fakeBinding () {
  const never = () => assert.fail('the binding was called')
  return { stringTable: never, setStrings: never }
}

/** Marks the ids of `keep` (texts) as held. */
const holding = (strings, keep) => (marks) => {
  for (const s of keep) marks[strings.intern(s)] = 1
}

test('at the limit: a new string is a RangeError and changes nothing; known strings still intern', () => {
  const max = 8
  const strings = new Strings(fakeBinding(), max)
  const ids = []
  for (let i = 0; i < max; i++) ids.push(strings.intern(`s${i}`))
  assert.deepEqual(ids, [0, 1, 2, 3, 4, 5, 6, 7])
  assert.throws(() => strings.intern('one more'), {
    name: 'RangeError',
    message: `SegmentStore: more than ${max} distinct strings are live`
  })
  assert.equal(strings.live, max)
  assert.deepEqual(strings.text, ids.map((i) => `s${i}`))
  assert.equal(strings.intern('s3'), 3, 'a known string keeps its id')
})

test('a full table is due for collection, so the store frees it at the next end', () => {
  const max = 8
  const strings = new Strings(fakeBinding(), max)
  assert.ok(strings.limit <= max, `limit ${strings.limit} is above the ${max} ids there can be`)
  for (let i = 0; i < max; i++) strings.intern(`a${i}`)
  assert.ok(strings.due(), 'full, and not due: nothing would ever free it')
  assert.equal(strings.collect(holding(strings, ['a1', 'a5'])), max - 2)
  // After a collection the limit stays within the ids there can be, so the
  // table is due again when it fills again.
  assert.ok(strings.limit <= max, `limit ${strings.limit} after a collection`)
  for (let i = 0; i < max - 2; i++) strings.intern(`b${i}`)
  assert.throws(() => strings.intern('b-extra'), RangeError)
  assert.ok(strings.due(), 'full again, and not due')
  strings.collect(holding(strings, []))
  assert.equal(strings.live, 0)
  assert.equal(strings.intern('fresh'), 0, 'ids are reused from the lowest')
})

test('with room to spare the limit is MIN_LIMIT, then twice the strings kept', () => {
  const strings = new Strings(fakeBinding(), 2 ** 24)
  assert.equal(strings.limit, MIN_LIMIT)
  const keep = []
  for (let i = 0; i < 3000; i++) {
    strings.intern(`c${i}`)
    if (i % 2 === 0) keep.push(`c${i}`)
  }
  strings.collect(holding(strings, keep))
  assert.equal(strings.live, 1500)
  assert.equal(strings.limit, 3000)
})
