// Titan's Node SDK: the client, its errors, pages, event streams and webhook verification, and
// every type of the API (generated from openapi/openapi.json into lib/types.d.ts and
// lib/resources.d.ts).
export { Titan, Titan as default, ClientOptions, DEFAULT_TIMEOUT, DEFAULT_MAX_RETRIES } from './lib/client';
export * from './lib/errors';
export { Page, PagePromise } from './lib/pagination';
export { EventStream, Event } from './lib/streaming';
export { verifyWebhook, unwrapWebhook, WebhookHeaders, WebhookBody } from './lib/webhooks';
export type * from './lib/types';
export type * from './lib/resources';
