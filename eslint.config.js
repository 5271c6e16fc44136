'use strict'

// The JS linter: neostandard (the maintained flat-config form of the
// "standard" style this code is written in), over the package, its tests,
// scripts, benchmark and examples.

const neostandard = require('neostandard')

module.exports = [
  ...neostandard({
    ignores: ['node_modules/**', 'target/**', '.node/**', 'bench/.tmp/**', 'npm/**/*.node', '**/*.d.ts', '__test__/types/*.ts']
  })
]
