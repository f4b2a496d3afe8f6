/** One page of a list: `data`, and the `cursor` of the next page (null on the last). */
export declare class Page<T> implements AsyncIterable<T> {
  /** This page's items. */
  readonly data: T[];
  /** The cursor of the next page; null on the last page. */
  readonly cursor: string | null;
  /** Whether another page follows this one. */
  hasNextPage(): boolean;
  /** Fetches the next page; throws on the last page. */
  getNextPage(): Promise<Page<T>>;
  /** This page and every page after it. */
  iterPages(): AsyncGenerator<Page<T>, void, undefined>;
  /** Every item of this page and of every page after it. */
  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined>;
}

/**
 * What a list call returns: `await` it for the first page, or `for await` over it to walk every
 * item of every page.
 *
 * ```ts
 * for await (const session of client.sessions.list()) console.log(session.name);
 * ```
 */
export declare class PagePromise<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  then<R1 = Page<T>, R2 = never>(
    onFulfilled?: ((page: Page<T>) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2>;
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T> | R>;
  finally(onFinally?: (() => void) | null): Promise<Page<T>>;
  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined>;
}
