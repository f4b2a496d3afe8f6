"""The exceptions every call can raise, one class per kind of failure (as openai-python does).

``APIStatusError`` and its subclasses carry what Titan answered: ``status_code``, ``error`` (the
message), ``docs`` (a link explaining it), ``request_id`` (the ``X-Request-Id`` to quote to
support), ``headers`` and ``body``.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Type

__all__ = [
    "TitanError",
    "APIError",
    "APIConnectionError",
    "APITimeoutError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "InvalidWebhookSignatureError",
]


class TitanError(Exception):
    """The base of every exception this SDK raises."""


class APIError(TitanError):
    """A call to Titan failed. ``message`` says why."""

    message: str
    status_code: Optional[int] = None
    error: Optional[str] = None
    docs: Optional[str] = None
    request_id: Optional[str] = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIConnectionError(APIError):
    """Titan could not be reached, or the connection broke (after the retries)."""


class APITimeoutError(APIConnectionError):
    """The call took longer than the client's ``timeout`` (after the retries)."""


class APIStatusError(APIError):
    """Titan answered with an error status (after the retries)."""

    status_code: int
    error: str
    docs: str
    request_id: Optional[str]
    headers: Dict[str, str]
    body: Any

    def __init__(self, status_code: int, headers: Mapping[str, str], body: Any) -> None:
        error = body.get("error") if isinstance(body, dict) else None
        docs = body.get("docs") if isinstance(body, dict) else None
        self.status_code = status_code
        self.error = error if isinstance(error, str) else f"HTTP {status_code}"
        self.docs = docs if isinstance(docs, str) else ""
        self.headers = dict(headers)
        self.request_id = self.headers.get("x-request-id")
        self.body = body
        message = f"{status_code}: {self.error}"
        if self.docs:
            message += f" (see {self.docs})"
        if self.request_id:
            message += f" [request id {self.request_id}]"
        super().__init__(message)


class BadRequestError(APIStatusError):
    """400: the request is invalid; ``error`` says which field and why."""


class AuthenticationError(APIStatusError):
    """401: no API key, or one Titan does not know (or that expired, or was revoked)."""


class PermissionDeniedError(APIStatusError):
    """403: the key lacks the scope, or may not use that session."""


class NotFoundError(APIStatusError):
    """404: no such session, key, webhook, message or route."""


class ConflictError(APIStatusError):
    """409: the resource exists already, or is not in a state that allows the call."""


class UnprocessableEntityError(APIStatusError):
    """422: the request is well-formed but cannot be carried out."""


class RateLimitError(APIStatusError):
    """429: the key sent too many requests; ``headers["retry-after"]`` says when to try again."""


class InternalServerError(APIStatusError):
    """5xx: Titan or WhatsApp failed."""


class InvalidWebhookSignatureError(TitanError):
    """A webhook delivery's signature did not verify: do not trust its body."""


_BY_STATUS: Dict[int, Type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error(status_code: int, headers: Mapping[str, str], body: Any) -> APIStatusError:
    """The exception for an error answer, by its status."""
    cls = _BY_STATUS.get(status_code)
    if cls is None:
        cls = InternalServerError if status_code >= 500 else APIStatusError
    return cls(status_code, headers, body)
