"""--what-if: production changes proposed in bench/README.md, measured by monkeypatching.

No file outside bench/ is changed: each change is applied inside this process for the length of
a `with` block and measured A/B (unpatched and patched runs interleaved) in the same run. Every
change measured here before (the sign-in, My account and manager-page changes of issue 15) is
now in the code, so there is nothing left to try; `_ab` and `_code_step` stay for the next ones
and for the profiles.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench import dataset
from bench.timing import Series, ms
from portal.clock import FixedClock
from portal.context import Portal
from portal.twofactor import second_factor, totp
from store import users as user_store


def _ab(label: str, runs: int, measure: Callable[[], float], patch: Callable[[], Any]) -> dict:
    before = Series(f"{label}: as is", "ms")
    after = Series(f"{label}: changed", "ms")
    for i in range(runs):
        for kind in ("before", "after") if i % 2 == 0 else ("after", "before"):
            if kind == "before":
                before.add(measure())
            else:
                with patch():
                    after.add(measure())
    return {
        "before": before.as_dict(),
        "after": after.as_dict(),
        "median_saved_ms": before.stat("median") - after.stat("median"),
        "min_saved_ms": before.stat("min") - after.stat("min"),
    }


def _code_step(p: Portal, clock: FixedClock) -> Callable[[], float]:
    """One code step of the bench's login person per call, a fresh time step each (profiles)."""
    user = dataset.people(p).login
    with p.db.read() as cur:
        uid = user_store.get_user_by_username(cur, user).id  # type: ignore[union-attr]
    secret = dataset.secret_for(user)

    def measure() -> float:
        code = totp.code_at(secret, clock.now())
        t0 = time.perf_counter()
        second_factor.verify_sign_in(p, uid, p.now(), code, dataset.SOURCE)
        elapsed = ms(time.perf_counter() - t0)
        clock.advance(seconds=30)
        return elapsed

    return measure


def run(p: Portal, clock: FixedClock, datasets: dict[int, Any], args: Any, log: Any) -> dict:
    """No open proposal: every change once measured here is applied (see the module's note)."""
    log("what-if: no open proposal (all applied)")
    return {"note": "every proposal measured before is now in the code"}
