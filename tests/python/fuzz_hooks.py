"""schemathesis hooks for the fuzz suite (loaded through SCHEMATHESIS_HOOKS by test_fuzz.py).

An `Idempotency-Key` makes the server replay the first answer for that key, and answer 422 when
the same key comes with a different request (correct, and tested in tests/e2e). The generator
draws few distinct keys, so unrelated requests would share one, and a stateful scenario that
creates, deletes and creates the same thing again would get the first creation replayed: each
valid request's key is therefore made its own (the generated key plus a unique suffix).

A file to send may be 70 MB of base64 (`maxLength` 70,000,000): the coverage phase would build
strings of that length and one past it for every send case, which measures the fuzzer's memory
rather than the server, so lengths above `LONGEST` are capped in the document the fuzzer reads.
The server's own limit is read from the same declaration as the document's (see
server/src/model/bounded.rs).
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict

import schemathesis

LONGEST = 4096


def _cap_lengths(value: Any) -> None:
    if isinstance(value, dict):
        if isinstance(value.get("maxLength"), int) and value["maxLength"] > LONGEST:
            value["maxLength"] = LONGEST
        for inner in value.values():
            _cap_lengths(inner)
    elif isinstance(value, list):
        for inner in value:
            _cap_lengths(inner)


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: Dict[str, Any]) -> None:
    _cap_lengths(raw_schema)


def _own_idempotency_key(headers: Dict[str, Any]) -> None:
    key = headers.get("Idempotency-Key")
    if isinstance(key, str):
        headers["Idempotency-Key"] = f"{key[:200]}-{uuid.uuid4().hex}"


# What an event-type list looks like; anything else is refused by the server.
_EVENT_LIST = re.compile(r"^[a-z*][a-z_.*]*(,[a-z*][a-z_.*]*)*$")
# What a session name looks like (the document's rule); a filter breaking it is refused at once.
_SESSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Dict[str, Any]) -> None:
    # In place: a check that removed a header (e.g. Authorization) keeps it removed.
    if case.headers is None:
        case.headers = {}
    if case.meta is not None and case.meta.generation.mode.is_positive:
        _own_idempotency_key(case.headers)
    if case.operation.path != "/api/events":
        return
    if case.query is None:
        case.query = {}
    events = case.query.get("events")
    if events is None or isinstance(events, str) and _EVENT_LIST.match(events):
        case.query.pop("events", None)
    session = case.query.get("session")
    if isinstance(session, str) and _SESSION.match(session):
        case.query.pop("session", None)
    case.headers["Last-Event-ID"] = "evt_0"
