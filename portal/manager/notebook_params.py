"""Notebook parameters: `:name` placeholders in a cell, typed by the notebook, bound as parameters.

A value never becomes SQL text: `bind` rewrites each `:name` to DuckDB's `$name` and hands the
values over separately, so a text value such as `x' OR 1=1 --` is only ever compared as data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

PARAM_KINDS = ("date", "text", "choice", "int")
NAME = re.compile(r"[a-z_][a-z0-9_]{0,30}")
MAX_TEXT = 1_000  # characters of a text value
MAX_LABEL = 80
MAX_CHOICES = 50
INT_LIMIT = 2**63  # DuckDB's BIGINT
_RELATIVE = re.compile(r"([+-]\d{1,5})d")
_INT = re.compile(r"[+-]?\d{1,19}")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_DOLLAR_PARAM = re.compile(r"\$(\d+|[A-Za-z_][A-Za-z0-9_]*)")
# A ':' right after one of these is slicing (`l[1:n]`) or a struct key (`{'a': x}`): no parameter.
_NOT_BEFORE = frozenset("'\")]}")
_KEYS = frozenset(("name", "kind", "label", "default", "choices"))


@dataclasses.dataclass(frozen=True)
class Param:
    """One declared parameter: its widget kind, label, default (as text) and choices."""

    name: str
    kind: str
    label: str = ""
    default: str = ""
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_param(self)


def _check_param(p: Param) -> None:
    """ValueError with a one-line reason if the declaration cannot make a widget."""
    if not isinstance(p.name, str) or not NAME.fullmatch(p.name):
        raise ValueError(
            f"Parameter name {p.name!r}: use a-z, 0-9 and _, starting with a letter (at most 31)."
        )
    if p.kind not in PARAM_KINDS:
        raise ValueError(f"Parameter {p.name}: kind must be one of {', '.join(PARAM_KINDS)}.")
    if not isinstance(p.label, str) or len(p.label) > MAX_LABEL:
        raise ValueError(
            f"Parameter {p.name}: the label must be text under {MAX_LABEL} characters."
        )
    if not isinstance(p.default, str):
        raise ValueError(f"Parameter {p.name}: the default must be text.")
    if not isinstance(p.choices, tuple) or not all(isinstance(c, str) for c in p.choices):
        raise ValueError(f"Parameter {p.name}: choices must be a list of texts.")
    if p.kind != "choice" and p.choices:
        raise ValueError(f"Parameter {p.name}: only a choice parameter has choices.")
    if p.kind == "choice":
        if not p.choices or len(p.choices) > MAX_CHOICES:
            raise ValueError(f"Parameter {p.name}: give between 1 and {MAX_CHOICES} choices.")
        if len(set(p.choices)) != len(p.choices) or any(len(c) > MAX_TEXT for c in p.choices):
            raise ValueError(f"Parameter {p.name}: choices must be distinct and short.")
    if p.default:
        coerce(p, p.default, dt.date(2000, 1, 1))


def param_from_dict(d: Mapping[str, Any]) -> Param:
    """A Param from its JSON form; ValueError with a one-line reason on bad input."""
    if not isinstance(d, Mapping):
        raise ValueError("A parameter must be an object with a name and a kind.")
    unknown = sorted(set(map(str, d)) - _KEYS)
    if unknown:
        raise ValueError(f"Unknown parameter field: {unknown[0]}.")
    if "name" not in d or "kind" not in d:
        raise ValueError("A parameter needs a name and a kind.")
    default = d.get("default", "")
    if isinstance(default, int) and not isinstance(default, bool):
        default = str(default)
    choices = d.get("choices", ())
    if not isinstance(choices, list | tuple):
        raise ValueError(f"Parameter {d['name']}: choices must be a list of texts.")
    return Param(d["name"], d["kind"], d.get("label", ""), default, tuple(choices))


def param_to_dict(p: Param) -> dict[str, Any]:
    """The JSON form of a Param (param_from_dict reads it back)."""
    out: dict[str, Any] = {"name": p.name, "kind": p.kind}
    if p.label:
        out["label"] = p.label
    if p.default:
        out["default"] = p.default
    if p.choices:
        out["choices"] = list(p.choices)
    return out


def coerce(p: Param, raw: Any, today: dt.date) -> Any:
    """The typed value of a widget's or a URL's raw value (date, str or int), else ValueError."""
    if p.kind == "date":
        return _date(p, raw, today)
    if p.kind == "int":
        return _int(p, raw)
    if not isinstance(raw, str):
        raise ValueError(f"{_label(p)}: expected text.")
    if p.kind == "choice" and raw not in p.choices:
        raise ValueError(f"{_label(p)}: choose one of the listed values.")
    if len(raw) > MAX_TEXT:
        raise ValueError(f"{_label(p)}: keep it under {MAX_TEXT} characters.")
    return raw


def default_value(p: Param, today: dt.date) -> Any:
    """The widget's start value: the declared default, else today / "" / 0 / the first choice."""
    if p.default:
        return coerce(p, p.default, today)
    if p.kind == "choice":
        return p.choices[0]
    return {"date": today, "text": "", "int": 0}[p.kind]


def _label(p: Param) -> str:
    return p.label or p.name


def _date(p: Param, raw: Any, today: dt.date) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text == "today":
            return today
        if relative := _RELATIVE.fullmatch(text):
            try:
                return today + dt.timedelta(days=int(relative.group(1)))
            except OverflowError:
                pass
        else:
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                pass
    raise ValueError(f"{_label(p)}: expected a date such as 2026-01-31, today or -30d.")


def _int(p: Param, raw: Any) -> int:
    if isinstance(raw, str) and _INT.fullmatch(raw.strip()):
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"{_label(p)}: expected a whole number.")
    if not -INT_LIMIT <= raw < INT_LIMIT:
        raise ValueError(f"{_label(p)}: the number is too large.")
    return raw


def placeholders(sql: str) -> list[str]:
    """The `:name` placeholders in order of first use, outside literals, quoted names, comments."""
    seen: dict[str, None] = {}
    for kind, _, _, name in _scan(sql):
        if kind == ":":
            seen.setdefault(name)
    return list(seen)


def bind(
    sql: str, params: Sequence[Param], values: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The SQL with `:name` as `$name` and the values it uses; ValueError naming a bad one."""
    declared = {p.name: p for p in params}
    out, used, last = [], {}, 0
    for kind, start, end, name in _scan(sql):
        if kind != ":":
            raise ValueError(f"Write parameters as :name (found {sql[start:end]}).")
        if name not in declared:
            raise ValueError(f"The cell uses :{name}, which is not a declared parameter.")
        if name not in values:
            raise ValueError(f"No value for :{name}.")
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, str | int | dt.date):
            raise ValueError(f"The value of :{name} must be a date, a number or text.")
        used[name] = value
        out += [sql[last:start], "$", name]
        last = end
    out.append(sql[last:])
    return "".join(out), used


def _scan(sql: str) -> Iterator[tuple[str, int, int, str]]:
    """(kind, start, end, name) of each parameter-like token outside literals and comments.

    kind is ':' for `:name`, '$' for DuckDB's own `$name`/`$1` and '?' for `?`, which bind refuses.
    """
    i = 0
    while i < len(sql):
        skipped = _skip(sql, i)
        if skipped is not None:
            i = skipped
        elif token := _parameter(sql, i):
            yield token
            i = token[2]
        else:
            i += 1


def _skip(sql: str, i: int) -> int | None:
    """The index past a comment, string, quoted name, dollar-quoted text or `::` at i, if any."""
    if sql.startswith("--", i):
        return _until(sql, "\n", i + 2)
    if sql.startswith("/*", i):
        return _block_comment(sql, i)
    if sql.startswith("::", i):
        return i + 2
    if sql[i] in "'\"":
        escapes = sql[i] == "'" and i > 0 and sql[i - 1] in "eE" and not _word_before(sql, i - 1)
        return _quoted(sql, i, sql[i], escapes)
    tag = _DOLLAR_TAG.match(sql, i)
    if tag and not _word_before(sql, i):
        return _until(sql, tag.group(0), tag.end())
    return None


def _parameter(sql: str, i: int) -> tuple[str, int, int, str] | None:
    """The `:name`, `$name`, `$1` or `?` starting at i, if it is one."""
    if sql[i] == "?":
        return "?", i, i + 1, "?"
    if sql[i] == "$" and (m := _DOLLAR_PARAM.match(sql, i)) and not _word_before(sql, i):
        return "$", i, m.end(), m.group(1)
    before = sql[i - 1] if i else " "
    if sql[i] == ":" and (m := _IDENT.match(sql, i + 1)) and not _word_before(sql, i):
        return None if before in _NOT_BEFORE else (":", i, m.end(), m.group(0))
    return None


def _word_before(sql: str, i: int) -> bool:
    return i > 0 and (sql[i - 1].isalnum() or sql[i - 1] in "_$")


def _until(sql: str, end: str, i: int) -> int:
    """The index just past the next `end` at or after i (or the end of the text)."""
    found = sql.find(end, i)
    return len(sql) if found < 0 else found + len(end)


def _block_comment(sql: str, i: int) -> int:
    """The index past a /* */ comment starting at i; nested comments nest, as in PostgreSQL."""
    depth, i = 1, i + 2
    while i < len(sql) and depth:
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return i


def _quoted(sql: str, i: int, quote: str, escapes: bool) -> int:
    """The index past a quoted string or name starting at i (doubled quotes; E'' backslashes)."""
    i += 1
    while i < len(sql):
        if escapes and sql[i] == "\\":
            i += 2
        elif sql[i] == quote:
            if not sql.startswith(quote * 2, i):
                return i + 1
            i += 2
        else:
            i += 1
    return i
