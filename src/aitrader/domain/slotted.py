"""Cheaper construction of hot frozen attrs records, with attrs' behaviour kept exactly.

attrs' generated __init__ for a frozen slotted class sets each field with
`object.__setattr__(self, name, value)` (through a bound `_setattr`): a call that looks the
name up on the type on every set. The slot's own descriptor does the same store without the
lookup: on CPython 3.11 `descriptor.__set__(self, value)` measured ~61 ns against ~101 ns.

`slot_init` gives a class attrs' own __init__ (the source attrs generated, from linecache)
with only those set calls swapped for the slot descriptors' __set__: defaults, converters,
validators, __attrs_post_init__, error types and messages are attrs' code unchanged.
If the generated source is not the shape expected (another attrs version), the class keeps
attrs' __init__: slower, never different. tests/unit/test_slotted.py holds every decorated
class's __init__ equal to attrs' own (kept as `__init__.checked`) for any arguments.

`slot_setters` hands out the descriptors' __set__ for trusted constructions that skip the
constructor's checks where a caller has proved them (see Order._successor, checked_bar).
"""

from __future__ import annotations

import linecache
import re
import types
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

T = TypeVar("T")

Setter = Callable[[Any, Any], None]


def slot_setters(cls: type) -> tuple[Setter, ...]:
    """The __set__ of each attrs field's slot descriptor, in field order."""
    return tuple(_descriptor(cls, field.name).__set__ for field in attrs.fields(cls))


def _descriptor(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    raise TypeError(f"{cls.__name__}.{name} has no slot")  # pragma: no cover


# attrs' set calls, as it writes them in a frozen slotted class's __init__
_SETATTR_CALL = re.compile(r"\b_setattr\('([A-Za-z_]\w*)', ")
_BIND_SETATTR = "    _setattr = _cached_setattr_get(self)\n"


def slot_init(cls: type[T]) -> type[T]:
    """Give an attrs frozen slotted class attrs' own __init__ setting its slots through their
    descriptors (apply above `@attrs.frozen`)."""
    init = cls.__init__
    code = init.__code__
    if not _attrs_slotted(cls) or init.__closure__ is not None:
        return cls
    source = _function_source(code)
    if source is None or source.count(_BIND_SETATTR) != 1:
        return cls
    names = _SETATTR_CALL.findall(source)
    record: type = cls  # attrs.fields' stubs take a plain type, not a type[T]
    fields = {field.name for field in attrs.fields(record)}
    # at attrs' own line numbers (the removed line left blank): tracebacks, inspect and pdb
    # read the generated script attrs put in linecache under this file name
    text = "\n" * (code.co_firstlineno - 1) + _SETATTR_CALL.sub(
        r"_set_\1(self, ", source.replace(_BIND_SETATTR, "\n"))
    if "_setattr" in text or not set(names) <= fields:
        return cls  # a set attrs writes another way: keep attrs' __init__
    namespace = dict(init.__globals__)
    namespace.update({f"_set_{name}": _descriptor(cls, name).__set__ for name in fields})
    compiled: dict[str, Any] = {}
    exec(compile(text, code.co_filename, "exec"), namespace, compiled)  # attrs does the same
    fast: types.FunctionType = compiled["__init__"]
    fast = types.FunctionType(fast.__code__, namespace, "__init__", init.__defaults__)
    fast.__kwdefaults__ = init.__kwdefaults__
    fast.__qualname__, fast.__module__ = init.__qualname__, init.__module__
    fast.__annotations__ = init.__annotations__
    fast.__doc__ = init.__doc__
    fast.checked = init  # type: ignore[attr-defined]  # attrs' own, for the tests
    type.__setattr__(cls, "__init__", fast)
    return cls


def _function_source(code: types.CodeType) -> str | None:
    """The source of the generated `def __init__` block (from linecache, where attrs keeps
    it), or None when it is not there."""
    lines = linecache.getlines(code.co_filename)
    first = code.co_firstlineno - 1
    if not 0 <= first < len(lines) or not lines[first].startswith("def __init__("):
        return None
    end = first + 1
    while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
        end += 1
    return "".join(lines[first:end])


def _attrs_slotted(cls: type) -> bool:
    return attrs.has(cls) and "__slots__" in cls.__dict__
