import type { Event } from './streaming';

/** A delivery's headers: a fetch `Headers`, Node's `req.headers`, a `Map` or `[name, value]` pairs. */
export type WebhookHeaders =
  | { entries(): IterableIterator<[string, string]> }
  | Record<string, string | string[] | undefined>
  | ReadonlyArray<readonly [string, string]>;

/** A delivery's raw body, exactly as received. */
export type WebhookBody = string | Uint8Array | ArrayBuffer;

/**
 * Throws `InvalidWebhookSignatureError` unless `body` was signed with `secret` (the webhook's
 * `hmacKey`). Checks `X-Webhook-Signature` or the Standard Webhooks headers, whichever are present.
 */
export declare function verifyWebhook(body: WebhookBody, headers: WebhookHeaders, secret: string): void;

/**
 * Verifies the delivery, then returns its event.
 *
 * ```ts
 * app.post('/hook', express.raw({ type: '*\/*' }), (req, res) => {
 *   const event = unwrapWebhook(req.body, req.headers, process.env.WEBHOOK_SECRET!);
 *   if (event.event === 'message.received') console.log(event.payload.from, event.payload.text);
 *   res.sendStatus(204);
 * });
 * ```
 */
export declare function unwrapWebhook(body: WebhookBody, headers: WebhookHeaders, secret: string): Event;
