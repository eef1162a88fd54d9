"""gunicorn settings for the NNTSC web app (read by deploy/production.ini's server sections).

    pserve /etc/nntsc/production.ini
    gunicorn --paste /etc/nntsc/production.ini -c /etc/nntsc/gunicorn.conf.py

Each value may be overridden from the environment (GUNICORN_WORKERS, ...) so
that a container or a systemd drop-in can size the server without editing
this file. The bind address comes from the ini's server section in both forms
(pserve passes it; with --paste it is read here); `-b` on the command line wins.
Every worker signs session cookies with the same key: ampweb.session_secret
(or AMPWEB_SESSION_SECRET), else the one kept in the SQL database.
"""

import glob
import multiprocessing
import os
import sys
import tempfile

# Prometheus: every worker keeps its metrics in files here, so that a scrape
# answered by any worker counts them all (ampweb/metrics.py). Set before
# anything imports prometheus_client, which reads it once.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(tempfile.gettempdir(), f"nntsc-web-metrics-{os.getpid()}"),
)
os.makedirs(_metrics_dir, exist_ok=True)

from ampweb.serving import paste_bind  # noqa: E402 (after PROMETHEUS_MULTIPROC_DIR)

# `gunicorn --paste INI` would otherwise listen on 127.0.0.1:8000.
_ini_bind = paste_bind(sys.argv, os.environ)
if _ini_bind is not None:
    bind = _ini_bind

# Processes for CPU (JSON encoding, aggregation of cached bins), threads for
# the waits on PostgreSQL, InfluxDB and Redis. Two processes per core cap the
# memory each one's caches and connection pools take.
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 8))

# Long-range graph queries and CSV downloads may take minutes; nginx allows 300 s.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 300))
# On SIGTERM, in-flight requests get this long to finish.
graceful_timeout = 30
# nginx keeps connections to the app open (upstream keepalive).
keepalive = 75

# Each worker builds its own database engines and caches after the fork:
# preloading would share connection pools between processes.
preload_app = False
# Recycle workers now and then so that a slow leak cannot grow without bound;
# the jitter keeps them from restarting all at once.
max_requests = 20000
max_requests_jitter = 2000

# nginx on the same host sets X-Forwarded-*; trust only it.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs on stderr (journald, `docker logs`); the ini's [loggers] configure the app's.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"


def _clear_metrics() -> None:
    # Only the files prometheus_client writes: the directory may be shared.
    for path in glob.glob(os.path.join(_metrics_dir, "*.db")):
        os.remove(path)


def on_starting(server):
    """Counts left by an earlier run would be added to this one's."""
    _clear_metrics()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    _clear_metrics()
