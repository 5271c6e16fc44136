'use strict'

// Peer benchmark contenders: this package, through its public API only
// (require of the repository root). A SegmentStore and the manager that
// createContextManager({ feature_flag, store }) picks; each span is
// startSegment under getContext(), three setAttribute calls, the work run
// with runAndEnd (runInContext, then endSegment when its promise settles:
// on the ALS manager with no closure per span); each transaction ends with
// endTransactionJSON (the JSON string is the wire form: its length is
// counted, then it is dropped).
//
// make() builds the three variants: the AsyncLocalStorage manager, the
// legacy (async hooks) manager, and the pure-JS backend (selected by
// SEGMENT_CONTEXT_BACKEND=js in the child's environment).

const path = require('node:path')

const root = path.join(__dirname, '..', '..', '..')

function make ({ id, label, newAsyncContext, backend }) {
  return {
    id,
    label,
    ours: true,
    wire: 'child',
    // The child's environment: undefined removes a variable.
    env: {
      SEGMENT_CONTEXT_BACKEND: backend === 'js' ? 'js' : undefined,
      SEGMENT_CONTEXT_FEATURE_FLAG_NEW_ASYNC_CONTEXT: undefined
    },
    available () {
      if (backend !== 'js') return null
      let lib
      try {
        lib = require(root)
      } catch (e) {
        return `the package does not load: ${e.message}`
      }
      return 'backend' in lib ? null : 'the package has no `backend` export (no pure-JS backend in this checkout)'
    },
    async create ({ verify }) {
      const lib = require(root)
      if (backend === 'js' && lib.backend !== 'js') {
        throw new Error(`SEGMENT_CONTEXT_BACKEND=js gave backend ${JSON.stringify(lib.backend)}`)
      }
      const store = new lib.SegmentStore()
      const m = lib.createContextManager({ feature_flag: { new_async_context: newAsyncContext }, store })
      let bytes = 0
      const kept = verify ? [] : null
      const tracer = {
        transaction (name, work) {
          const txn = store.startTransaction(name)
          return m.runInContext(txn, work).then(() => {
            const json = store.endTransactionJSON(txn)
            bytes += json.length
            if (kept !== null) kept.push(json)
          })
        },
        span (name, s, n, b, work) {
          const h = store.startSegment(m.getContext(), name)
          store.setAttribute(h, 'bench_s', s)
          store.setAttribute(h, 'bench_n', n)
          store.setAttribute(h, 'bench_b', b)
          return m.runAndEnd(h, work)
        }
      }
      return {
        info: { backend: lib.backend ?? 'native (no backend export)', manager: m.constructor.name },
        tracer,
        flush: async () => {},
        wire () {
          const st = store.stats()
          return { bytes, spans: st.totalSegments, live: st.liveSegments + st.liveTransactions, capacity: st.capacity }
        },
        traces: kept && (() => kept.map((json) => {
          const trace = JSON.parse(json)
          const names = new Map(trace.segments.map((s) => [s.id, s.name]))
          return trace.segments.map((s) => ({
            name: s.name,
            parent: s.parentId === null ? null : names.get(s.parentId) ?? `?${s.parentId}`,
            attributes: Object.keys(s.attributes).filter((k) => k.startsWith('bench_')).length
          }))
        }))
      }
    }
  }
}

module.exports = { make }
