'use strict';
// The error for a call the native transport could not complete (no answer at all).

const { APIConnectionError, APIConnectionTimeoutError, APIError } = require('./errors');

/** The error for a call the native transport could not complete. */
function failureError(failure) {
  switch (failure.kind) {
    case 'timeout':
      return new APIConnectionTimeoutError(failure.message);
    case 'connection':
      return new APIConnectionError(failure.message);
    case 'invalid_request':
      return new TypeError(`titan-client: ${failure.message}`);
    default:
      return new APIError(undefined, undefined, failure.message, undefined);
  }
}

module.exports = { failureError };
