"""Where a server's time goes: a sampling thread, started only when BENCH_SAMPLE_TO names a file.

bench/classroom.py puts this folder on the server's PYTHONPATH for one measured run. Every 5 ms
it looks at every thread's stack; a thread whose innermost frame is a wait (a lock, a queue, the
event loop's select) is idle and not counted. It counts the innermost frame (the leaf file) and,
inclusively, every frame of the project (portal/, pages/, store/) on the stack, and rewrites the
counts to the file every few seconds as JSON.
"""

import json
import os
import sys
import threading
import time
from collections import Counter

_TARGET = os.environ.get("BENCH_SAMPLE_TO")
_IDLE = (  # innermost frames of threads that wait (or sleep between polls)
    "/threading.py",
    "/selectors.py",
    "/queue.py",
    "/concurrent/futures/thread.py",
    "/watcher/polling_path_watcher.py",
)
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_OURS = tuple(os.path.join(_ROOT, part) + os.sep for part in ("portal", "pages", "store"))


def _short(path: str) -> str:
    for marker in ("site-packages/", _ROOT + os.sep, "/lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _stack(frame: object, depth: int = 12) -> str:
    """The innermost frames as "file:function:line|..." (a waiting lock shows as its line)."""
    parts = []
    while frame is not None and len(parts) < depth:
        code = frame.f_code  # type: ignore[attr-defined]
        parts.append(f"{_short(code.co_filename)}:{code.co_name}:{frame.f_lineno}")  # type: ignore[attr-defined]
        frame = frame.f_back  # type: ignore[attr-defined]
    return "|".join(parts)


def _sample(target: str) -> None:
    me = threading.get_ident()
    leaf, ours, stacks, samples, busy = Counter(), Counter(), Counter(), 0, 0
    last = time.monotonic()
    while True:
        time.sleep(0.005)
        samples += 1
        for ident, frame in sys._current_frames().items():
            if ident == me or frame.f_code.co_filename.endswith(_IDLE):
                continue
            busy += 1
            leaf[_short(frame.f_code.co_filename)] += 1
            stacks[_stack(frame)] += 1
            seen = set()
            while frame is not None:
                code = frame.f_code
                if code.co_filename.startswith(_OURS):
                    name = f"{_short(code.co_filename)}:{code.co_name}"
                    if name not in seen:
                        seen.add(name)
                        ours[name] += 1
                frame = frame.f_back
        if time.monotonic() - last > 3:
            last = time.monotonic()
            data = {
                "samples": samples,
                "busy_thread_samples": busy,
                "leaf_files": leaf.most_common(40),
                "project_frames_inclusive": ours.most_common(60),
                "stacks": stacks.most_common(40),
            }
            with open(target + ".tmp", "w") as out:
                json.dump(data, out, indent=1)
            os.replace(target + ".tmp", target)


if _TARGET:
    threading.Thread(target=_sample, args=(_TARGET,), name="bench-sampler", daemon=True).start()
