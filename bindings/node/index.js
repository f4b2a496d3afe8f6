'use strict';
// Titan's Node SDK (CommonJS entry point; index.mjs is the ES module one).

const { Titan, DEFAULT_TIMEOUT, DEFAULT_MAX_RETRIES } = require('./lib/client');
const { Page, PagePromise } = require('./lib/pagination');
const { EventStream } = require('./lib/streaming');
const { verifyWebhook, unwrapWebhook } = require('./lib/webhooks');

module.exports = {
  Titan,
  default: Titan,
  DEFAULT_TIMEOUT,
  DEFAULT_MAX_RETRIES,
  ...require('./lib/errors'),
  Page,
  PagePromise,
  EventStream,
  verifyWebhook,
  unwrapWebhook,
};
