"""The base of every generated model: typed attributes, ``from_dict`` and ``to_dict``.

Models are standard-library dataclasses rather than pydantic models so that the SDK has no
dependency to install or to conflict with; Titan is the source of truth for validation, so a
model only converts JSON (camelCase keys) to typed attributes (snake_case) and back. Unknown keys
from a newer server are ignored, so an older SDK keeps working.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, ClassVar, Dict, List, Optional, Tuple, Type, TypeVar, Union

__all__ = ["Model", "NotGiven", "NOT_GIVEN", "decode"]

M = TypeVar("M", bound="Model")

# (attribute, JSON key, type) for each field of a model class, computed once per class.
_Fields = List[Tuple[str, str, Any]]


class NotGiven:
    """The default of optional arguments, so that ``None`` can mean "send null" (e.g. to clear a
    session's proxy) while an omitted argument is not sent at all."""

    _instance: ClassVar[Optional["NotGiven"]] = None

    def __new__(cls) -> "NotGiven":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


class Model:
    """A typed result. Attributes are snake_case; ``to_dict()`` gives the JSON Titan sent."""

    __titan_fields__: ClassVar[Optional[_Fields]] = None

    @classmethod
    def _fields(cls) -> _Fields:
        fields = cls.__dict__.get("__titan_fields__")
        if fields is None:
            hints = typing.get_type_hints(cls)
            fields = [(f.name, f.metadata.get("json", f.name), hints[f.name]) for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
            cls.__titan_fields__ = fields
        return fields

    @classmethod
    def from_dict(cls: Type[M], data: Dict[str, Any]) -> M:
        """Builds the model from Titan's JSON (a dict with camelCase keys)."""
        return cls(**{name: decode(kind, data.get(key)) for name, key, kind in cls._fields()})

    def to_dict(self) -> Dict[str, Any]:
        """The model as JSON-ready data, with Titan's camelCase keys."""
        return {key: _encode(getattr(self, name)) for name, key, _ in self._fields()}


def decode(kind: Any, value: Any) -> Any:
    """Converts JSON ``value`` to the type ``kind`` (a model, a list or dict of them, or a
    plain type, which is taken as is)."""
    if value is None:
        return None
    if isinstance(kind, type):
        return kind.from_dict(value) if issubclass(kind, Model) else value
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin is list:
        return [decode(args[0], item) for item in value]
    if origin is dict:
        return {key: decode(args[1], item) for key, item in value.items()}
    if origin is Union:
        inner = [arg for arg in args if arg is not type(None)]
        if len(inner) == 1:
            return decode(inner[0], value)
        chosen = next((arg for arg in inner if _fits(arg, value)), None)
        return decode(chosen, value) if chosen is not None else value
    return value


def _fits(kind: Any, value: Any) -> bool:
    """Whether ``value`` (JSON) has every required key of model ``kind``: how the members of a
    union of models (a JIDRef is a person or a chat) are told apart."""
    if not (isinstance(kind, type) and issubclass(kind, Model) and isinstance(value, dict)):
        return False
    required = (
        f.metadata.get("json", f.name)
        for f in dataclasses.fields(kind)  # type: ignore[arg-type]
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    return all(key in value for key in required)


def _encode(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    return value
