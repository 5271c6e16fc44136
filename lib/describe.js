'use strict'

/**
 * A short description of a value for error messages: its kind, and for
 * primitives the value itself, strings cut to 40 characters (a 1 MB string
 * must not make a 1 MB message).
 * @param {unknown} value
 * @returns {string}
 */
function describe (value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  const type = typeof value
  if (type === 'string') return `a string (${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}, length ${value.length})`
  if (type === 'number' || type === 'boolean' || type === 'bigint') return `${type} ${String(value)}`
  if (type === 'function') return 'a function'
  if (type === 'object') return 'an object'
  return type
}

module.exports = { describe }
