"""`/healthz` and `/metrics`.

`/healthz` checks every dependency the app is configured with, each timed:
the SQL database and the time-series store always; the Redis cache, the
Redis live feed and the Celery broker when their settings name a server
(``memory://`` ones live in the process and need no check). A dependency
listed in ``ampweb.health_required`` (default: ``sql timeseries``) being down
answers 503; another one being down answers 200 with status ``degraded``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import kombu
import redis
from prometheus_client import CONTENT_TYPE_LATEST
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ampweb.metrics import exposition
from nntsc.errors import StoreUnavailable

#: Seconds a check of a network dependency may take before it counts as down.
CHECK_TIMEOUT = 2.0
#: The dependencies whose failure makes the app unhealthy (503), unless set otherwise.
DEFAULT_REQUIRED = "sql timeseries"


@dataclass(frozen=True)
class Check:
    name: str
    ping: Callable[[], None]


def _redis_ping(url: str) -> Callable[[], None]:
    def ping() -> None:
        client = redis.Redis.from_url(
            url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()

    return ping


def _broker_ping(url: str) -> Callable[[], None]:
    if url.startswith(("redis://", "rediss://")):
        return _redis_ping(url)

    def ping() -> None:
        with kombu.Connection(url, connect_timeout=CHECK_TIMEOUT) as connection:
            connection.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT)

    return ping


def dependency_checks(
    services: Any, app_settings: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> list[Check]:
    """What `/healthz` checks for an app with `app_settings` over `services`."""
    settings = services.settings
    checks = [
        Check("sql", services.ping_sql),
        Check("timeseries", lambda: services.timeseries.ping()),
    ]
    for name, key in (("cache", "ampy.cache_url"), ("live", "nntsc.live_url")):
        if settings.get(key, "").startswith(("redis://", "rediss://")):
            checks.append(Check(name, _redis_ping(settings[key])))
    # The broker has a default (for the Celery app); the web app only checks
    # one that its ini or environment names.
    if app_settings.get("celery.broker_url") or environ.get("CELERY_BROKER_URL"):
        checks.append(Check("broker", _broker_ping(settings["celery.broker_url"])))
    return checks


def _run(check: Check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check.ping()
        status = "ok"
    except StoreUnavailable as error:
        status = str(error)
    except Exception as error:
        status = f"{type(error).__name__}: {error}"
    return {"status": status, "seconds": round(time.perf_counter() - started, 6)}


# Load balancers and monitoring ask without logging in, so these two are public.
@view_config(route_name="health", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def health(request: Request) -> Response:
    """200 when every required dependency answers (``degraded`` if another does not), else 503."""
    settings = request.registry.settings
    required = set(str(settings.get("ampweb.health_required") or DEFAULT_REQUIRED).split())
    results = {}
    for check in dependency_checks(request.ampy.services, settings):
        results[check.name] = {**_run(check), "required": check.name in required}
    down = {name for name, result in results.items() if result["status"] != "ok"}
    if down & required:
        status, code = "unavailable", 503
    elif down:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return Response(json_body={"status": status, "dependencies": results}, status=code)


@view_config(route_name="metrics", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def metrics(request: Request) -> Response:
    return Response(
        body=exposition(request.registry["metrics_registry"]),
        content_type=CONTENT_TYPE_LATEST.split(";")[0],
        charset="utf-8",
    )
