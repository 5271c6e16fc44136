'use strict'

// Peer benchmark contender: segment-context, the AsyncLocalStorage manager
// (new_async_context: true) over the native store.

module.exports = require('./segment-context').make({
  id: 'segment-context',
  label: 'segment-context (AsyncLocalContextManager)',
  newAsyncContext: true,
  backend: 'auto'
})
