'use strict'

// The process's one hook for every legacy manager (legacy-manager.js).
//
// Every legacy manager that propagates shares one async_hooks hook (and at
// most one v8 promise hook), which calls each attached manager in turn: a
// process with many managers (an agent's test suite made 222) pays one
// native-to-JS crossing per async event, not one per manager. A manager is
// attached from construction (or `enable()`) until `disable()` — and, when it
// is disabled inside a callback, until that callback returns, so the callback
// keeps its context to the end.
//
// How promises reach the managers is decided once, the first time a manager
// attaches (`promiseMode()`):
//
// - 'promise-hooks', where `createHook` takes `trackPromises: false` (Node
//   26, and Node 24 from 24.14): the async hook leaves
//   promises out, so Node neither gives them async ids nor tracks their
//   destruction, and promises come from `v8.promiseHooks` instead (init,
//   before, after), each manager keeping a promise's context in a WeakMap
//   keyed by the promise. Much cheaper per promise than the other mode
//   (the figures: docs/benchmarks.md, section 6).
// - 'async-hooks', elsewhere: promises are async resources like the others,
//   kept by async id until they settle (`promiseResolve`) or are collected
//   (`destroy`); `v8.promiseHooks.onInit` is added only for the managers with
//   the promise-parent fallback.

const { createHook } = require('node:async_hooks')
const { promiseHooks } = require('node:v8')

let mode = null
let attached = [] // managers receiving events, in attach order
let withFallback = [] // 'async-hooks' mode: those of them with the promise-parent fallback on
let hook = null // the async hook
let stopPromiseHook = null // turns off the v8 promise hook, when one is on

/**
 * 'promise-hooks' where an async hook can leave promises out, else
 * 'async-hooks' (see above). `createHook` refuses `trackPromises: false`
 * with a `promiseResolve` callback only where it knows the option; making a
 * hook without enabling it has no effect. Any other outcome keeps the mode
 * that works everywhere.
 */
function promiseMode () {
  if (mode === null) {
    mode = 'async-hooks'
    try {
      createHook({ trackPromises: false, promiseResolve () {} })
    } catch (err) {
      if (err?.code === 'ERR_INVALID_ARG_VALUE') mode = 'promise-hooks'
    }
  }
  return mode
}

function attach (manager) {
  if (attached.includes(manager)) return
  attached = attached.concat([manager])
  refresh()
}

function detach (manager) {
  if (!attached.includes(manager)) return
  attached = attached.filter((m) => m !== manager)
  refresh()
}

/** How many managers the shared hook serves now (for tests and diagnostics). */
function attachedManagers () {
  return attached.length
}

/** Switches the shared hooks on or off to match the attached managers. */
function refresh () {
  const apart = promiseMode() === 'promise-hooks'
  // 'promise-hooks' gives every attached manager the promise events, and
  // each applies its own fallback: the list is for `fallbackInit` only.
  withFallback = apart ? [] : attached.filter((m) => m._fallback)
  if (attached.length > 0 && hook === null) {
    hook = createHook(apart ? withoutPromises : withPromises)
    hook.enable()
  } else if (attached.length === 0 && hook !== null) {
    hook.disable()
    hook = null
  }
  // 'promise-hooks': while any manager is attached. 'async-hooks': while any
  // has the fallback on.
  const wantPromiseHook = apart ? attached.length > 0 : withFallback.length > 0
  if (wantPromiseHook && stopPromiseHook === null) {
    stopPromiseHook = apart ? promiseHooks.createHook(promiseEvents) : promiseHooks.onInit(fallbackInit)
  } else if (!wantPromiseHook && stopPromiseHook !== null) {
    stopPromiseHook()
    stopPromiseHook = null
  }
}

// The callbacks, each handing its event to every attached manager. `attached`
// is replaced, never changed in place, so a manager attached or detached
// during an event changes the next event's list, not this one's.

function init (asyncId, type, triggerAsyncId, resource) {
  const list = attached
  for (let i = 0; i < list.length; i++) list[i]._onInit(asyncId, type, resource)
}

function before (asyncId) {
  const list = attached
  for (let i = 0; i < list.length; i++) list[i]._onBefore(asyncId)
}

function after () {
  const list = attached
  for (let i = 0; i < list.length; i++) list[i]._onAfter()
}

function destroy (asyncId) {
  const list = attached
  for (let i = 0; i < list.length; i++) list[i]._onDestroy(asyncId)
}

/** The async hook of 'async-hooks': promises included. */
const withPromises = {
  init,
  before,
  after,
  destroy,
  promiseResolve (asyncId) {
    const list = attached
    for (let i = 0; i < list.length; i++) list[i]._onPromiseResolve(asyncId)
  }
}

/** The async hook of 'promise-hooks': promises left to `promiseEvents`. */
const withoutPromises = { trackPromises: false, init, before, after, destroy }

/** The v8 promise hook of 'promise-hooks'. */
const promiseEvents = {
  init (promise, parent) {
    const list = attached
    for (let i = 0; i < list.length; i++) list[i]._onPromiseInit(promise, parent)
  },
  before (promise) {
    const list = attached
    for (let i = 0; i < list.length; i++) list[i]._onPromiseBefore(promise)
  },
  after
}

/** The v8 promise init hook of 'async-hooks', for the parent fallback. */
function fallbackInit (promise, parent) {
  const list = withFallback
  for (let i = 0; i < list.length; i++) list[i]._onPromiseParent(promise, parent)
}

module.exports = { attach, detach, attachedManagers, promiseMode }
