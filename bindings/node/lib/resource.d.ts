import type { Titan } from './client';

/** A group of operations (`client.sessions`, ...), holding the client that sends them. */
export declare class APIResource {
  protected _client: Titan;
  constructor(client: Titan);
}
