'use strict'

// A small MessagePack decoder, for the peer benchmark's check of what
// dd-trace sent to the loopback sink (its /v0.4/traces payloads). Decodes
// maps, arrays, strings, binaries, nil, booleans, integers (64-bit ones as
// BigInt when they do not fit a double exactly) and floats; extensions are
// returned as { ext, data }.

function decode (buf) {
  let at = 0
  const u8 = () => buf[at++]
  const take = (n) => {
    const b = buf.subarray(at, at + n)
    at += n
    return b
  }
  const str = (n) => {
    const s = buf.toString('utf8', at, at + n)
    at += n
    return s
  }
  const arr = (n) => {
    const a = new Array(n)
    for (let i = 0; i < n; i++) a[i] = value()
    return a
  }
  const map = (n) => {
    const o = {}
    for (let i = 0; i < n; i++) {
      const k = value()
      o[typeof k === 'string' ? k : String(k)] = value()
    }
    return o
  }
  const big = (v) => (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v)
  function value () {
    const b = u8()
    if (b <= 0x7f) return b
    if (b >= 0xe0) return b - 0x100
    if ((b & 0xf0) === 0x80) return map(b & 0x0f)
    if ((b & 0xf0) === 0x90) return arr(b & 0x0f)
    if ((b & 0xe0) === 0xa0) return str(b & 0x1f)
    let v
    switch (b) {
      case 0xc0: return null
      case 0xc2: return false
      case 0xc3: return true
      case 0xc4: return take(u8())
      case 0xc5: v = buf.readUInt16BE(at); at += 2; return take(v)
      case 0xc6: v = buf.readUInt32BE(at); at += 4; return take(v)
      case 0xca: v = buf.readFloatBE(at); at += 4; return v
      case 0xcb: v = buf.readDoubleBE(at); at += 8; return v
      case 0xcc: return u8()
      case 0xcd: v = buf.readUInt16BE(at); at += 2; return v
      case 0xce: v = buf.readUInt32BE(at); at += 4; return v
      case 0xcf: v = buf.readBigUInt64BE(at); at += 8; return big(v)
      case 0xd0: v = buf.readInt8(at); at += 1; return v
      case 0xd1: v = buf.readInt16BE(at); at += 2; return v
      case 0xd2: v = buf.readInt32BE(at); at += 4; return v
      case 0xd3: v = buf.readBigInt64BE(at); at += 8; return big(v)
      case 0xd9: return str(u8())
      case 0xda: v = buf.readUInt16BE(at); at += 2; return str(v)
      case 0xdb: v = buf.readUInt32BE(at); at += 4; return str(v)
      case 0xdc: v = buf.readUInt16BE(at); at += 2; return arr(v)
      case 0xdd: v = buf.readUInt32BE(at); at += 4; return arr(v)
      case 0xde: v = buf.readUInt16BE(at); at += 2; return map(v)
      case 0xdf: v = buf.readUInt32BE(at); at += 4; return map(v)
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: {
        const n = b === 0xd8 ? 16 : 1 << (b - 0xd4)
        const ext = buf.readInt8(at++)
        return { ext, data: take(n) }
      }
      case 0xc7: case 0xc8: case 0xc9: {
        const n = b === 0xc7 ? u8() : b === 0xc8 ? (at += 2, buf.readUInt16BE(at - 2)) : (at += 4, buf.readUInt32BE(at - 4))
        const ext = buf.readInt8(at++)
        return { ext, data: take(n) }
      }
      default: throw new Error(`msgpack: unknown byte 0x${b.toString(16)} at ${at - 1}`)
    }
  }
  const out = value()
  if (at !== buf.length) throw new Error(`msgpack: ${buf.length - at} bytes left after the value`)
  return out
}

module.exports = { decode }
