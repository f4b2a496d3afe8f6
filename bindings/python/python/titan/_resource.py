"""What the generated resource classes share: their client, and building query, headers and body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Tuple
from urllib.parse import quote

from ._models import Model, NotGiven

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["SyncResource", "AsyncResource", "body", "pairs", "path"]


class _Resource:
    """A group of operations (e.g. `client.sessions`), with its sub-groups attached."""

    def __init__(self, client: Any) -> None:
        self._client = client
        init_children = getattr(self, "_init_children", None)
        if init_children is not None:
            init_children()


class SyncResource(_Resource):
    """A group of operations of `titan.Client`."""

    _client: "Client"


class AsyncResource(_Resource):
    """A group of operations of `titan.AsyncClient`."""

    _client: "AsyncClient"


def path(value: Any) -> str:
    """A path parameter, percent-encoded (chat ids contain `@`)."""
    return quote(str(value), safe="")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    return str(value)


def pairs(*items: Tuple[str, Any]) -> List[Tuple[str, str]]:
    """Query parameters or headers, leaving out those not given (or None)."""
    return [(name, _text(value)) for name, value in items if value is not None and not isinstance(value, NotGiven)]


def body(fields: Mapping[str, Any]) -> Dict[str, Any]:
    """A JSON body, leaving out the fields not given (None is sent, as null)."""
    return {key: _json(value) for key, value in fields.items() if not isinstance(value, NotGiven)}


def _json(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict()
    return value
