'use strict';
// Verifying Titan's webhook deliveries, with the same native code as the Rust SDK. Titan signs each
// delivery twice: `X-Webhook-Signature: sha256=<hex HMAC-SHA256(body)>`, and the Standard Webhooks
// headers `webhook-id`, `webhook-timestamp` and `webhook-signature` (which also reject replays
// older than 5 minutes). Pass the raw body, before any JSON parsing.

const native = require('./native');
const { InvalidWebhookSignatureError } = require('./errors');

function toBuffer(body) {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('titan-client: a webhook body must be a string, Buffer, Uint8Array or ArrayBuffer');
}

/** `[name, value]` pairs from a fetch `Headers`, a `Map`, pairs, or Node's `req.headers`. */
function headerPairs(headers) {
  const entries = Array.isArray(headers) ? headers : typeof headers.entries === 'function' ? headers.entries() : Object.entries(headers);
  const pairs = [];
  for (const [name, value] of entries) {
    if (value === undefined || value === null) continue;
    for (const one of Array.isArray(value) ? value : [value]) pairs.push([String(name), String(one)]);
  }
  return pairs;
}

/** Throws `InvalidWebhookSignatureError` unless `body` was signed with `secret` (the webhook's `hmacKey`). */
function verifyWebhook(body, headers, secret) {
  const reason = native.verifyWebhook(toBuffer(body), headerPairs(headers), String(secret));
  if (reason !== null && reason !== undefined) throw new InvalidWebhookSignatureError(reason);
}

/** Verifies the delivery, then returns its event. */
function unwrapWebhook(body, headers, secret) {
  const raw = toBuffer(body);
  verifyWebhook(raw, headers, secret);
  return JSON.parse(raw.toString('utf8'));
}

module.exports = { verifyWebhook, unwrapWebhook };
