"""Titan's Python SDK: a typed client for the Titan WhatsApp REST API, native (Rust) underneath.

```python
import titan

client = titan.Client()  # reads TITAN_BASE_URL and TITAN_API_KEY
session = client.sessions.create(name="alice", start=True)
client.messages.send(session="alice", chat_id="15550002222@s.whatsapp.net", type="text", text="Hi!")
```

`titan.AsyncClient` has the same surface for asyncio. Failures raise the exceptions below;
`titan.webhooks.unwrap` checks a delivery's signature and returns its typed event
(`titan.events`).
"""

from . import _exceptions, events, types, webhooks
from ._client import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, AsyncClient, Client
from ._exceptions import *  # noqa: F403 (every exception class, listed in _exceptions.__all__)
from ._models import NOT_GIVEN, NotGiven
from ._pagination import AsyncPage, AsyncPager, SyncPage
from .events import Event
from ._version import __version__

__all__ = [
    "Client",
    "AsyncClient",
    "DEFAULT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "types",
    "events",
    "webhooks",
    "Event",
    "SyncPage",
    "AsyncPage",
    "AsyncPager",
    "NOT_GIVEN",
    "NotGiven",
    "__version__",
]
__all__ += _exceptions.__all__
