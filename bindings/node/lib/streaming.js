'use strict';
// Live events from `GET /api/events` (Server-Sent Events). The native stream reconnects by itself
// and resumes with `Last-Event-ID`, so no event is skipped; an error answer ends it with an error.

const { failureError } = require('./failure');

/** The events of one subscription: `for await (const event of stream)`; `close()` ends it. */
class EventStream {
  constructor(native) {
    this._native = native;
  }

  async *[Symbol.asyncIterator]() {
    try {
      for (;;) {
        const next = await this._native.next();
        if (next.failure) throw failureError(next.failure);
        if (!next.event) return;
        yield next.event;
      }
    } finally {
      await this._native.close();
    }
  }

  /** Closes the connection; an iteration in progress ends after its current event. */
  close() {
    return this._native.close();
  }
}

module.exports = { EventStream };
