/** The base of every error this package throws. */
export declare class TitanError extends Error {}

/** A failed call: Titan answered with an error status, or did not answer at all. */
export declare class APIError extends TitanError {
  /** The HTTP status; undefined when Titan did not answer. */
  readonly status: number | undefined;
  /** The response headers (names in lower case); undefined when Titan did not answer. */
  readonly headers: Record<string, string> | undefined;
  /** The decoded response body (the `{error, docs}` envelope, or text). */
  readonly body: unknown;
  /** Titan's `error` message. */
  readonly error: string | undefined;
  /** Titan's `docs` link for this error. */
  readonly docs: string | undefined;
  /** The `X-Request-Id` of the failed request, for logs and support. */
  readonly requestId: string | undefined;
  constructor(status: number | undefined, body: unknown, message: string, headers: Record<string, string> | undefined);
  /** The error for an error answer: the subclass of its status. */
  static generate(status: number, body: unknown, headers: Record<string, string>): APIError;
}

/** Titan could not be reached, or the connection broke (after every retry). */
export declare class APIConnectionError extends APIError {
  readonly status: undefined;
  constructor(message?: string);
}
/** An attempt took longer than the client's `timeout` (after every retry). */
export declare class APIConnectionTimeoutError extends APIConnectionError {}
/** 400: the request was malformed; `error` says what to fix. */
export declare class BadRequestError extends APIError {
  readonly status: 400;
}
/** 401: the API key is missing or wrong. */
export declare class AuthenticationError extends APIError {
  readonly status: 401;
}
/** 403: the API key lacks the scope or the session. */
export declare class PermissionDeniedError extends APIError {
  readonly status: 403;
}
/** 404: no such session, message, key or webhook. */
export declare class NotFoundError extends APIError {
  readonly status: 404;
}
/** 409: the resource exists already, or is not in a state that allows this. */
export declare class ConflictError extends APIError {
  readonly status: 409;
}
/** 422: the request was well-formed but cannot be carried out. */
export declare class UnprocessableEntityError extends APIError {
  readonly status: 422;
}
/** 429: too many requests; retried automatically up to `maxRetries` times first. */
export declare class RateLimitError extends APIError {
  readonly status: 429;
}
/** 5xx: Titan (or WhatsApp behind it) failed. */
export declare class InternalServerError extends APIError {
  readonly status: number;
}
/** A webhook delivery whose signature does not match the secret. */
export declare class InvalidWebhookSignatureError extends TitanError {}
