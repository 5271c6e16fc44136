'use strict'

const { SegmentStore } = require('./lib/store')

module.exports = { SegmentStore }
