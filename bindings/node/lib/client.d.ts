import type { Resources } from './resources';

/** Milliseconds one attempt may take, unless the client says otherwise (10 minutes). */
export declare const DEFAULT_TIMEOUT: number;
/** Retries after the first attempt, unless the client says otherwise (2). */
export declare const DEFAULT_MAX_RETRIES: number;

/** How to reach Titan. */
export interface ClientOptions {
  /** Titan's URL, e.g. `http://127.0.0.1:8080`. Defaults to `TITAN_BASE_URL`. */
  baseURL?: string;
  /** An API key (or the master key). Defaults to `TITAN_API_KEY`. */
  apiKey?: string | null;
  /** Milliseconds one attempt may take. Defaults to 600000 (10 minutes). */
  timeout?: number;
  /**
   * Retries after a connection error, a timeout, 408, 409, 429 or 5xx, with jittered exponential
   * backoff that honours `Retry-After`. Defaults to 2.
   */
  maxRetries?: number;
}

export interface Titan extends Resources {}

/**
 * The client: one property per resource, one method per operation.
 *
 * ```ts
 * import { Titan } from 'titan-client';
 *
 * const client = new Titan(); // TITAN_BASE_URL, TITAN_API_KEY
 * await client.sessions.create({ name: 'alice' });
 * for await (const session of client.sessions.list()) console.log(session.name, session.status);
 * ```
 */
export declare class Titan {
  readonly baseURL: string;
  readonly apiKey: string | null;
  readonly timeout: number;
  readonly maxRetries: number;
  constructor(options?: ClientOptions);
  /** A copy of this client with some settings changed, e.g. `client.withOptions({ maxRetries: 0 })`. */
  withOptions(options?: ClientOptions): Titan;
  /** An undocumented GET: the decoded JSON answer of `path` (e.g. `/api/sessions`). */
  get<T = unknown>(path: string, options?: { query?: Record<string, string | number | boolean | null | undefined> }): Promise<T>;
  /** An undocumented POST: the decoded JSON answer of `path`. */
  post<T = unknown>(path: string, options?: { body?: unknown }): Promise<T>;
}
