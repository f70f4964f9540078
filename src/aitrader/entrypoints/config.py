"""Configuration: defaults < YAML file < AITRADER_* environment < command-line flags.

Parsed into frozen attrs classes; a bad key or value is named with its dotted path.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import attrs
import cattrs
import yaml
from returns.result import Failure

from aitrader.entrypoints.config_schema import VENDOR_NAMES, Config

__all__ = ["Config", "ConfigError", "load_config"]  # Config: the loaded shape

ENV_PREFIX = "AITRADER_"
MODES = ("backtest", "paper", "live")


class ConfigError(Exception):
    """A configuration problem, with a message naming the key and the source."""


def _shown(value: Any) -> str:
    """A value as an error line shows it: a list or mapping by its kind only (journal.url:
    [postgresql://user:password@...] printed the password)."""
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _decimal(value: Any, _type: type) -> Decimal:
    if isinstance(value, bool | list | dict):
        raise ValueError(f"expected a number, got {_shown(value)}")
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"expected a number, got {_shown(value)}") from None
    if not result.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def _bool(value: Any, _type: type) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {_shown(value)}")


_converter = cattrs.Converter(forbid_extra_keys=True)
_converter.register_structure_hook(Decimal, _decimal)
_converter.register_structure_hook(bool, _bool)


def _whole(value: Any, _type: type) -> int:
    """A count: 3, 3.0 or "3" pass; 1.5, true or "x" are refused rather than truncated."""
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {_shown(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"expected a whole number, got {_shown(value)}")


_converter.register_structure_hook(int, _whole)


def _text(value: Any, _type: type) -> str:
    """Text as given; YAML's numbers and dates as the text they were written as. A list, a
    mapping, null or a boolean is no text (output.dir: [a] would name a directory "['a']")."""
    if value is None or isinstance(value, bool | list | dict):
        raise ValueError(f"expected text, got {_shown(value)}")
    return str(value)


_converter.register_structure_hook(str, _text)


def _float(value: Any, _type: type) -> float:
    if isinstance(value, bool):  # a float in Python, not a number to a user
        raise ValueError(f"expected a number, got {_shown(value)}")
    try:
        return float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {_shown(value)}") from None


_converter.register_structure_hook(float, _float)
_converter.register_unstructure_hook(Decimal, str)


def _split_list(value: Any, _type: type) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):  # an item that is no text is refused as a value is: [AAPL, null]
        return [_text(item, str) for item in value]  # read a symbol called NONE
    raise ValueError(f"expected a list, got {_shown(value)}")


_converter.register_structure_hook_func(lambda t: t == list[str], _split_list)


def _scalar(value: Any, _type: type) -> str | int | float | bool:
    if isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"expected a single value, got {_shown(value)}")


_converter.register_structure_hook_func(lambda t: t == (str | int | float | bool), _scalar)


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# The variables of the vendors' own (see VENDOR_NAMES): a key, a secret, a URL; not sections.
_VENDOR_VARIABLES = ("API_KEY", "API_SECRET", "BASE_URL", "STREAM_URL")


def _env_layer(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """AITRADER_SECTION__KEY=value pairs as a nested mapping (AITRADER_MODE for the top level)
    and, for each key, the variable that set it. A name that cannot be a setting
    (AITRADER_JOURNAL_URL for AITRADER_JOURNAL__URL, a section without its key, a lower-case
    prefix) is refused: ignored, it left the default in force."""
    tree: dict[str, Any] = {}
    setters: dict[tuple[str, ...], str] = {}  # a key's path -> the variable that set it
    for name, value in sorted(environ.items()):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        if not name.startswith(ENV_PREFIX):
            raise ConfigError(f"environment variable {name}: the prefix is {ENV_PREFIX} in "
                              "upper case")
        rest = name[len(ENV_PREFIX):]
        if "__" not in rest and rest.upper() != "MODE":
            if _is_vendor_variable(rest):
                continue
            raise ConfigError(f"environment variable {name}: not a setting (a section and its "
                              f"key are joined by a double underscore: "
                              f"{ENV_PREFIX}<SECTION>__<KEY>, such as AITRADER_BROKER__CASH)")
        path = tuple(rest.lower().split("__"))
        if not all(path):
            raise ConfigError(f"environment variable {name}: empty key (a section and its key "
                              "are joined by one double underscore)")
        for depth in range(1, len(path)):
            if path[:depth] in setters:  # a variable already set this path's parent as a value
                raise ConfigError(f"environment variables {setters[path[:depth]]} and {name} "
                                  f"both set {'.'.join(path[:depth])}")
        setters[path] = name
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree, setters


def _is_vendor_variable(rest: str) -> bool:
    vendor, _, what = rest.partition("_")  # as the vendors read them: in upper case
    return vendor in {name.upper() for name in VENDOR_NAMES} and what in _VENDOR_VARIABLES


def _empty_sections_as_defaults(tree: dict[str, Any], cls: type, path: Path,
                                prefix: str = "") -> dict[str, Any]:
    """A section or mapping left empty in YAML (`broker:` with every key commented out) reads
    as null: it keeps its defaults, as an empty file does. A section given one value is
    refused here, in its file: a flag for one of its keys would hide it."""
    hints = get_type_hints(cls)
    result = dict(tree)
    for field in attrs.fields(cls):
        kind, value = hints[field.name], result.get(field.name)
        if value is None and field.name in result and (attrs.has(kind)
                                                       or get_origin(kind) is dict):
            result[field.name] = {}  # a section, or a mapping such as strategy.params
        elif attrs.has(kind) and isinstance(value, dict):
            result[field.name] = _empty_sections_as_defaults(value, kind, path,
                                                             f"{prefix}{field.name}.")
        elif attrs.has(kind) and field.name in result:
            raise ConfigError(f"config key {prefix}{field.name}: {_NOT_A_SECTION} (from config "
                              f"file {path})")
    return result


class _Loader(yaml.SafeLoader):
    """Safe YAML with dates and times left as the text they were written as: the flags' own
    parser reads them (YAML's raised ValueError on 2010-02-30, and a traceback followed).
    A key given twice in one mapping is refused: YAML's last-wins hid the first silently."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            with contextlib.suppress(TypeError):  # unhashable: SafeLoader names that itself
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"config file {path}: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise ConfigError(f"config file {path} line {line}: not UTF-8 text") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None)
        raise ConfigError(f"config file {path}{where}: not valid YAML"
                          + (f" ({problem})" if problem else "")) from None
    except ValueError as error:  # a value an explicit tag cannot build (!!timestamp 2010-02-30)
        raise ConfigError(f"config file {path}: not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of sections at the top level")
    return _empty_sections_as_defaults(data, Config, path)


_NOT_A_SECTION = "expected a section (its keys indented below it), not a single value"


@attrs.frozen
class _Layer:
    """One layer of the configuration and where its keys come from: one place (a file, the
    command line) or, for the environment, the variable that set each key."""

    tree: Mapping[str, Any]
    place: str | Mapping[tuple[str, ...], str]

    def names(self, key: tuple[str, ...]) -> list[str]:
        """Where this layer set key, a key below it or above it (as a value), if it did."""
        if isinstance(self.place, str):
            return [self.place] if _sets(self.tree, key) else []
        return [name for path, name in self.place.items()
                if path[:len(key)] == key or key[:len(path)] == path]


def _sets(tree: Any, key: tuple[str, ...]) -> bool:
    """Whether tree holds key, or a value where a section above key would be. Walks the key's
    path only: a YAML file's aliases can make the whole tree exponentially large."""
    for part in key:
        if not isinstance(tree, Mapping):
            return True
        found = [value for name, value in tree.items() if str(name) == part]
        if not found:
            return False
        tree = found[0]
    return True


def load_config(path: Path | None, environ: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> Config:
    """Merge the layers and validate; raises ConfigError naming the bad key and its source."""
    env, setters = _env_layer(os.environ if environ is None else environ)
    layers: list[_Layer] = []
    if path is not None:
        layers.append(_Layer(_read_file(path), f"config file {path}"))
    layers.append(_Layer(env, {key: f"environment variable {name}"
                               for key, name in setters.items()}))
    layers.append(_Layer(overrides or {}, "the command line"))
    for layer in layers[:-1]:  # the command's own mode wins, but says nothing of these
        _check_mode(layer)
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _merge(merged, layer.tree)
    try:
        config = _converter.structure(merged, Config)
    except cattrs.BaseValidationError as error:
        problem = cattrs.transform_error(error, path="config", format_exception=_explain)[0]
        key, message = _tidy(problem)
        unknown = message.removeprefix("unknown key(s) ").split(", ")[0]
        set_where = (*key, unknown) if message.startswith("unknown key(s) ") else key
        shown = f"config key {'.'.join(key)}: {message}" if key else message
        raise ConfigError(f"{shown} (from {_sources(set_where, layers)})") from None
    except (ValueError, TypeError) as error:
        raise ConfigError(f"invalid configuration: {error}") from None
    _check_params(config, layers)
    return config


def _check_params(config: Config, layers: list[_Layer]) -> None:
    """A strategy parameter the strategy refuses, set in a file or the environment, is named
    with its key and where it was set, as any other bad value is; one given with --param is
    left for the command to refuse (its line names the parameter the user just typed)."""
    if not any(layer.names(("strategy", "params")) for layer in layers[:-1]):
        return  # nothing set outside the command line (and no strategy code to load: start-up)
    from aitrader.domain.strategies import build_strategy  # noqa: PLC0415 - numba: start-up

    built = build_strategy(config.strategy.name, config.strategy.params,
                           config.risk.allow_short)
    if not isinstance(built, Failure) or built.failure().parameter is None:
        return  # sound, or a fault of no one parameter (an unknown strategy, fast >= slow)
    fault = built.failure()
    key = ("strategy", "params", str(fault.parameter))
    where = _sources(key, layers)
    if where != layers[-1].place:
        raise ConfigError(f"config key {'.'.join(key)}: {fault.detail} (from {where})")


def _check_mode(layer: _Layer) -> None:
    """A file's or the environment's mode: live is refused, as is a mode that is none."""
    if "mode" not in layer.tree:
        return
    mode, where = layer.tree["mode"], ", ".join(layer.names(("mode",)))
    if mode == "live":
        raise ConfigError(f"config key mode: live trading is not available yet (it needs the "
                          f"Alpaca broker adapter); paper is the default: use `aitrader paper "
                          f"--replay` or `aitrader backtest` (from {where})")
    if mode not in MODES:
        raise ConfigError(f"config key mode: expected backtest or paper, got {_shown(mode)} "
                          f"(from {where})")


def _sources(key: tuple[str, ...], layers: list[_Layer]) -> str:
    """Where a bad key's value came from: the last layer that set it (later layers win); for a
    section judged as a whole (one limit against another), every layer that set a key in it."""
    whole = _is_section(key)
    found: list[str] = []
    for layer in reversed(layers):
        names = layer.names(key)
        found += [name for name in dict.fromkeys(names) if name not in found]
        if names and not whole:
            break
    return ", ".join(found) or "defaults"


def _is_section(key: tuple[str, ...]) -> bool:
    kind = _kind_at(key)
    return kind is not None and (attrs.has(kind) or get_origin(kind) is dict)


def _kind_at(key: tuple[str, ...]) -> Any:
    """The type the configuration holds at key (a section's class, a value's type), or None."""
    kind: Any = Config
    for part in key:
        kind = get_type_hints(kind).get(part) if attrs.has(kind) else None
    return kind


def _explain(error: BaseException, kind: type | None) -> str:
    if isinstance(error, cattrs.ForbiddenExtraKeysError):
        return f"unknown key(s) {', '.join(sorted(map(str, error.extra_fields)))}"
    if isinstance(error, KeyError):
        return "required key is missing"
    if kind is not None and attrs.has(kind) and not isinstance(error, ValueError):
        return _NOT_A_SECTION
    if isinstance(error, ValueError | TypeError) and str(error):
        return str(error).split(" in literal ")[0]
    if get_origin(kind) is Literal:
        return f"expected one of {', '.join(map(str, get_args(kind)))}"
    name = getattr(kind, "__name__", str(kind))
    return f"invalid value, expected {name}"


def _tidy(problem: str) -> tuple[tuple[str, ...], str]:
    """cattrs says 'invalid value for type, expected X @ config.broker.cash': the key's path and
    the message. A section's validator names its key first ('cash must be positive'): that key,
    so the line names it and the layer that set it."""
    message, at, where = problem.rpartition(" @ ")
    if not at:
        return (), problem
    key = tuple(part for part in re.split(r"\.|\['|'\]", where.removeprefix("config"))
                if part)
    if message.startswith("unknown key(s) "):
        return key, message  # the section holding them; they may be more than one
    section = _kind_at(key)
    named = re.match(r"(\w+)(?: must |: )", message)
    if named and isinstance(section, type) and attrs.has(section) \
            and named.group(1) in attrs.fields_dict(section):
        return (*key, named.group(1)), message[len(named.group(1)):].lstrip(": ")
    return key, message
