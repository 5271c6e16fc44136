'use strict'

// Small statistics helpers: quantiles of samples, a summary (median, p25,
// p75, MAD), and the number formats the tables use.

/** The q-quantile (0..1) of ascending `sorted`, linear interpolation. */
function quantile (sorted, q) {
  if (sorted.length === 0) return NaN
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  const hi = Math.ceil(at)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo)
}

function median (xs) {
  return quantile([...xs].sort((a, b) => a - b), 0.5)
}

/**
 * { median, p25, p75, mad, n } of `samples` (any order). MAD is the median
 * absolute deviation from the median, unscaled.
 */
function summarize (samples) {
  const s = Float64Array.from(samples).sort()
  const med = quantile(s, 0.5)
  const dev = s.map((x) => Math.abs(x - med)).sort()
  return { median: med, p25: quantile(s, 0.25), p75: quantile(s, 0.75), mad: quantile(dev, 0.5), n: s.length }
}

/** A time in ns as "12.3 ns", "4.56 µs" or "7.89 ms". */
function fmtNs (ns) {
  if (ns === null || ns === undefined || !Number.isFinite(ns)) return '—'
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(1)} µs`
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`
  if (ns >= 100) return `${ns.toFixed(0)} ns`
  return `${ns.toFixed(1)} ns`
}

/** The numeric part only, in the unit of `ref` (so a spread reads "30.1–32.4 ns"). */
function fmtRange (lo, hi) {
  const a = fmtNs(lo)
  const b = fmtNs(hi)
  const ua = a.split(' ')[1]
  const ub = b.split(' ')[1]
  return ua === ub ? `${a.split(' ')[0]}–${b}` : `${a}–${b}`
}

function fmtRatio (r) {
  if (r === null || r === undefined || !Number.isFinite(r)) return '—'
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`
}

function fmtBytes (b) {
  if (b === null || b === undefined || !Number.isFinite(b)) return '—'
  const abs = Math.abs(b)
  if (abs >= 1048576) return `${(b / 1048576).toFixed(1)} MiB`
  if (abs >= 10240) return `${(b / 1024).toFixed(1)} KiB`
  return `${b.toFixed(1)} B`
}

function fmtInt (n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  return Math.round(n).toLocaleString('en-US')
}

module.exports = { quantile, median, summarize, fmtNs, fmtRange, fmtRatio, fmtBytes, fmtInt }
