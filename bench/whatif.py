"""--what-if: the production changes proposed in bench/README.md, measured by monkeypatching.

No file outside bench/ is changed: each change is applied inside this process for the length of
a `with` block, and measured A/B (unpatched and patched runs interleaved) in the same run.
The index experiment creates indexes in this run's copy of the database only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench import apptest, dataset, signin
from bench.timing import Series, ms
from portal.clock import FixedClock
from portal.context import Portal
from portal.manager import guard
from portal.manager import reports as manager_reports
from portal.twofactor import second_factor, totp
from portal.ui.manager import keys
from store import factors as factor_store
from store import reports
from store import users as user_store
from store.backends import duckdb as store_db

# --- the proposed changes, as patches ------------------------------------------------------


def _get_factor_indexed(cur: Any, user_id: int, status: Any) -> Any:
    """store/factors.py get_factor without ORDER BY ... LIMIT 1 (which makes DuckDB scan)."""
    rows = cur.execute(
        f"SELECT {factor_store._FACTOR} FROM factors WHERE user_id = ? AND status = ?",
        [user_id, str(status)],
    ).fetchall()
    return factor_store._factor(max(rows, key=lambda r: r[0])) if rows else None


@contextlib.contextmanager
def factor_lookup() -> Iterator[None]:
    original = factor_store.get_factor
    factor_store.get_factor = _get_factor_indexed
    try:
        yield
    finally:
        factor_store.get_factor = original


@contextlib.contextmanager
def timezone_once(p: Portal) -> Iterator[None]:
    """SET GLOBAL TimeZone once on the connection instead of SET TimeZone on every cursor."""
    p.db._conn.execute("SET GLOBAL TimeZone = 'UTC'")
    original = store_db.DuckDBDatabase._cursor
    store_db.DuckDBDatabase._cursor = lambda self: self._conn.cursor()  # type: ignore[method-assign]
    try:
        yield
    finally:
        store_db.DuckDBDatabase._cursor = original  # type: ignore[method-assign]


_joined = threading.local()


@contextlib.contextmanager
def one_write_code_step() -> Iterator[None]:
    """The code step's two write transactions (replay guard; sign-in bookkeeping) as one.

    Measures the success path only: the real change keeps the failure path's own transaction.
    """
    original_write = store_db.DuckDBDatabase.write
    original_verify = second_factor.verify_sign_in

    @contextlib.contextmanager
    def write(self: Any) -> Iterator[Any]:
        cur = getattr(_joined, "cur", None)
        if cur is not None:
            yield cur
            return
        with original_write(self) as cur:
            yield cur

    def verify_sign_in(p: Portal, *args: Any, **kwargs: Any) -> Any:
        with original_write(p.db) as cur:
            _joined.cur = cur
            try:
                return original_verify(p, *args, **kwargs)
            finally:
                _joined.cur = None

    store_db.DuckDBDatabase.write = write  # type: ignore[method-assign,assignment]
    second_factor.verify_sign_in = verify_sign_in
    try:
        yield
    finally:
        store_db.DuckDBDatabase.write = original_write  # type: ignore[method-assign]
        second_factor.verify_sign_in = original_verify


def _check_role(p: Portal, cur: Any, actor: Any) -> None:
    """guard.require_manager, whichever of its signatures the working tree has."""
    if "p" in inspect.signature(guard.require_manager).parameters:
        guard.require_manager(p, cur, actor)
    else:
        guard.require_manager(cur, actor)


_OVERVIEW_CACHE: dict[tuple[Any, ...], tuple[dt.datetime, Any]] = {}


@contextlib.contextmanager
def overview_cache(seconds: float = 30.0) -> Iterator[None]:
    """reports.overview / enrolments_by_day: role check every time, the counts cached for 30 s.

    The cache outlives the `with` block, as a process-wide cache would outlive a rerun.
    """
    cache = _OVERVIEW_CACHE
    originals = (manager_reports.overview, manager_reports.enrolments_by_day)

    def cached(key: tuple[Any, ...], p: Portal, compute: Callable[[], Any]) -> Any:
        hit = cache.get(key)
        now = p.now()
        if hit is not None and now < hit[0]:
            return hit[1]
        value = compute()
        cache[key] = (now + dt.timedelta(seconds=seconds), value)
        return value

    def overview(p: Portal, actor: Any) -> Any:
        with p.db.read() as cur:
            _check_role(p, cur, actor)
        low = p.settings.backup_codes_low
        return cached(("overview", p.db.path, low), p, lambda: originals[0](p, actor))

    def enrolments_by_day(p: Portal, actor: Any, days: int = 90) -> Any:
        with p.db.read() as cur:
            _check_role(p, cur, actor)
        key = ("enrolments", p.db.path, days, p.now().date())
        return cached(key, p, lambda: originals[1](p, actor, days))

    manager_reports.overview, manager_reports.enrolments_by_day = overview, enrolments_by_day
    try:
        yield
    finally:
        manager_reports.overview, manager_reports.enrolments_by_day = originals


SEARCH_AS_IS = "(strpos(lower(username), ?) > 0 OR strpos(lower(display_name), ?) > 0)"
SEARCH_LIKE = "(username LIKE ? ESCAPE '\\' OR display_name ILIKE ? ESCAPE '\\')"


def like_pattern(term: str) -> str:
    """'%term%' with LIKE's own characters escaped."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@contextlib.contextmanager
def search_like() -> Iterator[None]:
    """The accounts search as username LIKE / display_name ILIKE (portable to PostgreSQL).

    Usernames are stored lower-case (validate.username), so lower(username) is wasted work, and
    DuckDB's ILIKE is cheaper than lower() + strpos() on a million display names.
    """
    original = reports._user_where

    def where(query: Any) -> tuple[str, list[Any]]:
        text, params = original(query)
        if SEARCH_AS_IS in text:
            text = text.replace(SEARCH_AS_IS, SEARCH_LIKE)
            pattern = like_pattern(query.search.strip().lower())
            params = [pattern, pattern, *params[2:]]
        return text, params

    reports._user_where = where
    try:
        yield
    finally:
        reports._user_where = original


def _list_events_since_cte(cur: Any, subject: str, since: Any, kinds: list[str]) -> list:
    """store/audit.py list_events_since: the indexed equality alone in a MATERIALIZED CTE."""
    from portal.models import AuditEvent

    marks = ", ".join("?" for _ in kinds)
    rows = cur.execute(
        "WITH mine AS MATERIALIZED (SELECT id, occurred_at, event, actor, subject, source, detail"
        " FROM audit WHERE subject = ?)"
        f" SELECT * FROM mine WHERE occurred_at > ? AND event IN ({marks})"
        " ORDER BY id DESC LIMIT 50",
        [subject, since, *kinds],
    ).fetchall()
    return [AuditEvent(*row) for row in rows]


def _list_sessions_cte(cur: Any, user_id: int) -> list:
    """store/sessions.py list_sessions: the same shape."""
    from store import sessions as session_store

    cols = session_store._COLUMNS
    rows = cur.execute(
        f"WITH mine AS MATERIALIZED (SELECT {cols}, token_hash FROM sessions WHERE user_id = ?)"
        f" SELECT {cols} FROM mine WHERE ended_at IS NULL AND token_hash IS NOT NULL"
        " ORDER BY last_seen_at DESC",
        [user_id],
    ).fetchall()
    return [s for s in map(session_store._session, rows) if s is not None]


@contextlib.contextmanager
def indexed_lookups() -> Iterator[None]:
    """get_factor, list_events_since and list_sessions written so DuckDB uses their index."""
    from store import audit as audit_store
    from store import sessions as session_store

    originals = (audit_store.list_events_since, session_store.list_sessions)
    audit_store.list_events_since = _list_events_since_cte
    session_store.list_sessions = _list_sessions_cte
    try:
        with factor_lookup():
            yield
    finally:
        audit_store.list_events_since, session_store.list_sessions = originals


# --- measurements ----------------------------------------------------------------------------


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


def _full_sign_in(p: Portal, clock: FixedClock) -> Callable[[], float]:
    def measure() -> float:
        t = signin.sign_in(p, clock.now, dataset.people(p).login)
        clock.advance(seconds=30)
        return ms(t.total)

    return measure


def _all_sign_in(p: Portal) -> Callable[[], Any]:
    @contextlib.contextmanager
    def both() -> Iterator[None]:
        with factor_lookup(), timezone_once(p), one_write_code_step():
            yield

    return both


def _all_manager() -> Callable[[], Any]:
    @contextlib.contextmanager
    def both() -> Iterator[None]:
        with overview_cache(), search_like():
            yield

    return both


def _manager_search(p: Portal) -> Callable[[], float]:
    from bench.manager import SEARCHES

    at = apptest.app(p, apptest.identity(p, dataset.people(p).manager))
    at.run()
    at.switch_page(apptest.page("manager"))
    at.run()
    count = iter(range(10**6))

    def measure() -> float:
        at.text_input(key=keys.SEARCH).input(SEARCHES[next(count) % len(SEARCHES)])
        return apptest.timed_run(at)[0]

    return measure


def _home_rerun(p: Portal) -> Callable[[], float]:
    at = apptest.app(p, apptest.identity(p, dataset.people(p).manager))
    at.run()
    return lambda: apptest.timed_run(at)[0]


def run(p: Portal, clock: FixedClock, datasets: dict[int, Any], args: Any, log: Any) -> dict:
    quick = args.quick
    out: dict[str, Any] = {}
    code = _code_step(p, clock)
    runs = 20 if quick else 40
    out["code_step_ms"] = {
        "get_factor_without_order_by_limit": _ab("code step", runs, code, factor_lookup),
        "timezone_set_once": _ab("code step", runs, code, lambda: timezone_once(p)),
        "one_write_transaction": _ab("code step", runs, code, one_write_code_step),
        "all_three": _ab("code step", runs, code, _all_sign_in(p)),
    }
    full = _full_sign_in(p, clock)
    base = Series("bare checkpw", "ms")
    hashed = signin.stored_hash(p, dataset.people(p).login).encode()
    result = _ab(
        "full sign-in",
        9 if quick else 15,
        lambda: (base.add(ms(signin.bare_checkpw(hashed))), full())[1],
        _all_sign_in(p),
    )
    result["checkpw"] = base.as_dict()
    result["ratio_before_min"] = result["before"]["min"] / base.stat("min")
    result["ratio_after_min"] = result["after"]["min"] / base.stat("min")
    out["full_sign_in_all_three"] = result
    log("what-if: manager page")
    for n, d in datasets.items():
        at_start = FixedClock(dataset.START + dt.timedelta(minutes=1))
        q = dataclasses.replace(p, clock=at_start) if n == max(datasets) else d.open(at_start)
        try:
            d.restore_throttle(q)  # the generated lockouts, pruned by the sign-ins since
            search = _manager_search(q)
            mruns = 6 if quick else 10
            out[f"manager_search_ms_{n}"] = {
                "overview_cache_30s": _ab("search run", mruns, search, overview_cache),
                "search_like_ilike": _ab("search run", mruns, search, search_like),
                "both": _ab("search run", mruns, search, _all_manager()),
            }
        finally:
            if q.db is not p.db:
                q.db.close()
            apptest.use_portal(p)
    log("what-if: home page with index-friendly lookups")
    home = _home_rerun(p)
    out["home_rerun_ms"] = {
        "indexed_lookups": _ab("home rerun", 6 if quick else 10, home, indexed_lookups),
    }
    return out
