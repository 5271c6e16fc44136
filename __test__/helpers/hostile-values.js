'use strict'

// The hostile values of the reliability issue, as [label, value] pairs, with
// a stale handle and a handle of another store supplied by the caller.

const MB = 1024 * 1024
const BIG = 'x'.repeat(MB)
const LONE = 'a\ud800b\udc00\udfff\ud800'

/**
 * @param {number} stale a handle of an ended transaction
 * @param {number} foreign a live handle of another store
 * @param {...unknown} keep kept alive with the foreign handle (its store)
 */
function hostileValues (stale, foreign, ...keep) {
  return [
    ['undefined', undefined],
    ['null', null],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['-1', -1],
    ['1.5', 1.5],
    ['2**31', 2 ** 31],
    ['2**53', 2 ** 53],
    ["''", ''],
    ['1 MB string', BIG],
    ['lone surrogates', LONE],
    ['{}', {}],
    ['[]', []],
    ['Symbol()', Symbol('hostile')],
    ['10n', 10n],
    ['() => {}', () => {}],
    ['stale handle', stale],
    ['foreign handle', foreign, ...keep]
  ]
}

module.exports = { hostileValues, MB, BIG, LONE }
