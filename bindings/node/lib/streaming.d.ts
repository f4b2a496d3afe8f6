import type { WebhookEvent } from './types';

/**
 * One event, as `client.events.stream()` yields it and webhooks receive it: a union discriminated
 * by `event` (generated from the OpenAPI document's `webhooks`), so checking `event` narrows
 * `payload` to that type's payload. An event type newer than this SDK arrives as sent.
 *
 * ```ts
 * if (event.event === 'message.received') console.log(event.payload.text);
 * ```
 */
export type Event = WebhookEvent;

/**
 * The events of one subscription. Breaking out of `for await` closes it.
 *
 * ```ts
 * for await (const event of client.events.stream({ events: 'message.received' })) {
 *   if (event.event === 'message.received') console.log(event.session, event.payload.text);
 * }
 * ```
 */
export declare class EventStream implements AsyncIterable<Event> {
  [Symbol.asyncIterator](): AsyncGenerator<Event, void, undefined>;
  /** Closes the connection; an iteration in progress ends after its current event. */
  close(): Promise<void>;
}
