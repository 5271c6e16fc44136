'use strict'

// Cutting strings to a budget of UTF-8 bytes, as names, keys and values are
// stored (maxAttributeValueLength).

/**
 * Cuts `s` to at most `max` UTF-8 bytes, at a character boundary. A lone
 * surrogate counts as the 3 bytes of its replacement character.
 * @param {string} s
 * @param {number} max
 * @returns {string}
 */
function cutUtf8 (s, max) {
  if (s.length * 3 <= max) return s
  let bytes = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    let width = 3
    let units = 1
    if (c < 0x80) width = 1
    else if (c < 0x800) width = 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      width = 4
      units = 2
    }
    if (bytes + width > max) return detach(s.slice(0, i))
    bytes += width
    i += units - 1
  }
  return s
}

/**
 * A copy of a cut string that does not keep the string it was cut from
 * alive: V8's slice of a long string points into its parent, so a 255-byte
 * name cut from a 1 MB string would pin the megabyte until the transaction
 * ends. Slicing a fresh concatenation flattens it into a new, small string.
 */
function detach (s) {
  return (s + ' ').slice(0, -1)
}

module.exports = { cutUtf8 }
