'use strict'

// The platform part of the addon's file name, as the napi-rs CLI writes it:
// segment-context.<platform>-<arch>[-<abi>].node

function abi () {
  if (process.platform === 'win32') return '-msvc'
  if (process.platform !== 'linux') return ''
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
  return report?.header?.glibcVersionRuntime ? '-gnu' : '-musl'
}

function platformTriple () {
  return `${process.platform}-${process.arch}${abi()}`
}

module.exports = { platformTriple }
