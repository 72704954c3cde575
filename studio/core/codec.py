"""The one codec between the studio's frozen dataclasses and JSON data.

Every persisted or printed form of a value (the job journal, the PNG ``studio`` chunk, bundle
settings, ``--json`` output) goes through :func:`to_data` and comes back through
:func:`from_data`, so a field added to a dataclass reaches every form at once and no form is a
hand-kept copy.

``from_data`` trusts nothing: it checks every value against the field's annotation and raises
:class:`CodecError` naming the field; keys it does not know are ignored (data from a newer
studio) and missing keys take the field's default (data from an older one).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Union

if TYPE_CHECKING:
    import json

T = TypeVar("T")

#: Field metadata that keeps a field out of every serialised form (bytes, live objects).
SKIP = {"codec": "skip"}


class CodecError(ValueError):
    """Data that does not fit the type it should become; the message names the field."""


def to_data(value: Any) -> Any:
    """``value`` as JSON-able data: dataclasses become objects, enums their values, tuples lists,
    datetimes ISO text, paths text."""
    kind: type = type(value)
    if kind in _PLAIN or value is None:  # the common leaves, before any other test
        return value
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Enum):
        return value.value
    names = _encoded(kind)
    if names is not None:
        return {name: to_data(getattr(value, name)) for name in names}
    if isinstance(value, Mapping):
        if _all_text(value):  # the common table of texts, without a call per item
            return dict(value)
        return {str(to_data(k)): to_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = sorted(value) if isinstance(value, frozenset | set) else value
        return [to_data(v) for v in items]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: Any) -> str:
    """Compact, stable JSON text of ``value`` (keys sorted; NaN and infinities refused)."""
    return _encoder().encode(to_data(value))


@cache
def _encoder() -> json.JSONEncoder:
    """Made at the first use: ``json`` is read then (a window shows itself without it)."""
    import json

    return json.JSONEncoder(sort_keys=True, ensure_ascii=False, allow_nan=False,
                            separators=(",", ":"))


def loads(cls: type[T], text: str | bytes) -> T:
    """``cls`` from JSON text; :class:`CodecError` for text that is not JSON or does not fit."""
    import json

    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"not valid JSON ({exc})") from None
    return from_data(cls, data)


def from_data(cls: type[T], data: Any) -> T:
    """An instance of ``cls`` (a dataclass) from data made by :func:`to_data`."""
    return typing.cast(T, _decode(cls, data, cls.__name__))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@cache
def _encoded(cls: type) -> tuple[str, ...] | None:
    """The names of the fields of dataclass ``cls`` every serialised form holds; None when
    ``cls`` is not a dataclass."""
    if not dataclasses.is_dataclass(cls):
        return None
    return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("codec") != "skip")


_PLAIN = frozenset({str, int, bool, float})


_TEXT = frozenset({str})


def _all_text(mapping: Mapping[Any, Any]) -> bool:
    # The types of keys and values gathered in C: a table of texts is the common case.
    return {*map(type, mapping), *map(type, mapping.values())} <= _TEXT


@cache
def _fields(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    """What decoding dataclass ``cls`` reads: each field it takes (name, annotation, whether
    data must hold it), in order; worked out once per class, not once per value."""
    hints = _hints(cls)
    return tuple(
        (f.name, hints[f.name],
         f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        for f in dataclasses.fields(cls) if f.metadata.get("codec") != "skip" and f.init)


_ORIGINS: dict[Any, tuple[Any, tuple[Any, ...]]] = {}


def _origin(tp: Any) -> tuple[Any, tuple[Any, ...]]:
    """``typing.get_origin`` and ``typing.get_args`` of an annotation, kept per annotation."""
    try:
        return _ORIGINS[tp]
    except KeyError:
        found = _ORIGINS[tp] = (typing.get_origin(tp), typing.get_args(tp))
        return found
    except TypeError:  # an annotation that cannot be a key
        return typing.get_origin(tp), typing.get_args(tp)


def _decode(tp: Any, data: Any, where: str) -> Any:
    if tp is Any or tp is object:
        return data
    if (tp is str or tp is int) and type(data) is tp:  # the common leaves, before any walk
        return data
    origin, args = _origin(tp)
    if origin is Union or origin is types.UnionType:
        if data is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _decode(arg, data, where)
            except CodecError as exc:
                errors.append(str(exc))
        raise CodecError(errors[0] if len(errors) == 1 else f"{where} does not fit {tp}")
    if origin in (tuple, list, frozenset, set):
        if not isinstance(data, list | tuple):
            raise CodecError(f"{where} must be a list")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(data):
                raise CodecError(f"{where} must have {len(args)} items")
            items = [_decode(a, d, f"{where}[{i}]") for i, (a, d) in
                     enumerate(zip(args, data, strict=True))]
        else:
            item = args[0] if args else Any
            items = [_decode(item, d, f"{where}[{i}]") for i, d in enumerate(data)]
        return origin(items)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        if not isinstance(data, Mapping):
            raise CodecError(f"{where} must be an object")
        key_type, value_type = args if len(args) == 2 else (str, Any)
        if key_type is str and value_type is str and _all_text(data):
            return dict(data)
        return {_decode(key_type, k, f"{where} key {k!r}"): _decode(value_type, v, f"{where}.{k}")
                for k, v in data.items()}
    if origin is typing.Literal:
        if data not in args:
            raise CodecError(f"{where} must be one of {args}")
        return data
    if not isinstance(tp, type):
        raise CodecError(f"{where} has a type the codec does not know ({tp})")
    if dataclasses.is_dataclass(tp):
        if not isinstance(data, Mapping):
            raise CodecError(f"{where} must be an object")
        values = {}
        for name, hint, required in _fields(tp):
            if name in data:
                values[name] = _decode(hint, data[name], f"{where}.{name}")
            elif required:
                raise CodecError(f"{where}.{name} is missing")
        return tp(**values)
    if issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError:
            raise CodecError(f"{where} has an unknown value {data!r}") from None
    if tp is bool:
        if not isinstance(data, bool):
            raise CodecError(f"{where} must be true or false")
        return data
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise CodecError(f"{where} must be a whole number")
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, int | float) or (
                isinstance(data, float) and not math.isfinite(data)):
            raise CodecError(f"{where} must be a number")
        return float(data)
    if tp is str:
        if not isinstance(data, str):
            raise CodecError(f"{where} must be text")
        return data
    if tp is datetime:
        if not isinstance(data, str):
            raise CodecError(f"{where} must be a date and time")
        try:
            return datetime.fromisoformat(data)
        except ValueError:
            raise CodecError(f"{where} is not a date and time") from None
    if tp is Path:
        if not isinstance(data, str):
            raise CodecError(f"{where} must be a path")
        return Path(data)
    raise CodecError(f"{where} has a type the codec does not know ({tp.__name__})")
