'use strict'

// Peer benchmark contender: segment-context on its pure-JS backend
// (SEGMENT_CONTEXT_BACKEND=js), AsyncLocalStorage manager. Left out when the
// package has no `backend` export.

module.exports = require('./segment-context').make({
  id: 'segment-context-js',
  label: 'segment-context, pure-JS backend (AsyncLocalContextManager)',
  newAsyncContext: true,
  backend: 'js'
})
