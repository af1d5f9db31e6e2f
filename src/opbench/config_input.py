"""Raw config input checked before the schema sees it: YAML files, ``--config`` values, bounds.

Snakemake loads config files with PyYAML, which keeps the last of two duplicate keys and expands
aliases lazily (an alias bomb only explodes when something walks it), and it parses nested
``--config`` values with YAML's BaseLoader, so ``training={epochs: 5}`` arrives as the string
``"5"``. This module re-reads the files strictly, re-parses those strings as Snakemake parses a
top-level value, and walks the merged config once (with a budget) refusing what no schema says:
non-finite numbers, integers beyond 63 bits, over-long strings, and more values than any real
config holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from opbench.errors import OpbenchError

MAX_VALUES = 100_000  # values (leaves and containers) after aliases expand; real configs hold < 2,000
MAX_STRING = 500  # characters of any key or string value
MAX_INT = 2**63 - 1  # seeds and sizes are stored as int64 (NetCDF attributes, numpy)
MAX_LINE = 400  # characters of a one-line refusal


class ConfigInputError(OpbenchError, ValueError):
    """A config file or value refused before validation, in one line."""


def clip(text: str, limit: int = MAX_LINE) -> str:
    """One line of at most ``limit`` characters (a hostile value must not make a huge message)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 25] + f"... ({len(line)} characters)"


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else repr(value[:40] + ("..." if len(value) > 40 else ""))
    return clip(text, 80)


def _expanded_size(node: yaml.Node, memo: dict[int, int], limit: int) -> int:
    """Values a composed YAML node stands for once its aliases are expanded (memoised: linear time)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = limit + 1  # a cycle (recursive alias) counts as unbounded
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _expanded_size(child, memo, limit)
            if total > limit:
                break
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _expanded_size(k, memo, limit) + _expanded_size(v, memo, limit)
            if total > limit:
                break
    memo[key] = min(total, limit + 1)
    return memo[key]


def _duplicate_key(node: yaml.Node, seen: set[int], where: str = "") -> str | None:
    """The dotted path of the first key that appears twice in one mapping, if any."""
    if id(node) in seen:
        return None
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for k, v in node.value:
            name = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
            path = f"{where}.{name}" if where else name
            if name in keys and name != "<<":
                return path
            keys.add(name)
            found = _duplicate_key(v, seen, path)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            found = _duplicate_key(child, seen, f"{where}[{i}]")
            if found:
                return found
    return None


def check_config_file(path: str | Path, limit: int = MAX_VALUES) -> None:
    """Refuse a config file with a duplicate key, or whose aliases expand to more than ``limit`` values."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return  # Snakemake itself reports unreadable or malformed files
    if node is None:
        return
    if _expanded_size(node, {}, limit) > limit:
        raise ConfigInputError(f"{path}: YAML anchors/aliases expand to more than {limit:,} values "
                               f"(allowed: at most {limit:,}; write the values out instead of nesting aliases)")
    dup = _duplicate_key(node, set())
    if dup:
        raise ConfigInputError(f"{path}: duplicate key {dup!r} (allowed: each key once per mapping; "
                               "YAML would silently keep only the last)")


def _parse_cli_scalar(text: str) -> Any:
    """A nested ``--config`` string parsed as Snakemake parses a top-level value: int, float, bool, YAML."""
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if isinstance(value, dict | list) else value


def parse_cli_values(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``--config`` entries with the strings inside nested values (BaseLoader output) typed.

    Top-level values are already typed by Snakemake (``epochs=5`` is 5); only what sits inside a
    mapping or list value is left as text, which this types the same way.
    """
    def typed(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: typed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [typed(v) for v in value]
        return _parse_cli_scalar(value) if isinstance(value, str) else value

    return {k: typed(v) if isinstance(v, Mapping | list) else v for k, v in overrides.items()}


def check_values(cfg: Any, limit: int = MAX_VALUES) -> None:
    """Refuse non-finite numbers, integers beyond 63 bits, long strings, and configs of > ``limit`` values."""
    count = 0
    stack: list[tuple[str, Any]] = [("", cfg)]
    while stack:
        where, value = stack.pop()
        count += 1
        if count > limit:
            raise ConfigInputError(f"config holds more than {limit:,} values (YAML aliases expanding?) "
                                   f"(allowed: at most {limit:,})")
        name = where or "(top level)"
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigInputError(f"{name}: {value} is not a finite number (allowed: finite numbers only)")
        if isinstance(value, int) and abs(value) > MAX_INT:
            raise ConfigInputError(f"{name}: {_short(value)} does not fit in 63 bits "
                                   f"(allowed: -{MAX_INT} to {MAX_INT})")
        if isinstance(value, str) and len(value) > MAX_STRING:
            raise ConfigInputError(f"{name}: a string of {len(value):,} characters is too long "
                                   f"(allowed: at most {MAX_STRING})")
        if isinstance(value, Mapping):
            for k, v in value.items():
                if not isinstance(k, str) or len(k) > MAX_STRING:
                    raise ConfigInputError(f"{name}: key {_short(k)} is not allowed "
                                           f"(allowed: strings of at most {MAX_STRING} characters)")
                stack.append((f"{where}.{k}" if where else k, v))
        elif isinstance(value, list | tuple):
            stack.extend((f"{name}[{i}]", v) for i, v in enumerate(value))
