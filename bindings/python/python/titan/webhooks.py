"""Verifying Titan's webhook deliveries, with the same native code as the Rust SDK.

Titan signs each delivery twice: `X-Webhook-Signature: sha256=<hex HMAC-SHA256(body)>`, and the
Standard Webhooks headers `webhook-id`, `webhook-timestamp` and `webhook-signature` (which also
reject replays older than 5 minutes). `verify` checks whichever the headers carry. Pass the raw
body bytes, before any JSON parsing.

```python
@app.post("/hook")
def hook(request):
    event = titan.webhooks.unwrap(request.body, request.headers, secret=WEBHOOK_SECRET)
    if isinstance(event, titan.types.MessageReceivedEvent):
        print(event.payload.text)
```
"""

from __future__ import annotations

import json
from typing import Any, Iterable, List, Mapping, Tuple, Union

from . import _core
from .events import Event, parse

__all__ = ["verify", "unwrap"]

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]]]


def _pairs(headers: Headers) -> List[Tuple[str, str]]:
    items: Any = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(name), str(value)) for name, value in items]


def _bytes(body: Union[bytes, bytearray, memoryview, str]) -> bytes:
    return body.encode() if isinstance(body, str) else bytes(body)


def verify(body: Union[bytes, bytearray, memoryview, str], headers: Headers, secret: str) -> None:
    """Raises `titan.InvalidWebhookSignatureError` unless `body` was signed with `secret`
    (the webhook's `hmac_key`)."""
    _core.verify_webhook(_bytes(body), _pairs(headers), secret)


def unwrap(body: Union[bytes, bytearray, memoryview, str], headers: Headers, secret: str) -> Event:
    """Verifies the delivery, then returns its typed event (see `titan.events`)."""
    raw = _bytes(body)
    verify(raw, headers, secret)
    return parse(json.loads(raw))
