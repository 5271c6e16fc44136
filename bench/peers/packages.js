'use strict'

// What the peer contenders need to know about the packages they load: the
// installed version, and whether this Node satisfies each one's `engines`
// range (semver, through bench/lib/contenders.js).

const { pkgInfo, satisfies } = require('../lib/contenders')

function version (name) {
  return pkgInfo(name).version
}

/** null when every package is installed and supports this Node, else why not. */
function unavailable (names) {
  for (const name of names) {
    let info
    try {
      info = pkgInfo(name)
    } catch {
      return `${name} is not installed`
    }
    if (!satisfies(process.version, info.engines)) {
      return `${name} ${info.version} needs Node ${info.engines}`
    }
  }
  return null
}

module.exports = { version, unavailable }
