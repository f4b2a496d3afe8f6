'use strict';
// The errors every call can throw, one class per kind of failure, as openai-node has them: test
// with `instanceof`, read `status`, `error`, `docs` and `requestId`.

/** The base of every error this package throws. */
class TitanError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

/** A failed call: Titan answered with an error status, or did not answer at all. */
class APIError extends TitanError {
  constructor(status, body, message, headers) {
    super(message);
    this.status = status;
    this.headers = headers;
    this.body = body;
    const envelope = body !== null && typeof body === 'object' ? body : {};
    this.error = typeof envelope.error === 'string' ? envelope.error : undefined;
    this.docs = typeof envelope.docs === 'string' ? envelope.docs : undefined;
    this.requestId = headers ? headers['x-request-id'] : undefined;
  }

  /** The error for an error answer: the subclass of its status. */
  static generate(status, body, headers) {
    const envelope = body !== null && typeof body === 'object' ? body : {};
    const text = typeof envelope.error === 'string' ? envelope.error : typeof body === 'string' ? body : '';
    const message = `${status} ${text}`.trim();
    const Class = STATUS_CLASSES[status] || (status >= 500 ? InternalServerError : APIError);
    return new Class(status, body, message, headers);
  }
}

/** Titan could not be reached, or the connection broke (after every retry). */
class APIConnectionError extends APIError {
  constructor(message = 'Connection error.') {
    super(undefined, undefined, message, undefined);
  }
}

/** An attempt took longer than the client's `timeout` (after every retry). */
class APIConnectionTimeoutError extends APIConnectionError {
  constructor(message = 'Request timed out.') {
    super(message);
  }
}

/** 400: the request was malformed; `error` says what to fix. */
class BadRequestError extends APIError {}
/** 401: the API key is missing or wrong. */
class AuthenticationError extends APIError {}
/** 403: the API key lacks the scope or the session. */
class PermissionDeniedError extends APIError {}
/** 404: no such session, message, key or webhook. */
class NotFoundError extends APIError {}
/** 409: the resource exists already, or is not in a state that allows this. */
class ConflictError extends APIError {}
/** 422: the request was well-formed but cannot be carried out. */
class UnprocessableEntityError extends APIError {}
/** 429: too many requests; retried automatically up to `maxRetries` times first. */
class RateLimitError extends APIError {}
/** 5xx: Titan (or WhatsApp behind it) failed. */
class InternalServerError extends APIError {}

/** A webhook delivery whose signature does not match the secret. */
class InvalidWebhookSignatureError extends TitanError {}

const STATUS_CLASSES = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  422: UnprocessableEntityError,
  429: RateLimitError,
};

module.exports = {
  TitanError,
  APIError,
  APIConnectionError,
  APIConnectionTimeoutError,
  BadRequestError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  UnprocessableEntityError,
  RateLimitError,
  InternalServerError,
  InvalidWebhookSignatureError,
};
