"""Typed events: what webhooks receive and `client.events.stream()` yields.

Each event type has its own class in `titan.types`, generated from the OpenAPI document's
`webhooks` (`MessageReceivedEvent`, `SessionStatusEvent`, ...), with `event` as a `Literal` and a
typed `payload`. `parse` picks the class by `event`; a type newer than this SDK becomes an
`UnknownEvent` with its payload as a dict, so an old SDK keeps working.

```python
event = titan.webhooks.unwrap(body, headers, secret)
if isinstance(event, titan.types.MessageReceivedEvent):
    print(event.payload.text, event.payload.from_)
```
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Dict, Type, Union

from . import types
from ._models import Model

__all__ = ["Event", "UnknownEvent", "parse"]


@dataclasses.dataclass
class UnknownEvent(Model):
    """An event of a type this SDK does not know yet (the server is newer), untyped."""

    id: str
    """`evt_...`, unique: deduplicate by it, resume after it."""
    event: str
    """The event type."""
    session: str
    """The session it happened on."""
    timestamp: str
    """When it happened (RFC 3339)."""
    payload: Dict[str, Any]
    """The type's payload, as sent."""


Event = Union[types.WebhookEvent, UnknownEvent]
"""Any event: one of `titan.types.WebhookEvent`'s classes, or `UnknownEvent`."""


def _by_type() -> Dict[str, Type[Model]]:
    classes: Dict[str, Type[Model]] = {}
    for member in typing.get_args(types.WebhookEvent):
        name = member.__forward_arg__ if isinstance(member, typing.ForwardRef) else member.__name__
        cls = getattr(types, name)
        (event,) = typing.get_args(typing.get_type_hints(cls)["event"])
        classes[event] = cls
    return classes


_BY_TYPE = _by_type()


def parse(data: Dict[str, Any]) -> Event:
    """The typed event of an envelope (`{id, event, session, timestamp, payload}`)."""
    cls = _BY_TYPE.get(str(data.get("event")), UnknownEvent)
    return typing.cast(Event, cls.from_dict(data))
