"""Live events from `GET /api/events` (Server-Sent Events). The stream reconnects by itself and
resumes with `Last-Event-ID`, so no event is skipped; an error answer ends it with an exception."""

from __future__ import annotations

import json
from typing import AsyncIterator, Iterator, Optional, Tuple

from . import _core
from .events import Event, parse

__all__ = ["iterate", "aiterate"]


def _from_core(raw: Tuple[str, str, str, str, str]) -> Event:
    event_id, event, session, timestamp, payload = raw
    return parse({"id": event_id, "event": event, "session": session, "timestamp": timestamp, "payload": json.loads(payload)})


def iterate(stream: _core.EventStream) -> Iterator[Event]:
    """The events of `stream`, each waited for with the GIL released."""
    while True:
        raw: Optional[Tuple[str, str, str, str, str]] = stream.next()
        if raw is None:
            return
        yield _from_core(raw)


async def aiterate(stream: _core.EventStream) -> AsyncIterator[Event]:
    """The events of `stream`, awaited."""
    while True:
        raw: Optional[Tuple[str, str, str, str, str]] = await stream.next_async()
        if raw is None:
            return
        yield _from_core(raw)
