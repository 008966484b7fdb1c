"""Run Debian's nginx with a test's own configuration, in a temporary folder, on a free port.

Used by the tests that put nginx in front of portal servers (several app servers behind one load
balancer; forward auth in front of another app). The test writes only the ``server { ... }`` and
``upstream { ... }`` blocks; this module wraps them in a complete configuration whose pid file,
logs and temp folders all live in the test's folder, so nothing touches /etc/nginx or /var.

    with start_nginx(tmp_path, SERVER_BLOCKS.format(port="{port}", ...)) as proxy:
        http_get(proxy.url + "/_stcore/health")
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.harness import free_port, http_get

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

_MAIN = """\
{user}
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{blocks}
}}
"""


@dataclass
class Nginx:
    """A running nginx; ``url`` is http://127.0.0.1:<port>."""

    proc: subprocess.Popen[bytes]
    port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def access_log(self) -> str:
        path = self.folder / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def __enter__(self) -> Nginx:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def nginx_conf(folder: Path, blocks: str) -> str:
    """The whole nginx.conf for ``blocks`` (``server``/``upstream`` text, already formatted)."""
    # Run as root, nginx drops its workers to "nobody", who could not write the test's folder.
    user = "user root root;" if os.geteuid() == 0 else ""
    return _MAIN.format(user=user, folder=folder, blocks=blocks)


def start_nginx(folder: Path, blocks: str, *, timeout: float = 10.0) -> Nginx:
    """Start nginx with ``blocks``, in which every ``{port}`` becomes the free port it listens on.

    Waits until the port accepts a request (any HTTP answer counts); raises with the error log
    if nginx exits or never answers.
    """
    folder = Path(folder) / f"nginx-{time.monotonic_ns()}"
    folder.mkdir(parents=True)
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(nginx_conf(folder, blocks.replace("{port}", str(port))))
    check = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t refused:\n{check.stderr}\n{conf.read_text()}")
    quiet = subprocess.DEVNULL
    proc = subprocess.Popen([NGINX, "-c", str(conf)], stdout=quiet, stderr=quiet)
    proxy = Nginx(proc, port, folder)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with {proc.returncode}:\n{proxy.error_log()}")
        try:
            http_get(proxy.url + "/", timeout=1.0)
            return proxy
        except OSError:
            time.sleep(0.1)
    proxy.stop()
    raise RuntimeError(f"nginx did not answer on {proxy.url}:\n{proxy.error_log()}")
