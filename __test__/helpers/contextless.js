'use strict'

/**
 * A "contextless timer": a setInterval created when this module loads, before
 * any context exists, used as a task queue the way pools and drivers drain
 * their queues. Require this module before creating any manager.
 */

const queue = []
const timer = setInterval(drain, 1)
timer.unref()

function drain () {
  const batch = queue.splice(0, queue.length)
  for (const task of batch) task()
  if (queue.length === 0) timer.unref()
}

/** Run `task` later, from the contextless interval's callback. */
function contextless (task) {
  queue.push(task)
  timer.ref()
}

module.exports = { contextless }
