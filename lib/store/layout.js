'use strict'

// The store's memory layout, as the binding describes it (src/core/layout.rs
// is its one home). Nothing here repeats a number: every constant comes from
// `binding.layout()`, and a name the binding does not supply is an error at
// load time rather than a silent `undefined` in the hot path.

const NAMES = [
  'MAGIC', 'MAX_HANDLE', 'MIN_CAPACITY', 'MAX_CAPACITY', 'RESERVE_MAX', 'MAX_LOAD_EIGHTHS', 'MAX_STRINGS',
  'H_MAGIC', 'H_CAPACITY', 'H_NEXT', 'H_LIVE_TXN', 'H_LIVE_SEG', 'H_TOTAL_TXN',
  'H_TOTAL_SEG', 'H_DROPPED', 'H_RESERVED', 'H_OCCUPIED', 'H_RESERVE', 'HEADER_LEN',
  'C_HANDLE', 'C_ROOT', 'C_PARENT', 'C_NEXT', 'C_START', 'C_END', 'C_COUNT',
  'C_DROPPED', 'C_TAIL', 'COLUMNS', 'FREE', 'RESERVED', 'NONE',
  'OUT_COUNT', 'OUT_DROPPED', 'OUT_START', 'OUT_DURATION', 'OUT_HEADER',
  'ROW_SLOT', 'ROW_PARENT', 'ROW_START', 'ROW_DURATION', 'ROW_EXCLUSIVE', 'ROW_TRUNCATED', 'OUT_ROW',
  'LEAK_HANDLE', 'LEAK_ROOT', 'LEAK_START', 'LEAK_ROW'
]

/**
 * The layout constants of `binding` (the native addon or the JS backend),
 * as a frozen object.
 * @param {{ layout(): Record<string, number> }} binding
 * @returns {Readonly<Record<string, number>>}
 */
function readLayout (binding) {
  const given = binding.layout()
  const layout = {}
  for (const name of NAMES) {
    const value = given[name]
    if (typeof value !== 'number') {
      throw new Error(`segment-context: the binding's layout() has no ${name}; the binary and the JS files are from different versions`)
    }
    layout[name] = value
  }
  return Object.freeze(layout)
}

module.exports = { readLayout, NAMES }
