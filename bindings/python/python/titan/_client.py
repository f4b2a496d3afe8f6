"""`titan.Client` (blocking) and `titan.AsyncClient` (asyncio): the same resources and methods.

Both hold a native transport (titan-client, in Rust) that adds the API key, applies the timeout
and retries connection errors, 408, 409, 429 and 5xx with jittered exponential backoff
(honouring `Retry-After`); POSTs carry an `Idempotency-Key`, reused by their retries.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, Tuple, TypeVar, Union

from . import _core
from ._exceptions import TitanError, status_error
from ._models import NOT_GIVEN, NotGiven, decode
from ._pagination import AsyncPage, AsyncPager, SyncPage
from ._resources import AsyncResources, SyncResources
from ._streaming import aiterate, iterate
from .events import Event
from ._version import __version__

__all__ = ["Client", "AsyncClient", "DEFAULT_TIMEOUT", "DEFAULT_MAX_RETRIES"]

DEFAULT_TIMEOUT = 600.0
"""Seconds one attempt may take, unless the client says otherwise."""
DEFAULT_MAX_RETRIES = 2
"""Retries after the first attempt, unless the client says otherwise."""

Pairs = List[Tuple[str, str]]
Answer = Tuple[int, List[Tuple[str, str]], bytes]
C = TypeVar("C", bound="_BaseClient")


class _BaseClient:
    """Settings and the native transport, shared by both clients."""

    def __init__(
        self,
        *,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        base_url = base_url or os.environ.get("TITAN_BASE_URL")
        if not base_url:
            raise TitanError("no base URL: pass base_url=... or set TITAN_BASE_URL (e.g. http://127.0.0.1:8080)")
        if api_key is None:
            api_key = os.environ.get("TITAN_API_KEY")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = float(timeout)
        self.max_retries = max_retries
        user_agent = f"titan-client-python/{__version__}"
        self._transport = _core.Transport(self.base_url, api_key, self.timeout, max_retries, user_agent)
        self._init_resources()

    def _init_resources(self) -> None:
        """Attaches the resources (`sessions`, `messages`, ...): the generated mixin does it."""
        raise NotImplementedError

    def with_options(
        self: C,
        *,
        base_url: Union[str, NotGiven] = NOT_GIVEN,
        api_key: Union[str, NotGiven] = NOT_GIVEN,
        timeout: Union[float, NotGiven] = NOT_GIVEN,
        max_retries: Union[int, NotGiven] = NOT_GIVEN,
    ) -> C:
        """A copy of this client with some settings changed, e.g.
        `client.with_options(max_retries=0).sessions.get("alice")`."""
        return type(self)(
            base_url=self.base_url if isinstance(base_url, NotGiven) else base_url,
            api_key=self.api_key if isinstance(api_key, NotGiven) else api_key,
            timeout=self.timeout if isinstance(timeout, NotGiven) else timeout,
            max_retries=self.max_retries if isinstance(max_retries, NotGiven) else max_retries,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, timeout={self.timeout}, max_retries={self.max_retries})"


def _encode(body: Optional[Dict[str, Any]]) -> Optional[bytes]:
    """The JSON of a request body; `bytes` values (a file to send) become base64 text."""
    if body is None:
        return None
    return json.dumps(body, separators=(",", ":"), default=_bytes_as_base64).encode()


def _bytes_as_base64(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _result(answer: Answer, cast: Any, envelope: bool) -> Any:
    """The decoded result of a success answer, or the exception for an error answer."""
    status, headers, raw = answer
    if status >= 400:
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        raise status_error(status, dict(headers), body)
    if cast is bytes:
        return bytes(raw)
    if cast is None or not raw:
        return None
    data = json.loads(raw)
    return decode(cast, data["data"] if envelope else data)


def _page_parts(answer: Answer, item: Any) -> Tuple[List[Any], Optional[str]]:
    page = _result(answer, Any, False)
    return [decode(item, entry) for entry in page["data"]], page.get("cursor")


def _subscription(query: Pairs, headers: Pairs) -> Tuple[List[str], Optional[str], Optional[str]]:
    values = dict(query)
    events = [e.strip() for e in values.get("events", "").split(",") if e.strip()]
    return events, values.get("session"), dict(headers).get("Last-Event-ID")


class Client(SyncResources, _BaseClient):
    """The blocking client. Calls release the GIL while they wait, and Ctrl-C interrupts them.

    ```python
    import titan

    client = titan.Client()  # TITAN_BASE_URL, TITAN_API_KEY
    for session in client.sessions.list():
        print(session.name, session.status)
    ```
    """

    def _send(self, method: str, path: str, query: Pairs, headers: Pairs, body: Optional[Dict[str, Any]]) -> Answer:
        return self._transport.request(method, path, query, headers, _encode(body))

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Pairs] = None,
        headers: Optional[Pairs] = None,
        body: Optional[Dict[str, Any]] = None,
        cast: Any,
        envelope: bool = True,
    ) -> Any:
        return _result(self._send(method, path, query or [], headers or [], body), cast, envelope)

    def _page(self, path: str, query: Pairs, item: Any) -> SyncPage[Any]:
        data, cursor = _page_parts(self._send("GET", path, query, [], None), item)
        return SyncPage(self, path, query, item, data, cursor)

    def _events(self, query: Pairs, headers: Pairs) -> Iterator[Event]:
        return iterate(self._transport.events(*_subscription(query, headers)))

    def get(self, path: str, *, query: Optional[Dict[str, Any]] = None) -> Any:
        """An undocumented GET: the decoded JSON answer of `path` (e.g. `/api/sessions`)."""
        pairs = [(k, str(v)) for k, v in (query or {}).items()]
        return _result(self._send("GET", path, pairs, [], None), Any, False)

    def post(self, path: str, *, body: Optional[Dict[str, Any]] = None) -> Any:
        """An undocumented POST: the decoded JSON answer of `path`."""
        return _result(self._send("POST", path, [], [], body), Any, False)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class AsyncClient(AsyncResources, _BaseClient):
    """The asyncio client: the same resources and methods as `Client`, awaited.

    ```python
    client = titan.AsyncClient()
    async for session in client.sessions.list():
        print(session.name)
    ```
    """

    async def _send(self, method: str, path: str, query: Pairs, headers: Pairs, body: Optional[Dict[str, Any]]) -> Answer:
        return await self._transport.request_async(method, path, query, headers, _encode(body))

    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Pairs] = None,
        headers: Optional[Pairs] = None,
        body: Optional[Dict[str, Any]] = None,
        cast: Any,
        envelope: bool = True,
    ) -> Any:
        return _result(await self._send(method, path, query or [], headers or [], body), cast, envelope)

    def _page(self, path: str, query: Pairs, item: Any) -> AsyncPager[Any]:
        return AsyncPager(self, path, query, item)

    async def _fetch_page(self, path: str, query: Pairs, item: Any) -> AsyncPage[Any]:
        data, cursor = _page_parts(await self._send("GET", path, query, [], None), item)
        return AsyncPage(self, path, query, item, data, cursor)

    def _events(self, query: Pairs, headers: Pairs) -> AsyncIterator[Event]:
        return aiterate(self._transport.events(*_subscription(query, headers)))

    async def get(self, path: str, *, query: Optional[Dict[str, Any]] = None) -> Any:
        """An undocumented GET: the decoded JSON answer of `path`."""
        pairs = [(k, str(v)) for k, v in (query or {}).items()]
        return _result(await self._send("GET", path, pairs, [], None), Any, False)

    async def post(self, path: str, *, body: Optional[Dict[str, Any]] = None) -> Any:
        """An undocumented POST: the decoded JSON answer of `path`."""
        return _result(await self._send("POST", path, [], [], body), Any, False)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None
