"""schemathesis hooks for the fuzz suite (loaded through SCHEMATHESIS_HOOKS by test_fuzz.py).

An `Idempotency-Key` makes the server replay the first answer for that key, and answer 422 when
the same key comes with a different request (correct, and tested in tests/e2e). The generator
draws few distinct keys, so unrelated valid requests would share one: each valid request's key
is therefore made its own (the generated key, plus a digest of the request), which keeps
identical retries on one key.

`GET /api/events` is an endless stream: schemathesis reads `max-stream-events` messages and
stops, so a valid selection that matches no event would wait forever. Valid stream requests are
therefore pointed at a selection that has events (session `chatty`, replayed from the start);
invalid ones keep their generated values, since the server refuses them at once.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Dict

import schemathesis


def _own_idempotency_key(case: Any) -> None:
    headers = dict(case.headers or {})
    key = headers.get("Idempotency-Key")
    if not isinstance(key, str):
        return
    request = json.dumps([case.method, case.formatted_path, case.query, case.body], default=str, sort_keys=True)
    digest = hashlib.sha256(request.encode()).hexdigest()[:16]
    headers["Idempotency-Key"] = f"{key[:200]}-{digest}"
    case.headers = headers


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Dict[str, Any]) -> None:
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    _own_idempotency_key(case)
    if case.operation.path != "/api/events":
        return
    query = dict(case.query or {})
    query.pop("events", None)
    query["session"] = "chatty"
    case.query = query
    headers = dict(case.headers or {})
    headers["Last-Event-ID"] = "evt_0"
    case.headers = headers
