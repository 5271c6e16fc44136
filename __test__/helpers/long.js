'use strict'

// Long mode for the property and soak tests.
//
//   SEGMENT_CONTEXT_LONG=1   multiplies the runs of the property tests by 20
//   SEGMENT_CONTEXT_LONG=N   (an integer >= 2) multiplies them by N
//   SEGMENT_CONTEXT_SEED=S   replays fast-check seed S (printed on failure)
//
// Unset (the default, and what `npm test` runs), the factor is 1.

const raw = process.env.SEGMENT_CONTEXT_LONG
let factor = 1
if (raw !== undefined && raw !== '' && raw !== '0') {
  const n = Number(raw)
  factor = raw === '1' ? 20 : Number.isInteger(n) && n >= 2 ? n : 20
}

const seedRaw = process.env.SEGMENT_CONTEXT_SEED
const seed = seedRaw === undefined || seedRaw === '' ? undefined : Number(seedRaw)

/** fast-check parameters: `numRuns` scaled by the long factor, and the replay seed if given. */
function fcParams (numRuns, extra = {}) {
  const params = { numRuns: numRuns * factor, includeErrorInReport: true, ...extra }
  if (seed !== undefined) params.seed = seed
  return params
}

module.exports = { factor, long: factor > 1, seed, fcParams }
