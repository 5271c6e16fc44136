'use strict'

// Peer benchmark contender: the runtime's floor. One raw
// AsyncLocalStorage.run per span (and per transaction), nothing recorded:
// what carrying a context across the workload's hops costs at the least.

const { AsyncLocalStorage } = require('node:async_hooks')

module.exports = {
  id: 'floor',
  label: 'floor: one raw AsyncLocalStorage.run per span',
  floor: true,
  wire: 'none',
  available: () => null,
  async create () {
    const als = new AsyncLocalStorage()
    return {
      info: {},
      tracer: {
        transaction: (name, work) => als.run(name, work),
        span: (name, s, n, b, work) => als.run(name, work)
      },
      flush: async () => {},
      wire: () => ({ bytes: 0, spans: 0 }),
      traces: null
    }
  }
}
