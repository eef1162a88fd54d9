"""The `nntsc` command."""

from __future__ import annotations

import configparser
import logging
import logging.config
import os
import sys
import time

import click
from tqdm import tqdm

from nntsc.config import Services
from nntsc.errors import NntscError


def load_settings(path: str) -> dict[str, str]:
    """The ``[app:main]`` settings of a PasteDeploy ini file; sets up its logging sections.

    Read with configparser rather than PasteDeploy so that the collector does
    not import the web app to learn its settings.
    """
    path = os.path.abspath(path)
    if not os.path.exists(path):
        raise click.BadParameter(f"{path} does not exist", param_hint="-c/--config")
    parser = configparser.ConfigParser(defaults={"here": os.path.dirname(path), "__file__": path})
    parser.read(path)
    if not parser.has_section("app:main"):
        raise click.BadParameter(f"{path} has no [app:main] section", param_hint="-c/--config")
    settings = {
        key: value
        for key, value in parser.items("app:main")
        if key not in ("here", "__file__", "use")
    }
    try:
        logging.config.fileConfig(path, disable_existing_loggers=False)
    except (KeyError, ValueError, RuntimeError):
        logging.basicConfig(level=logging.INFO)
    return settings


config_option = click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The ini file (development.ini, deploy/production.ini).",
)


@click.group()
def main() -> None:
    """NNTSC: collect, store and serve network measurements."""


@main.group()
def db() -> None:
    """Schema commands."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: str) -> None:
    """Create or migrate the SQL schema and the InfluxDB database and policies."""
    from nntsc.store.schema import upgrade_all

    services = Services.from_settings(load_settings(config_path))
    try:
        upgrade_all(services)
    finally:
        services.close()
    click.echo("schema is up to date")


@main.command("rollup")
@config_option
def rollup(config_path: str) -> None:
    """Compute the rollup bins that new, late or backfilled rows touched."""
    services = Services.from_settings(load_settings(config_path))
    try:
        started = time.monotonic()
        count = _process_rollups(services)
        click.echo(f"{count} rollup marks processed in {time.monotonic() - started:.1f} s")
    finally:
        services.close()


def _process_rollups(services: Services) -> int:
    """Process every pending rollup mark with a progress bar on stderr."""
    store = services.timeseries
    with tqdm(total=store.pending_count(), unit="mark", desc="rollups", file=sys.stderr) as bar:
        return store.process_rollups(progress=bar.update)


@main.command("collect")
@config_option
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Only check that the broker and the stores answer; exit 1 if not.",
)
def collect(config_path: str, check_only: bool) -> None:
    """Consume amplet2 reports from RabbitMQ into the stores until SIGTERM."""
    from nntsc.ingest.amqp import Collector, CollectorSettings, check

    settings = load_settings(config_path)
    services = Services.from_settings(settings)
    collector_settings = CollectorSettings.from_settings(services.settings)
    try:
        if check_only:
            problems = check(services, collector_settings)
            for problem in problems:
                click.echo(f"unavailable: {problem}", err=True)
            if problems:
                sys.exit(1)
            click.echo("broker and stores answer")
            return
        collector = Collector(services, collector_settings)
        collector.install_signal_handlers()
        collector.run()
    finally:
        services.close()


@main.command("demo-data")
@config_option
@click.option("--sites", default=10, show_default=True, type=click.IntRange(2, 200))
@click.option("--days", default=7.0, show_default=True, type=click.FloatRange(0.01, 400))
@click.option(
    "--interval",
    default=60,
    show_default=True,
    type=click.IntRange(10, 3600),
    help="Seconds between two ICMP (and TCP ping) reports of one source.",
)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--end", default=None, type=int, help="Unix time of the last report (default: now).")
@click.option(
    "--tests",
    default=None,
    help="Comma-separated amplet2 tests to simulate (icmp, tcpping, dns, http, throughput, "
    "udpstream, traceroute, or all). Default: icmp, or all with --via-amqp.",
)
@click.option(
    "--via-amqp",
    is_flag=True,
    help="Publish amplet2 reports to RabbitMQ (nntsc.amqp_url) for `nntsc collect`, "
    "instead of storing them directly. The login needs RabbitMQ's impersonator tag, "
    "as each report carries its monitor's name in user_id.",
)
def demo_data(
    config_path: str,
    sites: int,
    days: float,
    interval: int,
    seed: int,
    end: int | None,
    tests: str | None,
    via_amqp: bool,
) -> None:
    """Simulate an AMP mesh: store its reports through the ingest path, or publish them."""
    from nntsc.demo import ALL_TESTS, SimulatedMesh, demo_sites_and_meshes

    if tests in (None, ""):
        chosen = ALL_TESTS if via_amqp else ("icmp",)
    elif tests == "all":
        chosen = ALL_TESTS
    else:
        chosen = tuple(t.strip() for t in tests.split(","))
        unknown = sorted(set(chosen) - set(ALL_TESTS))
        if unknown:
            raise click.BadParameter(f"unknown tests {', '.join(unknown)}", param_hint="--tests")
    services = Services.from_settings(load_settings(config_path))
    end = int(time.time()) if end is None else end
    mesh = SimulatedMesh(sites, end - int(days * 86400), end, interval, seed)
    reports = tqdm(
        mesh.test_reports(chosen),
        total=mesh.test_count(chosen),
        unit="report",
        desc="publish" if via_amqp else "ingest",
        file=sys.stderr,
    )
    started = time.monotonic()
    try:
        # The sites and meshes go to SQL either way, so the web app can list them.
        services.sites.save_all(*demo_sites_and_meshes(mesh))
        if via_amqp:
            from nntsc.ingest.amqp import CollectorSettings, publish_reports

            count = publish_reports(CollectorSettings.from_settings(services.settings), reports)
            click.echo(f"{count} reports published in {time.monotonic() - started:.1f} s")
            return
        from nntsc.collections import for_amp_test
        from nntsc.ingest.pipeline import Ingestor

        with Ingestor(services) as ingestor:
            for test, source, timestamp, report in reports:
                ingestor.add_report(for_amp_test(test), report, source, timestamp)
        click.echo(f"{ingestor.totals.written} rows written in {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        count = _process_rollups(services)
        click.echo(f"{count} rollup marks processed in {time.monotonic() - started:.1f} s")
    finally:
        services.close()


def run() -> None:
    """Entry point that turns our errors into one clear line and exit status 1."""
    try:
        main(standalone_mode=False)
    except NntscError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
