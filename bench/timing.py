"""Series of repeated measurements, figures with a baseline from the same run, and the table."""

from __future__ import annotations

import dataclasses
import math
import operator
import statistics
import time
from collections.abc import Callable
from typing import Any

OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
}


@dataclasses.dataclass
class Series:
    """Repeated measurements of one thing (ms, bytes, sign-ins/s ...)."""

    label: str
    unit: str
    values: list[float] = dataclasses.field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(float(value))

    def stat(self, name: str) -> float:
        if not self.values:
            return float("nan")
        if name == "min":
            return min(self.values)
        if name == "max":
            return max(self.values)
        if name.startswith("p") and name[1:].isdigit():  # p95: nearest-rank percentile
            ranked = sorted(self.values)
            return ranked[max(0, math.ceil(int(name[1:]) / 100 * len(ranked)) - 1)]
        return statistics.median(self.values)

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "unit": self.unit,
            "n": len(self.values),
            "min": self.stat("min"),
            "median": self.stat("median"),
            "max": self.stat("max"),
            "values": [round(v, 4) for v in self.values],
        }


@dataclasses.dataclass
class Target:
    """What the issue asks of a figure: `of` is "ratio" or a stat of the measured series."""

    op: str
    value: float
    of: str = "ratio"

    def __str__(self) -> str:
        what = "ratio" if self.of == "ratio" else f"{self.of}"
        return f"{what} {self.op} {self.value:g}"


@dataclasses.dataclass
class Figure:
    key: str
    title: str
    measured: Series
    baseline: Series | None = None
    ratio_stat: str = "median"  # which stat of both series the ratio compares
    target: Target | None = None
    notes: str = ""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline.values or not self.measured.values:
            return None
        base = self.baseline.stat(self.ratio_stat)
        return self.measured.stat(self.ratio_stat) / base if base else None

    def checked_value(self) -> float | None:
        if self.target is None:
            return None
        if self.target.of == "ratio":
            return self.ratio
        return self.measured.stat(self.target.of)

    @property
    def met(self) -> bool | None:
        value = self.checked_value()
        if self.target is None or value is None:
            return None
        return OPS[self.target.op](value, self.target.value)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "measured": self.measured.as_dict(),
            "baseline": self.baseline.as_dict() if self.baseline else None,
            "ratio": self.ratio,
            "ratio_of": self.ratio_stat,
            "target": str(self.target) if self.target else None,
            "met": self.met,
            "notes": self.notes,
            "extra": self.extra,
        }


def ms(seconds: float) -> float:
    return seconds * 1000.0


class Stopwatch:
    """`with Stopwatch() as sw: ...` then sw.ms."""

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start

    @property
    def ms(self) -> float:
        return ms(self.seconds)


def _fmt(value: float, unit: str) -> str:
    if value != value:  # nan
        return "-"
    if unit == "B":
        return _bytes(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n}"


def _triple(s: Series | None) -> str:
    if s is None or not s.values:
        return "-"
    unit = "" if s.unit == "B" else f" {s.unit}"
    return (
        f"{_fmt(s.stat('min'), s.unit)} / {_fmt(s.stat('median'), s.unit)} / "
        f"{_fmt(s.stat('max'), s.unit)}{unit}"
    )


def table(figures: list[Figure]) -> str:
    """A plain-text table: one line per figure (min / median / max), ratio, target, verdict."""
    header = ("figure", "measured min/med/max", "baseline min/med/max", "ratio", "target", "ok")
    rows = [header]
    for f in figures:
        ratio = f.ratio
        verdict = {True: "MET", False: "MISSED", None: ""}[f.met]
        rows.append(
            (
                f.key,
                _triple(f.measured),
                _triple(f.baseline),
                "-" if ratio is None else f"{ratio:.3f} ({f.ratio_stat})",
                str(f.target) if f.target else "",
                verdict,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def side_by_side(by_engine: dict[str, list[Figure]]) -> str:
    """A markdown table, one row per figure key, one column pair per engine: measured, ratio."""
    engines = list(by_engine)
    keys: list[str] = []
    for figures in by_engine.values():
        keys += [f.key for f in figures if f.key not in keys]
    header = ["figure"]
    for e in engines:
        header += [f"{e} min/med/max", f"{e} ratio"]
    rows = [header, ["---"] * len(header)]
    for key in keys:
        row = [key]
        for e in engines:
            f = next((f for f in by_engine[e] if f.key == key), None)
            ratio = None if f is None else f.ratio
            verdict = "" if f is None or f.met is None else (" MET" if f.met else " MISSED")
            row += [
                "-" if f is None else _triple(f.measured),
                ("-" if ratio is None else f"{ratio:.3f}") + verdict,
            ]
        rows.append(row)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)
