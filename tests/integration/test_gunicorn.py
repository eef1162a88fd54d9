"""The documented production form, `gunicorn --paste INI -c deploy/gunicorn.conf.py`, for real.

gunicorn runs 2 worker processes over a PostgreSQL database, with
``ampweb.session_secret`` unset as deploy/production.ini ships it. It must
listen where the ini's ``[server:main]`` says (not gunicorn's 127.0.0.1:8000),
and a user who logs in must stay logged in whichever worker answers: the
access log (which names the worker's pid) shows that both answered.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ampweb.accounts import UserRegistry
from tests.conftest import make_services

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough password"
REQUESTS = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn_server(postgres_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(URL from the ini's [server:main], access log) of gunicorn with 2 workers."""
    services = make_services(postgres_url)
    try:
        UserRegistry(services.sessionmaker).create_user("alice", PASSWORD, ["viewdata"])
    finally:
        services.close()
    port = _free_port()
    ini = tmp_path / "production.ini"
    ini.write_text(
        "[app:main]\n"
        "use = egg:nntsc\n"
        f"nntsc.sql_url = {postgres_url}\n"
        "nntsc.timeseries_url = sql\n"
        "ampweb.public_data = false\n"
        "ampweb.session_secret =\n"
        "\n[server:main]\n"
        "use = egg:gunicorn#main\n"
        "host = 127.0.0.1\n"
        f"port = {port}\n"
        f"config = {ROOT}/deploy/gunicorn.conf.py\n"
    )
    access_log = tmp_path / "access.log"
    environ = {
        **os.environ,
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "GUNICORN_ACCESSLOG": str(access_log),
    }
    for variable in ("AMPWEB_SESSION_SECRET", "NNTSC_SQL_URL", "NNTSC_TIMESERIES_URL"):
        environ.pop(variable, None)
    # gunicorn's own log goes to a file: a pipe nobody reads could fill and stall
    # it, and would be left open (a ResourceWarning) when the test ends.
    output = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--paste",
            str(ini),
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--access-logformat",
            "%(p)s %(s)s %(m)s %(U)s",
        ],
        cwd=tmp_path,
        env=environ,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                log = (tmp_path / "gunicorn.log").read_text()
                pytest.fail(f"gunicorn exited {process.returncode}:\n{log}")
            try:
                # Listening comes before the workers have loaded the app: wait for an answer.
                requests.get(f"{url}/login", timeout=30)
                break
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline:
                    pytest.fail(f"nothing listens on {url}, the ini's [server:main]")
                time.sleep(0.3)
        yield url, access_log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()


def _login(url: str) -> requests.Session:
    """A browser's session: the form from one connection, posted on another."""
    browser = requests.Session()
    page = browser.get(f"{url}/login", headers={"Connection": "close"}, timeout=30)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text).group(1)
    answer = browser.post(
        f"{url}/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token, "came_from": "/"},
        headers={"Connection": "close"},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 303, answer.text[:500]
    return browser


def test_two_workers_keep_a_login(gunicorn_server: tuple[str, Path]) -> None:
    url, access_log = gunicorn_server
    statuses: Counter[int] = Counter()
    for _ in range(REQUESTS // 20):
        browser = _login(url)
        for _ in range(20):
            # A new connection each time, so that either worker may take it.
            answer = browser.get(
                f"{url}/api/v1/collections", headers={"Connection": "close"}, timeout=30
            )
            statuses[answer.status_code] += 1
    assert statuses == {200: REQUESTS}
    served = Counter(
        line.split()[0]
        for line in access_log.read_text().splitlines()
        if line.endswith(" /api/v1/collections") and line.split()[1] == "200"
    )
    assert len(served) == 2, f"one worker answered everything: {served}"


def test_an_open_dashboard_polls_whichever_worker_answers(
    gunicorn_server: tuple[str, Path], postgres_url: str
) -> None:
    """The dashboard's live updates keep no state in a worker: every answer comes from SQL."""
    from tests.events_factory import event_row, icmp_stream, store_events

    url, access_log = gunicorn_server
    browser = _login(url)
    page = browser.get(f"{url}/events", timeout=30).text
    since = int(re.search(r'data-serial="(\d+)"', page).group(1))
    services = make_services(postgres_url)
    try:
        stream = icmp_stream(services, "amp-a", "amp-b")
        now = int(time.time())
        store_events(services, [event_row(stream, now - 60, source="amp-a", target="amp-b")])
    finally:
        services.close()
    answers = []
    for _ in range(20):
        # A new connection each time, so that either worker may take it.
        answer = browser.get(
            f"{url}/events/live?since={since}", headers={"Connection": "close"}, timeout=30
        )
        answers.append((answer.status_code, answer.json()["serial"], len(answer.json()["groups"])))
        idle = browser.get(
            f"{url}/events/live?since={answers[-1][1]}",
            headers={"Connection": "close", "If-None-Match": f'"{answers[-1][1]}"'},
            timeout=30,
        )
        assert idle.status_code == 304
    assert set(answers) == {(200, since + 1, 1)}
    served = {
        line.split()[0] for line in access_log.read_text().splitlines() if " /events/live" in line
    }
    assert len(served) == 2, f"one worker answered every poll: {served}"
