'use strict'

// The package's SegmentStore: the tests of ended transactions and of
// conflation run against the real native store.
const { SegmentStore } = require('../..')

module.exports = { SegmentStore }
