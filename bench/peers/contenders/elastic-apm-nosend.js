'use strict'

// Peer benchmark contender: elastic-apm-node with disableSend: true (spans
// built and passed through the filters, never encoded or sent).

module.exports = require('./elastic-apm').make({ id: 'elastic-apm', send: false })
