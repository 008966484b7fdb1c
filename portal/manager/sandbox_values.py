"""Query parameters on their way to the sandbox's worker: typed, so a date stays a date."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any


def encode_params(params: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Values as [type, JSON value] pairs, so a date stays a date on the worker's side."""
    out: dict[str, list[Any]] = {}
    for name, value in params.items():
        if isinstance(value, bool):
            out[str(name)] = ["bool", value]
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"The value of {name} is not a finite number.")
        elif isinstance(value, int | float | str) or value is None:
            out[str(name)] = [type(value).__name__, value]
        elif isinstance(value, dt.datetime):
            out[str(name)] = ["datetime", value.isoformat()]
        elif isinstance(value, dt.date):
            out[str(name)] = ["date", value.isoformat()]
        else:
            raise ValueError(f"The value of {name} cannot be a query parameter.")
    return out
