'use strict'

// Peer benchmark contender: segment-context, the legacy async-hooks manager
// (new_async_context: false) over the native store.

module.exports = require('./segment-context').make({
  id: 'segment-context-legacy',
  label: 'segment-context (LegacyContextManager)',
  newAsyncContext: false,
  backend: 'auto'
})
