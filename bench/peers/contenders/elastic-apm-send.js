'use strict'

// Peer benchmark contender: elastic-apm-node sending NDJSON + gzip to the
// parent's loopback sink, as to an APM Server (for reference beside the
// disableSend run: the same agent with its wire encoding).

module.exports = require('./elastic-apm').make({ id: 'elastic-apm-send', send: true })
