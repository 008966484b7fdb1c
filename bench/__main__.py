"""python -m bench [--quick]: the portal's benchmarks, as ratios against baselines of the same run.

Prints a table, writes bench/results.json and, as its last line,
`login_ratio=<x> code_ms=<y> manager_ms_100k=<z>` (--quick) or, for the full run,
`login_ratio=<x> code_ms_1m=<y> manager_ms_1m=<z> manager_ms_100k=<w> rerun_max_ratio=<r>
class30_p95_ms=<p>`.
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
PARTS = (
    "login",
    "concurrency",
    "same_user",
    "manager",
    "reruns",
    "peer",
    "queries",
    "class30",
    "class_browser",
)


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
        "to bench/cache/profiles/, and sampled stacks of the class's server (class<N>.json)",
    )
    ap.add_argument(
        "--output",
        type=Path,
        default=RESULTS,
        help=f"where to write the JSON results (default {RESULTS})",
    )
    ap.add_argument(
        "--class-size",
        type=int,
        help="people in the class on the real server (part class30: Streamlit websocket "
        "sessions signing in and walking My account and the 2FA page; default 30)",
    )
    ap.add_argument(
        "--class-seconds",
        type=float,
        help="how long the class runs (default 180, quick 60)",
    )
    ap.add_argument(
        "--class-browsers",
        type=int,
        help="Chromium pages for the comparison with the websocket client (part "
        "class_browser; default 5 in the full run, 0 = leave it out; quick 0)",
    )
    ap.add_argument("--no-write", action="store_true", help="print only; write no JSON")
    ap.add_argument(
        "--db",
        action="append",
        metavar="duckdb|postgresql://...",
        help="engine to measure (repeatable, in order; default duckdb): 'duckdb' (the cached "
        "files) or the URL of a PostgreSQL server on which the bench may create databases "
        "(bench/pg.py); `--db duckdb --db postgresql://...` measures both in one run and prints "
        "them side by side",
    )
    args = ap.parse_args(argv)
    args.sizes = sorted(args.sizes or ([100_000] if args.quick else [100_000, 1_000_000]))
    args.runs = max(9, args.runs or (9 if args.quick else 15))
    args.peer_sizes = args.peer_sizes or ([1_000] if args.quick else [1_000, 10_000])
    args.class_size = args.class_size or 30
    args.class_seconds = args.class_seconds or (60.0 if args.quick else 180.0)
    if args.class_browsers is None:
        args.class_browsers = 0 if args.quick else 5
    return args


_T0 = time.perf_counter()


def log(text: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f} s] {text}", file=sys.stderr, flush=True)


def meta(args: argparse.Namespace, began: float) -> dict[str, Any]:
    packages = {}
    names = (
        "streamlit",
        "duckdb",
        "bcrypt",
        "pyotp",
        "pandas",
        "pyarrow",
        "cryptography",
        "psycopg",
    )
    for name in names:
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


def engines(args: argparse.Namespace) -> dict[str, str | None]:
    """Label -> PostgreSQL server URL (None: the DuckDB file), in the order given."""
    found: dict[str, str | None] = {}
    for target in args.db or ["duckdb"]:
        if target == "duckdb":
            found["duckdb"] = None
        elif target.startswith(("postgresql://", "postgres://")):
            found["postgresql"] = target
        else:
            raise SystemExit(f"--db takes 'duckdb' or a postgresql:// URL, not {target!r}")
    return found


def run_engine(
    args: argparse.Namespace, label: str, server: str | None, first: bool
) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
    """Every part on one engine: (figures, load averages, what-if experiments)."""
    from bench import dataset, peer, reruns, signin
    from portal.clock import FixedClock
    from portal.ui.resources import use_portal

    quick = args.quick
    figures: list[Any] = []
    loads: dict[str, Any] = {}
    big = args.sizes[-1]
    datasets = {}
    for n in args.sizes:
        datasets[n] = dataset.prepare(n, log, server)
        seconds = datasets[n].generated_seconds
        if seconds is not None:
            loads[f"generated_{n}_seconds"] = round(seconds, 1)
    clock = FixedClock(dataset.START)
    p = datasets[big].open(clock)
    log(f"[{label}] sign-in figures on {big:,} accounts")
    gc.collect()
    if "login" not in args.skip:
        figures += signin.login_figures(p, clock, args.runs, 20 if quick else 50)
        loads["login"] = os.getloadavg()[0]
    if "concurrency" not in args.skip:
        log(f"[{label}] concurrency")
        figures += signin.concurrency_figures(
            p, clock, 8 if quick else 16, 2 if quick else 4, 2 if quick else 8
        )
        loads["concurrency"] = os.getloadavg()[0]
    if "same_user" not in args.skip:
        figures.append(signin.same_user_check(p, clock, 1 if quick else 3))
    rerun_manager = None
    if "manager" not in args.skip:
        rerun_manager = manager_part(args, label, datasets, p, figures, loads)
    if "reruns" not in args.skip:
        log(f"[{label}] reruns of each page")
        blank = reruns.blank(p, 5 if quick else 9)
        figures += reruns.rerun_figures(p, big, 5 if quick else 9, blank, rerun_manager)
        loads["reruns"] = os.getloadavg()[0]
    if "peer" not in args.skip and first:  # the peer's YAML file is the same for every engine
        log(f"peer at {args.peer_sizes} users")

        def ours() -> float:
            t = signin.sign_in(p, clock.now, dataset.people(p).login)
            clock.advance(seconds=30)
            return t.total

        figures += peer.peer_figures(args.peer_sizes, 1 if quick else 3, ours)
        loads["peer"] = os.getloadavg()[0]
    if "queries" not in args.skip and server is None:  # reads DuckDB's EXPLAIN ANALYZE
        from bench import queries

        log("query audit")
        figures += queries.query_figures(p, 5 if quick else 15)
    experiments: dict[str, Any] = {}
    if args.what_if and server is None:  # the changes patch the DuckDB backend
        from bench import whatif

        log("what-if: proposed production changes, monkeypatched")
        try:
            experiments = whatif.run(p, clock, datasets, args, log)
        except Exception as exc:  # noqa: BLE001 - keep the figures; report the failure
            log(f"what-if failed: {type(exc).__name__}: {exc}")
            experiments = {"error": f"{type(exc).__name__}: {exc}"}
    if first:  # the class runs on its own database and server: once, whatever the engines
        class_part(args, figures, loads)
    if args.profile and first:
        from bench import profiles

        log("profiles")
        profiles.write(p, clock, log)
    use_portal(None)
    p.db.close()
    return figures, loads, experiments


def class_part(args: argparse.Namespace, figures: list[Any], loads: dict[str, Any]) -> None:
    """A class on the real server (websocket sessions), and the Chromium pages to compare."""
    if "class30" not in args.skip:
        from bench import class30

        log(f"class of {args.class_size} on the real server for {args.class_seconds:.0f} s")
        figures += class30.class_figures(
            args.class_size, args.class_seconds, log, profile=args.profile
        )
        loads["class30"] = os.getloadavg()[0]
    if "class_browser" not in args.skip and args.class_browsers > 0:
        from bench import class_browser

        log(f"the same walk in {args.class_browsers} Chromium pages")
        figures += class_browser.browser_figures(
            args.class_browsers, min(args.class_seconds, 60.0), log
        )
        loads["class_browser"] = os.getloadavg()[0]


def manager_part(
    args: argparse.Namespace,
    label: str,
    datasets: dict[int, Any],
    p: Any,
    figures: list[Any],
    loads: dict[str, Any],
) -> Any:
    """The manager page at each size (appended to figures); the rerun series at the largest."""
    from bench import dataset, manager
    from portal.clock import FixedClock
    from portal.ui.resources import use_portal

    quick, big, rerun = args.quick, args.sizes[-1], None
    for n in args.sizes:
        log(f"[{label}] manager page at {n:,} accounts")
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
            rerun = series["rerun"]
        loads[f"manager_{n}"] = os.getloadavg()[0]
        gc.collect()
    return rerun


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    began = time.perf_counter()
    os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")

    from streamlit import logger as st_logger

    st_logger.set_log_level(logging.ERROR)  # bare-mode "missing ScriptRunContext" chatter

    from bench.timing import side_by_side, table

    results: dict[str, Any] = {}
    for i, (label, server) in enumerate(engines(args).items()):
        figures, loads, experiments = run_engine(args, label, server, first=i == 0)
        results[label] = {"figures": figures, "loads": loads, "experiments": experiments}
    for label, r in results.items():
        if len(results) > 1:
            print(f"## {label}")
        print(table(r["figures"]))
        for f in r["figures"]:
            if f.notes:
                print(f"  {f.key}: {f.notes}")
        if r["experiments"]:
            print(what_if_table(r["experiments"]))
    if len(results) > 1:
        print("\n## side by side (ms unless stated; ratio against the same engine's baseline)")
        print(side_by_side({label: r["figures"] for label, r in results.items()}))
    first = next(iter(results.values()))
    result = {
        "meta": {**meta(args, began), "load_average_1min": first["loads"]},
        "figures": [f.as_dict() for f in first["figures"]],
        "experiments": first["experiments"],
        "engines": {
            label: {
                "figures": [f.as_dict() for f in r["figures"]],
                "load_average_1min": r["loads"],
                "experiments": r["experiments"],
            }
            for label, r in results.items()
        },
    }
    if not args.no_write:
        args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
        log(f"wrote {args.output}")
    lines = [(label, summary(r["figures"], args.quick)) for label, r in results.items()]
    for label, line in lines[1:]:
        print(f"{label}: {line}")
    print(lines[0][1])  # the last line: the first engine's (DuckDB by default)
    return 0


def summary(figures: list[Any], quick: bool = True) -> str:
    """The last line: the quick run's three figures, or the full run's six."""
    by_key = {f.key: f for f in figures}

    def value(key: str, stat: str) -> str:
        f = by_key.get(key)
        if f is None:
            return "nan"
        v = f.ratio if stat == "ratio" else f.measured.stat(stat)
        return "nan" if v is None else f"{v:.3f}" if stat == "ratio" else f"{v:.1f}"

    if quick:
        return (
            f"login_ratio={value('login_ratio', 'ratio')} code_ms={value('code_ms', 'median')} "
            f"manager_ms_100k={value('manager_ms_100k', 'median')}"
        )
    # The sign-in figures run on the largest database: code_ms is the 1M figure only then.
    big = "manager_ms_1M" in by_key
    reruns = [f.ratio for f in figures if f.key.startswith("rerun_") and f.ratio is not None]
    classes = [f for f in figures if f.key.startswith("class") and f.key.endswith("_action_ms")]
    p95 = classes[0].measured.stat("p95") if classes else float("nan")
    return (
        f"login_ratio={value('login_ratio', 'ratio')} "
        f"code_ms_1m={value('code_ms', 'median') if big else 'nan'} "
        f"manager_ms_1m={value('manager_ms_1M', 'median')} "
        f"manager_ms_100k={value('manager_ms_100k', 'median')} "
        f"rerun_max_ratio={f'{max(reruns):.3f}' if reruns else 'nan'} "
        f"class30_p95_ms={'nan' if p95 != p95 else f'{p95:.1f}'}"
    )


if __name__ == "__main__":
    sys.exit(main())
