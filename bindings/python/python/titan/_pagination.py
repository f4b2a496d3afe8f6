"""Cursor-paged lists. Iterating a page walks every item of every page after it, fetching each
next page when needed (`for s in client.sessions.list()`, `async for` on the async client);
`has_next_page()` / `get_next_page()` step by hand."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Generator, Generic, Iterator, List, Optional, Tuple, TypeVar

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["SyncPage", "AsyncPage", "AsyncPager"]

T = TypeVar("T")
Query = List[Tuple[str, str]]


def _next_query(query: Query, cursor: str) -> Query:
    return [(name, value) for name, value in query if name != "cursor"] + [("cursor", cursor)]


class _Page(Generic[T]):
    """One page of a list: `data`, and the `cursor` of the next page (None on the last)."""

    def __init__(self, client: Any, path: str, query: Query, item: Any, data: List[T], cursor: Optional[str]) -> None:
        self._client = client
        self._path = path
        self._query = query
        self._item = item
        self.data = data
        self.cursor = cursor

    def has_next_page(self) -> bool:
        """Whether another page follows this one."""
        return self.cursor is not None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data=[{len(self.data)} items], cursor={self.cursor!r})"


class SyncPage(_Page[T]):
    """One page of a list on the blocking client."""

    _client: "Client"

    def get_next_page(self) -> "SyncPage[T]":
        """Fetches the next page; raises `StopIteration` on the last one."""
        if self.cursor is None:
            raise StopIteration("this is the last page")
        return self._client._page(self._path, _next_query(self._query, self.cursor), self._item)

    def iter_pages(self) -> Iterator["SyncPage[T]"]:
        """This page and every page after it."""
        page = self
        yield page
        while page.cursor is not None:
            page = page.get_next_page()
            yield page

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data


class AsyncPage(_Page[T]):
    """One page of a list on the async client."""

    _client: "AsyncClient"

    async def get_next_page(self) -> "AsyncPage[T]":
        """Fetches the next page; raises `StopAsyncIteration` on the last one."""
        if self.cursor is None:
            raise StopAsyncIteration("this is the last page")
        return await self._client._fetch_page(self._path, _next_query(self._query, self.cursor), self._item)

    async def iter_pages(self) -> AsyncIterator["AsyncPage[T]"]:
        """This page and every page after it."""
        page = self
        yield page
        while page.cursor is not None:
            page = await page.get_next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item


class AsyncPager(Generic[T]):
    """What an async list call returns: `await` it for the first page, or `async for` over it
    to walk every item of every page."""

    def __init__(self, client: "AsyncClient", path: str, query: Query, item: Any) -> None:
        self._client = client
        self._path = path
        self._query = query
        self._item = item

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._client._fetch_page(self._path, self._query, self._item).__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page: AsyncPage[T] = await self
        async for item in page:
            yield item
