"""A real Celery worker and beat (`celery -A nntsc.tasks ...`) for integration tests.

They run as processes on the real broker, against an ini file written for
the test, and on a queue of their own (``celery.queue``) so that test runs
sharing the broker never take each other's tasks. `celery_processes` waits
until both say they are ready and stops them (SIGTERM, then SIGKILL) when
the test ends, then deletes what the queue left on the broker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nntsc.config import ENVIRONMENT_OVERRIDES

BROKER = os.environ.get("NNTSC_TEST_CELERY_BROKER", "redis://127.0.0.1:6379/3")
#: What each process logs once it is ready.
READY = {"worker": "ready.", "beat": "beat: Starting..."}

_LOGGING = """
[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = INFO
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(asctime)s %(levelname)s [%(name)s] %(message)s
"""


@dataclass
class CeleryProcesses:
    """The running worker and beat, and where they log."""

    ini: Path
    queue: str
    logs: dict[str, Path]

    def log(self, name: str) -> str:
        """What `name` (``worker`` or ``beat``) has logged so far."""
        return self.logs[name].read_text(errors="replace")


def write_ini(path: Path, settings: Mapping[str, str]) -> Path:
    """An ini file with `settings` in ``[app:main]`` and logging at INFO to stderr."""
    lines = ["[app:main]", *(f"{key} = {value}" for key, value in settings.items())]
    path.write_text("\n".join(lines) + "\n" + _LOGGING)
    return path


@contextmanager
def celery_processes(
    directory: Path, settings: Mapping[str, str], timeout: float = 60.0
) -> Iterator[CeleryProcesses]:
    """A worker and a beat of `nntsc.tasks` over `settings`, ready; stopped afterwards."""
    queue = f"nntsc-test-{uuid.uuid4().hex[:10]}"
    ini = write_ini(
        directory / "celery.ini",
        {"celery.broker_url": BROKER, **settings, "celery.queue": queue},
    )
    # Only the ini speaks: the environment's service overrides would win over it.
    environ = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT_OVERRIDES.values()}
    environ["NNTSC_CONFIG"] = str(ini)
    celery = [sys.executable, "-m", "celery", "-A", "nntsc.tasks"]
    commands = {
        "worker": [
            *celery,
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            f"--hostname={queue}@%h",
        ],
        "beat": [
            *celery,
            "beat",
            "--loglevel=INFO",
            f"--schedule={directory / 'beat-schedule'}",
            "--max-interval=1",
        ],
    }
    logs = {name: directory / f"{name}.log" for name in commands}
    running: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, command in commands.items():
            with logs[name].open("wb") as log:
                running[name] = subprocess.Popen(
                    command, cwd=directory, env=environ, stdout=log, stderr=subprocess.STDOUT
                )
        processes = CeleryProcesses(ini, queue, logs)
        deadline = time.monotonic() + timeout
        for name, process in running.items():
            while READY[name] not in processes.log(name):
                if process.poll() is not None:
                    raise RuntimeError(f"celery {name} exited: {processes.log(name)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"celery {name} not ready in {timeout} s")
                time.sleep(0.2)
        yield processes
    finally:
        for process in running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        _forget_queue(queue)


def _forget_queue(queue: str) -> None:
    """Delete what the queue left on a Redis broker (its list and kombu's bindings)."""
    if not BROKER.startswith(("redis://", "rediss://")):
        return
    import redis

    client = redis.Redis.from_url(BROKER)
    try:
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
