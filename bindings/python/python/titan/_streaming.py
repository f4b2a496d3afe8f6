"""Live events from `GET /api/events` (Server-Sent Events). The stream reconnects by itself and
resumes with `Last-Event-ID`, so no event is skipped; an error answer ends it with an exception."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, AsyncIterator, Dict, Iterator, Optional, Tuple

from . import _core
from ._models import Model

__all__ = ["Event"]


@dataclasses.dataclass
class Event(Model):
    """One event, as webhooks receive it."""

    id: str
    """`evt_...`, unique: deduplicate by it, resume after it."""
    event: str
    """The event type, e.g. `message.received`."""
    session: str
    """The session it happened on."""
    timestamp: str
    """When it happened (RFC 3339)."""
    payload: Dict[str, Any]
    """The type's payload."""

    @classmethod
    def _from_core(cls, raw: Tuple[str, str, str, str, str]) -> "Event":
        event_id, event, session, timestamp, payload = raw
        return cls(id=event_id, event=event, session=session, timestamp=timestamp, payload=json.loads(payload))


def iterate(stream: _core.EventStream) -> Iterator[Event]:
    """The events of `stream`, each waited for with the GIL released."""
    while True:
        raw: Optional[Tuple[str, str, str, str, str]] = stream.next()
        if raw is None:
            return
        yield Event._from_core(raw)


async def aiterate(stream: _core.EventStream) -> AsyncIterator[Event]:
    """The events of `stream`, awaited."""
    while True:
        raw: Optional[Tuple[str, str, str, str, str]] = await stream.next_async()
        if raw is None:
            return
        yield Event._from_core(raw)
