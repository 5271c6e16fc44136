'use strict'

// segment-context: which transaction and segment is running now, across
// callbacks, timers, promises and await; segments stored behind small
// integer handles. Every export is named here; the types and the API's
// documentation are in index.d.ts and the .d.ts files it re-exports.
//
// Layers, each in its folder under lib/:
//   native/   loads the binding: the Rust addon, or the pure-JS backend
//   store/    SegmentStore, the hot path over the binding's buffer
//   context/  the two context managers and what they share
//   api/      the customer context API and the OpenTelemetry bridge
//   validate.js  every public argument check

const native = require('./lib/native')
const { SegmentStore } = require('./lib/store/segment-store')
const { createContextManager, ENV_FLAG } = require('./lib/context/create-context-manager')
const { AsyncLocalContextManager, isFrameBased } = require('./lib/context/als-manager')
const { LegacyContextManager } = require('./lib/context/legacy-manager')
const { createContextApi } = require('./lib/api/context-api')
// Requiring the bridge does not load @opentelemetry/api; constructing one does.
const { OtelContextManager } = require('./lib/api/otel-bridge')

module.exports = {
  SegmentStore,
  createContextManager,
  AsyncLocalContextManager,
  LegacyContextManager,
  ENV_FLAG,
  isFrameBased,
  createContextApi,
  OtelContextManager,
  backend: native.backend,
  backendError: native.loadError
}
