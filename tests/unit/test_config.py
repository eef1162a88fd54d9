"""Settings: durations, defaults, ini values and environment overrides."""

from __future__ import annotations

import pytest

from nntsc.config import DEFAULTS, ENVIRONMENT_OVERRIDES, Services, parse_duration, resolve_settings
from nntsc.errors import ConfigurationError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90d", 7_776_000),
        ("12h", 43_200),
        ("30m", 1_800),
        ("45s", 45),
        ("2w", 1_209_600),
        (" 7d ", 604_800),
        ("INF", None),
        ("inf", None),
        ("0", None),
        ("", None),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["90", "d", "1.5h", "-1d", "90 d", "12y", "ninety days", "1h30m"])
def test_parse_duration_rejects(text):
    with pytest.raises(ConfigurationError):
        parse_duration(text)


def test_defaults_when_nothing_is_set():
    assert resolve_settings({}, environ={}) == DEFAULTS


def test_resolve_does_not_change_defaults():
    before = dict(DEFAULTS)
    resolve_settings({"nntsc.sql_url": "sqlite:///x"}, environ={"NNTSC_SQL_URL": "sqlite:///y"})
    assert before == DEFAULTS


def test_ini_values_replace_defaults_and_are_strings():
    resolved = resolve_settings(
        {"nntsc.sql_url": "postgresql://db/nntsc", "nntsc.raw_retention": "30d", "extra": 5},
        environ={},
    )
    assert resolved["nntsc.sql_url"] == "postgresql://db/nntsc"
    assert resolved["nntsc.raw_retention"] == "30d"
    assert resolved["extra"] == "5"
    assert resolved["nntsc.timeseries_url"] == DEFAULTS["nntsc.timeseries_url"]


def test_environment_overrides_win():
    resolved = resolve_settings(
        {"nntsc.sql_url": "sqlite:///ini.sqlite", "nntsc.timeseries_url": "sql"},
        environ={
            "NNTSC_SQL_URL": "postgresql://env/nntsc",
            "NNTSC_TIMESERIES_URL": "influxdb://h:8086/db",
            "AMPY_CACHE_URL": "redis://cache/1",
        },
    )
    assert resolved["nntsc.sql_url"] == "postgresql://env/nntsc"
    assert resolved["nntsc.timeseries_url"] == "influxdb://h:8086/db"
    assert resolved["ampy.cache_url"] == "redis://cache/1"


@pytest.mark.parametrize(("key", "variable"), sorted(ENVIRONMENT_OVERRIDES.items()))
def test_each_override_variable(key, variable):
    assert resolve_settings({key: "from-ini"}, environ={variable: "from-env"})[key] == "from-env"


def test_empty_environment_variable_does_not_override():
    resolved = resolve_settings({"nntsc.sql_url": "sqlite:///ini"}, environ={"NNTSC_SQL_URL": ""})
    assert resolved["nntsc.sql_url"] == "sqlite:///ini"


def test_unrelated_environment_is_ignored():
    resolved = resolve_settings({}, environ={"NNTSC_RAW_RETENTION": "1d", "PATH": "/bin"})
    assert resolved == DEFAULTS


def test_explicit_environ_ignores_process_environment(monkeypatch):
    monkeypatch.setenv("NNTSC_SQL_URL", "postgresql://process/env")
    assert resolve_settings({}, environ={})["nntsc.sql_url"] == DEFAULTS["nntsc.sql_url"]
    assert resolve_settings({})["nntsc.sql_url"] == "postgresql://process/env"


def test_services_retention_from_settings():
    services = Services.from_settings(
        {"nntsc.raw_retention": "90d", "nntsc.rollup_retention": "INF"}, environ={}
    )
    assert services.raw_retention == 7_776_000
    assert services.rollup_retention is None


def test_services_bad_retention_raises():
    services = Services.from_settings({"nntsc.raw_retention": "ninety"}, environ={})
    with pytest.raises(ConfigurationError):
        _ = services.raw_retention


def test_web_settings_deployments_adapt_come_from_the_environment():
    from ampweb.settings import resolve_settings as resolve_web_settings

    ini = {"ampweb.trusted_proxies": "127.0.0.1", "ampweb.public_data": "false", "other": "x"}
    environ = {
        "AMPWEB_TRUSTED_PROXIES": "172.16.0.0/12",
        "AMPWEB_SECURE_COOKIES": "true",
        "AMPWEB_PUBLIC_DATA": " ",
    }
    assert resolve_web_settings(ini, environ) == {
        "ampweb.trusted_proxies": "172.16.0.0/12",
        "ampweb.secure_cookies": "true",
        "ampweb.public_data": "false",
        "other": "x",
    }


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"nntsc.expiry": "cron"}, "nntsc.expiry"),
        ({"nntsc.retention_period": "0"}, "retention_period"),
        ({"nntsc.retention_period": "inf"}, "retention_period"),
        ({"nntsc.retention_period": "hourly"}, "retention_period"),
    ],
)
def test_bad_background_settings_are_named(settings, named, tmp_path):
    services = Services.from_settings(
        {"nntsc.sql_url": f"sqlite:///{tmp_path}/n.sqlite", "nntsc.raw_retention": "1d"} | settings,
        environ={},
    )
    with pytest.raises(ConfigurationError, match=named):
        services.start_background()
    services.close()


def test_no_retention_thread_without_a_retention_or_under_celery(tmp_path):
    for settings in (
        {"nntsc.expiry": "in_process"},
        {"nntsc.expiry": "celery", "nntsc.raw_retention": "1d"},
    ):
        services = Services.from_settings(
            {
                "nntsc.sql_url": f"sqlite:///{tmp_path}/n.sqlite",
                "nntsc.event_pruning": "celery",
                "nntsc.notification_delivery": "celery",
            }
            | settings,
            environ={},
        )
        services.start_background()
        assert services._closers == []
        services.close()


def test_event_pruning_runs_in_process_unless_celery_does_it(tmp_path):
    from nntsc.events.tasks import PeriodicPruner

    settings = {
        "nntsc.sql_url": f"sqlite:///{tmp_path}/n.sqlite",
        "nntsc.notification_delivery": "celery",
    }
    services = Services.from_settings(settings, environ={})
    services.start_background()
    (stop,) = services._closers
    assert isinstance(stop.__self__, PeriodicPruner)
    assert stop.__self__._thread.is_alive()
    services.close()
    assert stop.__self__._thread is None
    celery = Services.from_settings(settings | {"nntsc.event_pruning": "celery"}, environ={})
    celery.start_background()
    assert celery._closers == []
    with pytest.raises(ConfigurationError, match=r"nntsc\.event_pruning"):
        Services.from_settings(
            settings | {"nntsc.event_pruning": "cron"}, environ={}
        ).start_background()


def test_notifications_run_in_process_unless_celery_does_them(tmp_path):
    from nntsc.notifications.tasks import NotificationThread

    settings = {"nntsc.sql_url": f"sqlite:///{tmp_path}/n.sqlite", "nntsc.event_pruning": "celery"}
    services = Services.from_settings(settings, environ={})
    services.start_background()
    (stop,) = services._closers
    assert isinstance(stop.__self__, NotificationThread)
    assert stop.__self__._thread.is_alive()
    services.close()
    assert stop.__self__._thread is None
    celery = Services.from_settings(
        settings | {"nntsc.notification_delivery": "celery"}, environ={}
    )
    celery.start_background()
    assert celery._closers == []
    with pytest.raises(ConfigurationError, match=r"nntsc\.notification_delivery"):
        Services.from_settings(
            settings | {"nntsc.notification_delivery": "cron"}, environ={}
        ).start_background()


def test_rollup_memory_rows_is_a_number_of_rows() -> None:
    from nntsc.store.rollups import HELD_ROWS

    assert Services.from_settings({}, environ={}).rollup_memory_rows == HELD_ROWS
    assert (
        Services.from_settings({"nntsc.rollup_memory_rows": "0"}, environ={}).rollup_memory_rows
        == 0
    )
    with pytest.raises(ConfigurationError, match=r"nntsc\.rollup_memory_rows"):
        _ = Services.from_settings(
            {"nntsc.rollup_memory_rows": "-5"}, environ={}
        ).rollup_memory_rows
    # A digit to str.isdigit that int() refuses.
    with pytest.raises(ConfigurationError, match=r"nntsc\.rollup_memory_rows"):
        _ = Services.from_settings(
            {"nntsc.rollup_memory_rows": "\u00b2"}, environ={}
        ).rollup_memory_rows


def test_a_digit_int_refuses_is_a_bad_time_not_a_crash() -> None:
    import click

    from nntsc.cli import _time

    assert _time(" 1700000000 ", "--start") == 1_700_000_000
    # "²" is a digit to str.isdigit, but int() refuses it (it raised a bare ValueError).
    with pytest.raises(click.BadParameter, match="neither Unix seconds"):
        _time("\u00b2", "--start")
    assert _time("-5", "--start") == -5
    # Two signs: it raised a bare ValueError as well.
    with pytest.raises(click.BadParameter, match="neither Unix seconds"):
        _time("--5", "--start")
