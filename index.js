'use strict'

// segment-context: the segment store and the context managers.
// The native addon is loaded (and its absence reported) by lib/loader.js,
// through lib/store.js. Types: index.d.ts, which re-exports lib/managers.d.ts.

const { SegmentStore } = require('./lib/store')
const managers = require('./lib/create-context-manager')
const { createContextApi } = require('./lib/context-api')
// Requiring the bridge does not load @opentelemetry/api; constructing one does.
const { OtelContextManager } = require('./lib/otel-bridge')

module.exports = {
  SegmentStore,
  ...managers,
  createContextApi,
  OtelContextManager
}
