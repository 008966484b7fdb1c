"""python -m bench [--quick]: the portal's benchmarks, as ratios against baselines of the same run.

Prints a table, writes bench/results.json and, as its last line,
`login_ratio=<x> code_ms=<y> manager_ms_100k=<z>`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import json
import logging
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"
PARTS = ("login", "concurrency", "same_user", "manager", "reruns", "peer", "queries")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of the 2FA portal: every figure is min/median/max of repeated "
        "runs and a ratio against a baseline measured in the same run. Generated databases are "
        "cached in bench/cache/ (keyed by size and schema); each run works on a fresh copy.",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="reduced set: 100,000 accounts, fewer repeats (under a minute once "
        "the database is cached)",
    )
    ap.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        help="account counts for the manager page (default 100000,1000000; quick "
        "100000); the largest is used for sign-in, concurrency and reruns",
    )
    ap.add_argument(
        "--runs", type=int, help="interleaved sign-in / checkpw pairs (default 15, quick 9; min 9)"
    )
    ap.add_argument(
        "--peer-sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        help="users in the streamlit-authenticator YAML file (default 1000,10000; quick 1000)",
    )
    ap.add_argument(
        "--skip", action="append", default=[], choices=PARTS, help="leave a part out (repeatable)"
    )
    ap.add_argument(
        "--what-if",
        action="store_true",
        help="also measure the production changes proposed in bench/README.md, "
        "applied by monkeypatching inside this process (no file is changed)",
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="write pyinstrument profiles of the code step and the manager page's services "
        "to bench/cache/profiles/",
    )
    ap.add_argument(
        "--output",
        type=Path,
        default=RESULTS,
        help=f"where to write the JSON results (default {RESULTS})",
    )
    ap.add_argument("--no-write", action="store_true", help="print only; write no JSON")
    args = ap.parse_args(argv)
    args.sizes = sorted(args.sizes or ([100_000] if args.quick else [100_000, 1_000_000]))
    args.runs = max(9, args.runs or (9 if args.quick else 15))
    args.peer_sizes = args.peer_sizes or ([1_000] if args.quick else [1_000, 10_000])
    return args


_T0 = time.perf_counter()


def log(text: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f} s] {text}", file=sys.stderr, flush=True)


def meta(args: argparse.Namespace, began: float) -> dict[str, Any]:
    packages = {}
    for name in ("streamlit", "duckdb", "bcrypt", "pyotp", "pandas", "pyarrow", "cryptography"):
        try:
            packages[name] = version(name)
        except Exception:  # noqa: BLE001
            packages[name] = None
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "sizes": args.sizes,
        "runs": args.runs,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "seconds": round(time.perf_counter() - began, 1),
        "packages": packages,
    }


def what_if_table(experiments: dict[str, Any]) -> str:
    """One line per proposed change: median and min before -> after, in ms."""
    lines = ["what-if (A/B in this run; ms, median [min])"]
    for group, changes in experiments.items():
        if not isinstance(changes, dict):
            continue
        if "before" in changes:  # a single experiment
            changes = {"": changes}
        for name, r in changes.items():
            if not isinstance(r, dict) or "before" not in r:
                continue
            b, a = r["before"], r["after"]
            lines.append(
                f"  {group} {name}: {b['median']:.1f} [{b['min']:.1f}] -> "
                f"{a['median']:.1f} [{a['min']:.1f}]"
            )
            if "ratio_before_min" in r:
                lines.append(
                    f"    login ratio (min / min checkpw): {r['ratio_before_min']:.3f} -> "
                    f"{r['ratio_after_min']:.3f}"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    began = time.perf_counter()
    os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")

    from streamlit import logger as st_logger

    st_logger.set_log_level(logging.ERROR)  # bare-mode "missing ScriptRunContext" chatter

    from bench import dataset, manager, peer, reruns, signin
    from bench.timing import Figure, table
    from portal.clock import FixedClock
    from portal.ui.resources import use_portal

    quick = args.quick
    figures: list[Figure] = []
    loads: dict[str, Any] = {}
    big = args.sizes[-1]
    datasets = {}
    for n in args.sizes:
        datasets[n] = dataset.prepare(n, log)
        if datasets[n].generated_seconds is not None:
            loads[f"generated_{n}_seconds"] = round(datasets[n].generated_seconds, 1)
    clock = FixedClock(dataset.START)
    p = datasets[big].open(clock)
    log(f"sign-in figures on {big:,} accounts")
    gc.collect()
    if "login" not in args.skip:
        figures += signin.login_figures(p, clock, args.runs, 20 if quick else 50)
        loads["login"] = os.getloadavg()[0]
    if "concurrency" not in args.skip:
        log("concurrency")
        figures += signin.concurrency_figures(
            p, clock, 8 if quick else 16, 2 if quick else 4, 2 if quick else 8
        )
        loads["concurrency"] = os.getloadavg()[0]
    if "same_user" not in args.skip:
        figures.append(signin.same_user_check(p, clock, 1 if quick else 3))
    rerun_manager = None
    if "manager" not in args.skip:
        for n in args.sizes:
            log(f"manager page at {n:,} accounts")
            # The page at the generated instant (lockouts still running), whatever the
            # sign-in figures did to the clock and the throttle rows (they prune expired ones).
            at_start = FixedClock(dataset.START + dt.timedelta(minutes=1))
            q = dataclasses.replace(p, clock=at_start) if n == big else datasets[n].open(at_start)
            try:
                datasets[n].restore_throttle(q)
                found, series = manager.manager_figures(
                    q,
                    n,
                    runs=3 if quick else 7,
                    naive_runs=2 if quick or n >= 1_000_000 else 3,
                    target_ms=300.0 if n >= 1_000_000 else None,
                )
            finally:
                if q.db is not p.db:
                    q.db.close()
                use_portal(p)
            figures += found
            if n == big:
                rerun_manager = series["rerun"]
            loads[f"manager_{n}"] = os.getloadavg()[0]
            gc.collect()
    if "reruns" not in args.skip:
        log("reruns of each page")
        blank = reruns.blank(p, 5 if quick else 9)
        figures += reruns.rerun_figures(p, big, 5 if quick else 9, blank, rerun_manager)
        loads["reruns"] = os.getloadavg()[0]
    if "peer" not in args.skip:
        log(f"peer at {args.peer_sizes} users")

        def ours() -> float:
            t = signin.sign_in(p, clock.now, dataset.people(p).login)
            clock.advance(seconds=30)
            return t.total

        figures += peer.peer_figures(args.peer_sizes, 1 if quick else 3, ours)
        loads["peer"] = os.getloadavg()[0]
    if "queries" not in args.skip:
        from bench import queries

        log("query audit")
        figures += queries.query_figures(p, 5 if quick else 15)
    experiments: dict[str, Any] = {}
    if args.what_if:
        from bench import whatif

        log("what-if: proposed production changes, monkeypatched")
        try:
            experiments = whatif.run(p, clock, datasets, args, log)
        except Exception as exc:  # noqa: BLE001 - keep the figures; report the failure
            log(f"what-if failed: {type(exc).__name__}: {exc}")
            experiments = {"error": f"{type(exc).__name__}: {exc}"}
    if args.profile:
        from bench import profiles

        log("profiles")
        profiles.write(p, clock, log)
    use_portal(None)
    p.db.close()

    print(table(figures))
    for f in figures:
        if f.notes:
            print(f"  {f.key}: {f.notes}")
    if experiments:
        print(what_if_table(experiments))
    by_key = {f.key: f for f in figures}
    result = {
        "meta": {**meta(args, began), "load_average_1min": loads},
        "figures": [f.as_dict() for f in figures],
        "experiments": experiments,
    }
    if not args.no_write:
        args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
        log(f"wrote {args.output}")

    def value(key: str, stat: str) -> str:
        f = by_key.get(key)
        if f is None:
            return "nan"
        v = f.ratio if stat == "ratio" else f.measured.stat(stat)
        return "nan" if v is None else f"{v:.3f}" if stat == "ratio" else f"{v:.1f}"

    print(
        f"login_ratio={value('login_ratio', 'ratio')} code_ms={value('code_ms', 'median')} "
        f"manager_ms_100k={value('manager_ms_100k', 'median')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
