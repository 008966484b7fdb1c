"""--profile: pyinstrument profiles of the code step and of the manager page's services.

AppTest runs the page script in its own thread, which pyinstrument (main thread only) does not
see; the services the page calls are therefore profiled directly, in this thread. For a whole
AppTest run, use py-spy on the process: `py-spy record -o top.txt -f raw -- python -m bench ...`.
"""

from __future__ import annotations

from pathlib import Path

from bench import apptest, dataset, whatif
from portal.clock import FixedClock
from portal.context import Portal
from portal.manager import reports
from portal.models import UserQuery

OUT = dataset.CACHE / "profiles"


def _save(name: str, profiler: object) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.txt"
    path.write_text(profiler.output_text(unicode=False, color=False))  # type: ignore[attr-defined]
    return path


def write(p: Portal, clock: FixedClock, log: object) -> list[Path]:
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is not installed: pip install pyinstrument", flush=True)  # noqa: T201
        return []
    written = []
    code = whatif._code_step(p, clock)
    for _ in range(3):
        code()
    prof = Profiler(interval=0.0005)
    prof.start()
    for _ in range(60):
        code()
    prof.stop()
    written.append(_save("code_step", prof))

    who = apptest.identity(p, dataset.people(p).manager)
    prof = Profiler(interval=0.001)
    prof.start()
    for term in ("smith", "user00042", "garcia"):
        reports.overview(p, who)
        reports.enrolments_by_day(p, who, 90)
        reports.accounts_page(p, who, UserQuery(search=term), 1)
    prof.stop()
    written.append(_save("manager_services", prof))
    for path in written:
        log(f"profile: {path}")  # type: ignore[operator]
    return written
