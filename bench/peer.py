"""Figure 6: the same sign-in with streamlit-authenticator's YAML credential store.

streamlit-authenticator is installed for the benchmark only (`pip install streamlit-authenticator`);
it is not a dependency of the portal. Its documented set-up keeps every account in one YAML file
that `Authenticate('config.yaml', ...)` reads on every script run and writes back after each
successful login. We time its controller directly (YAML load + `login()`: bcrypt check, then the
write-back), without the widget's fixed 0.7 s `login_sleep_time` and without the browser.
If the package is missing, the same steps are reimplemented (yaml.load with SafeLoader +
bcrypt.checkpw + yaml.dump) and the figure says so.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import bcrypt
import yaml

from bench import dataset
from bench.timing import Figure, Series, ms

TARGET_USER = "user00042"


def _template(n: int, hashed: str) -> Path:
    path = dataset.CACHE / f"peer-{n}-template.yaml"
    if path.exists():
        return path
    users = {
        f"user{i:05d}": {
            "email": f"user{i:05d}@example.org",
            "first_name": dataset.FIRST[i % len(dataset.FIRST)],
            "last_name": dataset.LAST[(i * 7) % len(dataset.LAST)],
            "password": hashed,  # one real cost-12 hash for all: same size, same check cost
            "roles": ["viewer"],
            "failed_login_attempts": 0,
            "logged_in": False,
        }
        for i in range(n)
    }
    config = {
        "cookie": {"expiry_days": 30, "key": "bench-cookie-key", "name": "bench_cookie"},
        "credentials": {"usernames": users},
    }
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        yaml.dump(config, fh, default_flow_style=False, allow_unicode=True)
    tmp.rename(path)
    return path


def _peer_hash() -> str:
    path = dataset.CACHE / "peer-hash.txt"
    if not path.exists():
        path.write_text(bcrypt.hashpw(dataset.PASSWORD.encode(), bcrypt.gensalt(12)).decode())
    return path.read_text().strip()


def library_login() -> tuple[Callable[[Path], bool], str]:
    """The library's own path, or a labelled reimplementation when it cannot be imported."""
    try:
        from streamlit import logger as st_logger

        st_logger.set_log_level(logging.ERROR)
        from streamlit_authenticator.controllers.authentication_controller import (
            AuthenticationController,
        )
    except Exception as exc:  # noqa: BLE001 - any import failure means: reimplement

        def reimplemented(path: Path) -> bool:
            with path.open(encoding="utf-8") as fh:
                config = yaml.load(fh, Loader=yaml.SafeLoader)  # noqa: S506 - SafeLoader
            user = config["credentials"]["usernames"][TARGET_USER]
            ok = bcrypt.checkpw(dataset.PASSWORD.encode(), user["password"].encode())
            user["logged_in"] = ok
            with path.open("w", encoding="utf-8") as fh:
                yaml.dump(config, fh, default_flow_style=False, allow_unicode=True)
            return ok

        return reimplemented, f"REIMPLEMENTED (streamlit-authenticator unavailable: {exc})"

    import streamlit_authenticator

    st_logger.set_log_level(logging.ERROR)  # the import created more loggers

    def real(path: Path) -> bool:
        controller = AuthenticationController(
            str(path), None, False, str(path), None, "bench-cookie-key", None
        )
        return bool(controller.login(TARGET_USER, dataset.PASSWORD))

    version = getattr(streamlit_authenticator, "__version__", None)
    if version is None:
        from importlib.metadata import version as _v

        version = _v("streamlit-authenticator")
    return real, f"streamlit-authenticator {version} (AuthenticationController, auto_hash=False)"


def peer_figures(sizes: list[int], runs: int, ours: Callable[[], float]) -> list[Figure]:
    """Peer sign-in at each size, interleaved with our full sign-in (ours() returns seconds)."""
    login, label = library_login()
    hashed = _peer_hash()
    figures = []
    for n in sizes:
        template = _template(n, hashed)
        work = dataset.CACHE / f"peer-{n}-work.yaml"
        peer = Series(f"{label}, {n:,} users in YAML", "ms")
        base = Series("our full sign-in (password + TOTP code)", "ms")
        for i in range(runs):
            for kind in ("peer", "ours") if i % 2 == 0 else ("ours", "peer"):
                if kind == "ours":
                    base.add(ms(ours()))
                    continue
                shutil.copyfile(template, work)  # each login writes the file back
                t0 = time.perf_counter()
                ok = login(work)
                peer.add(ms(time.perf_counter() - t0))
                if not ok:
                    raise RuntimeError("the peer refused the correct password")
        figures.append(
            Figure(
                f"peer_{n // 1000}k",
                f"Peer sign-in, YAML store with {n:,} users / our full sign-in (password + code)",
                peer,
                base,
                notes=f"{label}; the peer's sign-in is password only (its 2FA is e-mail codes via "
                "its cloud service). Excludes its 0.7 s login_sleep_time. The YAML file is "
                f"{template.stat().st_size / 1e6:.1f} MB.",
            )
        )
    return figures
