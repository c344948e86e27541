"""Reports read back from JSON are checked against their dataclasses' own type hints.

``from_dict`` takes what a file says; a report edited by hand or written by something else can
hold a string where a bool goes (``"passed": "no"`` read as true) or a number where text goes
(an internal error while rendering). One walk over the hints names the first field that is off.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from enum import Enum
from functools import cache
from typing import Any


def check_types(value: Any, where: str = "") -> None:
    """ValueError naming the first field of the dataclass ``value`` (recursively) whose value
    is not of its declared type."""
    problem = _problem(value, type(value), where)
    if problem:
        raise ValueError(problem)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _problem(value: Any, hint: Any, where: str) -> str | None:
    if hint is Any:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        # a value of one of the union's dataclasses (a remark's kind) is checked as that one
        chosen = next(
            (a for a in args if isinstance(a, type) and dataclasses.is_dataclass(a) and isinstance(value, a)),
            None,
        )
        if chosen is not None:
            return _problem(value, chosen, where)
        problems = [_problem(value, arg, where) for arg in args]
        return None if None in problems else _mismatch(value, hint, where)
    if hint is type(None):
        return None if value is None else _mismatch(value, hint, where)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, hint):
            return _mismatch(value, hint, where)
        hints = _hints(hint)
        for field in dataclasses.fields(hint):
            found = _problem(getattr(value, field.name), hints[field.name], _join(where, field.name))
            if found:
                return found
        return None
    if origin is tuple:
        if not isinstance(value, tuple):
            return _mismatch(value, hint, where)
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value):
            return f"{where}: expected {len(items)} items, got {len(value)}"
        for index, (item, item_hint) in enumerate(zip(value, items, strict=True)):
            found = _problem(item, item_hint, f"{where}[{index}]")
            if found:
                return found
        return None
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        if not isinstance(value, Mapping):
            return _mismatch(value, hint, where)
        key_hint, value_hint = args or (Any, Any)
        for key, item in value.items():
            found = _problem(key, key_hint, where) or _problem(item, value_hint, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(hint, type) and (issubclass(hint, (str, bool, Enum))):
        ok = isinstance(value, hint)
    else:
        return None  # a hint this walk does not know: taken as it is
    return None if ok else _mismatch(value, hint, where)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _mismatch(value: Any, hint: Any, where: str) -> str:
    expected = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
    return f"{where or 'the report'}: expected {expected}, got {type(value).__name__} {_short(value)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
