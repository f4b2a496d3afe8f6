'use strict';
// Cursor-paged lists. `for await (const s of client.sessions.list())` walks every item of every
// page, fetching each next page when it is needed; `await client.sessions.list()` is the first
// page, and `hasNextPage()` / `getNextPage()` step by hand.

const { TitanError } = require('./errors');

/** One page of a list: `data`, and the `cursor` of the next page (null on the last). */
class Page {
  constructor(client, path, query, data, cursor) {
    this._client = client;
    this._path = path;
    this._query = query;
    this.data = data;
    this.cursor = cursor;
  }

  /** Whether another page follows this one. */
  hasNextPage() {
    return this.cursor !== null;
  }

  /** Fetches the next page. */
  async getNextPage() {
    if (this.cursor === null) throw new TitanError('this is the last page: check hasNextPage() first');
    return this._client._fetchPage(this._path, { ...this._query, cursor: this.cursor });
  }

  /** This page and every page after it. */
  async *iterPages() {
    let page = this;
    yield page;
    while (page.hasNextPage()) {
      page = await page.getNextPage();
      yield page;
    }
  }

  /** Every item of this page and of every page after it. */
  async *[Symbol.asyncIterator]() {
    for await (const page of this.iterPages()) yield* page.data;
  }
}

/** What a list call returns: await it for the first page, or `for await` over every item. The
 * first page is requested when it is first awaited or iterated. */
class PagePromise {
  constructor(client, path, query) {
    this._client = client;
    this._path = path;
    this._query = query;
    this._first = null;
  }

  _page() {
    if (this._first === null) this._first = this._client._fetchPage(this._path, this._query);
    return this._first;
  }

  then(onFulfilled, onRejected) {
    return this._page().then(onFulfilled, onRejected);
  }

  catch(onRejected) {
    return this._page().catch(onRejected);
  }

  finally(onFinally) {
    return this._page().finally(onFinally);
  }

  async *[Symbol.asyncIterator]() {
    yield* await this._page();
  }
}

module.exports = { Page, PagePromise };
