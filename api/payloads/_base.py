"""The base of every payload model, its number types, and the one core -> JSON conversion.

A payload model mirrors one frozen dataclass of the core field by field (same names, same order,
units in the names) and is built from an instance of it (``from_attributes``). Non-finite
numbers never reach the wire: an optional number that is NaN or infinite becomes ``null`` (the
core's way of saying "not available"); a required number must be finite.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "MODELS",
    "Finite",
    "OptFloat",
    "Payload",
    "core_field_names",
    "register",
    "to_model",
    "to_payload",
]


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


#: A number the core always gives as finite (a NaN or infinity is rejected, naming the field).
Finite = Annotated[float, Field(allow_inf_nan=False)]
#: A number the core may not have: ``None``, NaN or +-inf all go out as ``null``.
OptFloat = Annotated[float | None, BeforeValidator(_finite_or_none)]


class Payload(BaseModel):
    """A typed copy of one core dataclass, as it goes out in JSON.

    Validation ignores keys it does not know (rows stored by older versions stay readable);
    what goes out has exactly the declared fields, so the schema is closed
    (``additionalProperties: false``) and a generated client gets typed attributes only.
    """

    model_config = ConfigDict(
        from_attributes=True,
        frozen=True,
        extra="ignore",
        json_schema_extra={"additionalProperties": False},
    )


_P = TypeVar("_P", bound=Payload)
#: Core dataclass -> the payload model that mirrors it (filled by :func:`register`).
MODELS: dict[type, type[Payload]] = {}


def register(core: type) -> Callable[[type[_P]], type[_P]]:
    """Class decorator: the model mirrors the dataclass ``core``.

    :func:`to_payload` converts the dataclass's instances with it.
    """
    if not dataclasses.is_dataclass(core):
        raise TypeError(f"{core.__qualname__} is not a dataclass")

    def decorate(model: type[_P]) -> type[_P]:
        MODELS[core] = model
        return model

    return decorate


def core_field_names(cls: type) -> tuple[str, ...]:
    """The field names of a core dataclass, in order."""
    return tuple(f.name for f in dataclasses.fields(cls))


def to_model(obj: Any) -> Payload:
    """The payload model of a core result (an instance of a registered dataclass).

    Raises
    ------
    TypeError
        No payload model mirrors ``type(obj)``.
    pydantic.ValidationError
        A value does not fit its field (a non-finite required number, a wrong type); the
        error names the field.
    """
    model = MODELS.get(type(obj))
    if model is None:
        raise TypeError(f"no payload model for {type(obj).__module__}.{type(obj).__qualname__}")
    return model.model_validate(obj)


def to_payload(obj: Any) -> dict[str, Any]:
    """The JSON-ready dict of a core result (a registered dataclass), through its model.

    ``to_model(obj).model_dump(mode="json")``: what the service stores and sends.

    Raises
    ------
    TypeError
        No payload model mirrors ``type(obj)``.
    pydantic.ValidationError
        A value does not fit its field (a non-finite required number, a wrong type); the
        error names the field.
    """
    return to_model(obj).model_dump(mode="json")
