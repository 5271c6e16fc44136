'use strict'

// Peer benchmark contender: no tracing at all, the baseline every net
// figure is taken against. The same workload, spans and transactions are
// just their work.

module.exports = {
  id: 'untraced',
  label: 'untraced (baseline)',
  baseline: true,
  wire: 'none',
  available: () => null,
  async create () {
    return {
      info: {},
      tracer: {
        transaction: (name, work) => work(),
        span: (name, s, n, b, work) => work()
      },
      flush: async () => {},
      wire: () => ({ bytes: 0, spans: 0 }),
      traces: null
    }
  }
}
