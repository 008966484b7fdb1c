"""The class's figures from its raw measurements: action times, errors, memory, CPU, its split."""

from __future__ import annotations

import time
from typing import Any

from bench import classroom
from bench.timing import Figure, Series, Target

TARGET_P95_MS, TARGET_MB = 1000.0, 2.0


def checkpw_cpu_ms() -> float:
    """CPU time of one bare bcrypt check at the server's cost (12), min of 3: the share of it."""
    import bcrypt

    hashed = bcrypt.hashpw(classroom.PASSWORD.encode(), bcrypt.gensalt(12))
    spent = []
    for _ in range(3):
        began = time.process_time()
        bcrypt.checkpw(classroom.PASSWORD.encode(), hashed)
        spent.append(time.process_time() - began)
    return 1000 * min(spent)


def _where(m: dict[str, Any], tally: Any) -> dict[str, float]:
    """Server CPU per action, bcrypt's part of it, and the class size two cores would carry."""
    actions = len(tally.all_times())
    checks = len(tally.times.get("password", []))
    per_action = 1000 * m["server_cpu_s"] / max(actions, 1)
    bcrypt_share = checks * m["checkpw_cpu_ms"] / max(1000 * m["server_cpu_s"], 1e-9)
    think = sum(m["think_s"]) / 2  # seconds between one person's actions, on average
    # bcrypt releases the GIL (both cores); the rest of a run holds it (one core at a time).
    held = per_action * (1 - bcrypt_share)
    return {
        "actions": actions,
        "password_checks": checks,
        "server_cpu_ms_per_action": per_action,
        "bcrypt_share_of_server_cpu": bcrypt_share,
        "gil_cpu_ms_per_action": held,
        # One action per person per think time: the people one process carries, at most.
        "people_one_process_carries": min(1000 * think / held, 2000 * think / per_action)
        if per_action and held
        else float("nan"),
    }


def figures(m: dict[str, Any]) -> list[Figure]:
    """The class's figures: action times, errors, memory per signed-in session, CPU."""
    n, tally = m["n"], m["tally"]
    times = Series("BackMsg -> script_finished of the result", "ms", tally.all_times())
    per_action = {
        a: {s: Series(a, "ms", ts).stat(s) for s in ("p50", "p95", "max")} | {"n": len(ts)}
        for a, ts in tally.times.items()
    }
    at = m.get("rss_all_signed_in_mb", m.get("rss_peak_mb", float("nan")))
    extra = {
        "per_action": per_action,
        "p50": times.stat("p50"),
        "p95": times.stat("p95"),
        "cycles": tally.cycles,
        "errors_first": tally.errors[:10],
        **_where(m, tally),
        "all_signed_in_after_s": None if tally.all_in_at is None else tally.all_in_at - tally.began,
        **{k: v for k, v in m.items() if k not in ("tally",)},
    }
    return [
        Figure(
            f"class{n}_action_ms",
            f"{n} people at once: action -> page shows its result",
            times,
            target=Target("<=", TARGET_P95_MS, "p95"),
            notes=f"p50 {times.stat('p50'):.0f} / p95 {times.stat('p95'):.0f} ms; "
            f"{tally.cycles} walks; server CPU {m['server_cpu_percent']:.0f}% of a core",
            extra=extra,
        ),
        Figure(
            f"class{n}_errors",
            "exceptions, error messages, drops, wrong pages",
            Series("errors", "", [len(tally.errors)]),
            target=Target("<=", 0, "max"),
            notes="; ".join(tally.errors[:3]),
        ),
        Figure(
            f"class{n}_mb_per_session",
            "server RSS with everyone signed in, less idle RSS, per session",
            Series("MB", "MB", [(at - m["idle_rss_mb"]) / n]),
            target=Target("<=", TARGET_MB, "max"),
            notes=f"idle {m['idle_rss_mb']:.1f} MB, all signed in {at:.1f} MB, "
            f"peak {m.get('rss_peak_mb', float('nan')):.1f} MB",
        ),
        Figure(
            f"class{n}_server_cpu",
            "server CPU over the run (100 = one core of 2)",
            Series("cpu", "%", [m["server_cpu_percent"]]),
            notes=f"{extra['server_cpu_ms_per_action']:.0f} ms CPU per action, "
            f"{100 * extra['bcrypt_share_of_server_cpu']:.0f}% of it bcrypt; client (this "
            f"process) {m['client_cpu_percent']:.1f}% = {m['client_cpu_percent'] / n:.2f}% "
            "per session; alone, ms CPU per action: "
            + ", ".join(f"{a} {v:.0f}" for a, v in m.get("solo_cpu_ms", {}).items()),
        ),
    ]
