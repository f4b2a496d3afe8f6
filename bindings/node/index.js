'use strict';
// Titan's Node SDK (CommonJS entry point; index.mjs is the ES module one).

const { Titan, DEFAULT_TIMEOUT, DEFAULT_MAX_RETRIES } = require('./lib/client');
const errors = require('./lib/errors');
const { Page, PagePromise } = require('./lib/pagination');
const { EventStream } = require('./lib/streaming');
const { verifyWebhook, unwrapWebhook } = require('./lib/webhooks');

module.exports = {
  Titan,
  default: Titan,
  DEFAULT_TIMEOUT,
  DEFAULT_MAX_RETRIES,
  TitanError: errors.TitanError,
  APIError: errors.APIError,
  APIConnectionError: errors.APIConnectionError,
  APIConnectionTimeoutError: errors.APIConnectionTimeoutError,
  BadRequestError: errors.BadRequestError,
  AuthenticationError: errors.AuthenticationError,
  PermissionDeniedError: errors.PermissionDeniedError,
  NotFoundError: errors.NotFoundError,
  ConflictError: errors.ConflictError,
  UnprocessableEntityError: errors.UnprocessableEntityError,
  RateLimitError: errors.RateLimitError,
  InternalServerError: errors.InternalServerError,
  InvalidWebhookSignatureError: errors.InvalidWebhookSignatureError,
  Page,
  PagePromise,
  EventStream,
  verifyWebhook,
  unwrapWebhook,
};
