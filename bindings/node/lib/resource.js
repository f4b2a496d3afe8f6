'use strict';
// What every generated resource class builds on.

/** A group of operations (`client.sessions`, ...), holding the client that sends them. */
class APIResource {
  constructor(client) {
    this._client = client;
  }
}

/** A path parameter, percent-encoded (chat ids contain `@`). */
function path(value) {
  return encodeURIComponent(String(value));
}

/** The given `params` under their wire names (`{jsName: wireName}`); undefined ones are left out. */
function pick(params, names) {
  const picked = {};
  for (const [name, wire] of Object.entries(names)) {
    if (params[name] !== undefined) picked[wire] = params[name];
  }
  return picked;
}

module.exports = { APIResource, path, pick };
