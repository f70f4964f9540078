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

import ast
import linecache
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


class _SetattrToDescriptor(ast.NodeTransformer):
    """`_setattr('name', value)` -> `_set_name(self, value)`; counts what it could not swap."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.left = 0

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func, args = node.func, node.args
        if not (isinstance(func, ast.Name) and func.id == "_setattr"):
            return node
        if (len(args) != 2 or node.keywords or not isinstance(args[0], ast.Constant)
                or not isinstance(args[0].value, str)):
            self.left += 1
            return node
        name = args[0].value
        self.names.append(name)
        return ast.Call(ast.Name(f"_set_{name}", ast.Load()),
                        [ast.Name("self", ast.Load()), args[1]], [])


def slot_init(cls: type[T]) -> type[T]:
    """Give an attrs frozen slotted class attrs' own __init__ setting its slots through their
    descriptors (apply above `@attrs.frozen`)."""
    init = cls.__init__
    code = init.__code__
    source = "".join(linecache.getlines(code.co_filename))
    if not _attrs_slotted(cls) or not source or init.__closure__ is not None:
        return cls
    tree = ast.parse(source)
    defs = [node for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == "__init__"]
    if len(defs) != 1:
        return cls
    function = defs[0]
    swap = _SetattrToDescriptor()
    function = swap.visit(function)
    body = [statement for statement in function.body if not _binds_setattr(statement)]
    fields = {field.name for field in attrs.fields(cls)}  # type: ignore[arg-type]
    if swap.left or len(body) != len(function.body) - 1 or not set(swap.names) <= fields:
        return cls
    function.body = body
    if any(isinstance(node, ast.Name) and node.id == "_setattr" for node in ast.walk(function)):
        return cls
    module = ast.fix_missing_locations(ast.Module([function], []))
    namespace = dict(init.__globals__)
    namespace.update({f"_set_{name}": _descriptor(cls, name).__set__ for name in fields})
    compiled: dict[str, Any] = {}
    exec(compile(module, code.co_filename, "exec"), namespace, compiled)
    fast: types.FunctionType = compiled["__init__"]
    fast = types.FunctionType(fast.__code__, namespace, "__init__", init.__defaults__,
                              init.__closure__)
    fast.__kwdefaults__ = init.__kwdefaults__
    fast.__qualname__, fast.__module__ = init.__qualname__, init.__module__
    fast.__annotations__ = init.__annotations__
    fast.__doc__ = init.__doc__
    fast.checked = init  # type: ignore[attr-defined]  # attrs' own, for the tests
    type.__setattr__(cls, "__init__", fast)
    return cls


def _attrs_slotted(cls: type) -> bool:
    return attrs.has(cls) and "__slots__" in cls.__dict__


def _binds_setattr(statement: ast.stmt) -> bool:
    """`_setattr = _cached_setattr_get(self)`: the bound object.__setattr__ attrs sets with."""
    return (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id == "_setattr")
