/** One event, as `client.events.stream()` yields it and webhooks receive it. */
export interface Event {
  /** `evt_...`, unique: deduplicate by it, resume after it. */
  id: string;
  /** The event type, e.g. `message.received`. */
  event: string;
  /** The session it happened on. */
  session: string;
  /** When it happened (RFC 3339). */
  timestamp: string;
  /** The type's payload. */
  payload: Record<string, unknown>;
}

/**
 * The events of one subscription. Breaking out of `for await` closes it.
 *
 * ```ts
 * for await (const event of client.events.stream({ events: 'message.received' })) {
 *   console.log(event.session, event.payload);
 * }
 * ```
 */
export declare class EventStream implements AsyncIterable<Event> {
  [Symbol.asyncIterator](): AsyncGenerator<Event, void, undefined>;
  /** Closes the connection; an iteration in progress ends after its current event. */
  close(): Promise<void>;
}
