"""The `nntsc` command."""

from __future__ import annotations

import configparser
import contextlib
import gc
import logging
import logging.config
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

# What this module loads (click, SQLAlchemy through nntsc.config) makes tens of
# thousands of objects that live as long as the process, and the cyclic garbage
# collector walked them all, over and over, while they were being made: about a
# fifth of the time importing what `nntsc collect` imports took. None of
# them is garbage, so collections wait until the module is loaded; a command
# that loads much more does the same (`starting_up`).
_COLLECTING = gc.isenabled()
gc.disable()
try:
    import click

    from nntsc.config import Services
    from nntsc.errors import NntscError
    from nntsc.text import decimal_int
finally:
    if _COLLECTING:
        gc.enable()

if TYPE_CHECKING:
    import datetime

    from nntsc.sysdig.actions import Action
    from nntsc.sysdig.importer import ImportSummary
    from nntsc.sysdig.reader import ReadStats


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


@contextlib.contextmanager
def starting_up() -> Iterator[None]:
    """The start-up of a long-running command: no cyclic garbage collection meanwhile.

    What a command loads and builds before its work (modules, tables,
    metrics, the stores' clients) lives as long as the process, so a
    collection walking it finds nothing; afterwards it is moved out of the
    collector's sight (`gc.freeze`), so that the collections while working
    walk only what was made since. Importing what `nntsc collect` imports
    cost 0.24 s of collections before, 0.05 s so; a launched collector's
    start-up CPU went 0.67 -> 0.59 s (docs/performance.md, session 9).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def progress_bar(iterable: Iterable[Any] | None = None, **options: Any) -> Any:
    """A tqdm progress bar on stderr (tqdm is imported only by the commands that show one)."""
    from tqdm import tqdm

    return tqdm(iterable, file=sys.stderr, **options)


class _LazyHelp:
    """Help text made when it is first read, not when the module is loaded.

    Some help lists what a command's own modules hold (the NNTSC conversions,
    the simulated tests); importing them at load time would make every
    command, `nntsc collect` included, pay for them.
    """

    _help_of: Callable[[], str]
    _help: str | None = None

    @property
    def help(self) -> str | None:
        if self._help is None:
            self._help = self._help_of()
        return self._help

    @help.setter
    def help(self, value: str | None) -> None:
        # click's constructor sets the (absent) docstring or help=: kept if given.
        self._help = value


class LazyHelpCommand(_LazyHelp, click.Command):
    """A command whose help is ``help_of()``, called when the help is shown."""

    def __init__(self, *args: Any, help_of: Callable[[], str], **kwargs: Any) -> None:
        self._help_of = help_of
        super().__init__(*args, **kwargs)


class LazyHelpOption(_LazyHelp, click.Option):
    """An option whose help is ``help_of()``, called when the help is shown."""

    def __init__(self, *args: Any, help_of: Callable[[], str], **kwargs: Any) -> None:
        self._help_of = help_of
        super().__init__(*args, **kwargs)


class PluginGroup(click.Group):
    """The `nntsc` group: its own commands, and those other packages add (`nntsc.plugins`).

    A plug-in command is imported only when it is run or the help lists it,
    so that `nntsc collect` does not load the web app.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        from nntsc.plugins import command_names

        return sorted(set(super().list_commands(ctx)) | set(command_names()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        from nntsc.plugins import load_command

        return load_command(cmd_name)


@click.group(cls=PluginGroup)
@click.version_option(package_name="nntsc", prog_name="nntsc")
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


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
@click.option("--empty", is_flag=True, help="Write a migration to fill in by hand (data changes).")
def db_revision(message: str, empty: bool) -> None:
    """Write the next migration from the difference between the models and the migrations.

    Autogenerated (Alembic) against a scratch SQLite database at head, numbered
    after head, in migrations/versions/. Read it before committing: Alembic
    cannot tell a rename from a drop and an add.
    """
    from nntsc.store.schema import new_revision

    click.echo(f"wrote {os.path.relpath(new_revision(message, empty))}")


@db.command("check")
@click.option(
    "--url",
    default=None,
    help="Check on this database (migrated to head first) instead of a scratch SQLite one.",
)
def db_check(url: str | None) -> None:
    """Fail (exit 1) when the models and the migrations disagree, or there are several heads.

    With --url, also when that database holds sites or meshes the API cannot
    reach (names holding "/schedule").
    """
    from nntsc.store.schema import schema_differences, stored_name_problems

    differences = schema_differences(url)
    if differences:
        for difference in differences:
            click.echo(difference, err=True)
        raise click.ClickException(
            f"{len(differences)} differences between the models and the migrations: "
            "`nntsc db revision -m MSG` (make migration MSG=...) writes the migration"
        )
    click.echo("models and migrations agree")
    problems = stored_name_problems(url) if url is not None else []
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"{len(problems)} sites or meshes the API cannot reach")


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
    with progress_bar(total=store.pending_count(), unit="mark", desc="rollups") as bar:
        return store.process_rollups(progress=bar.update)


@main.command("collect")
@config_option
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Only check that the broker and the stores answer; exit 1 if not.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve the Prometheus metrics here instead of nntsc.metrics_port (0: none). "
    "A port in use is skipped for the next free one, so several collectors can share an ini.",
)
def collect(config_path: str, check_only: bool, metrics_port: int | None) -> None:
    """Consume amplet2 reports from RabbitMQ into the stores until SIGTERM.

    Several collectors may consume the same queue (on one host or several):
    the broker hands each message to one of them.
    """
    import dataclasses

    with starting_up():
        from nntsc.ingest.amqp import Collector, CollectorSettings, check

        settings = load_settings(config_path)
        services = Services.from_settings(settings)
        collector_settings = CollectorSettings.from_settings(services.settings)
        if metrics_port is not None:
            collector_settings = dataclasses.replace(collector_settings, metrics_port=metrics_port)
        try:
            collector = None if check_only else Collector(services, collector_settings)
        except BaseException:
            services.close()
            raise
    try:
        if collector is None:
            problems = check(services, collector_settings)
            for problem in problems:
                click.echo(f"unavailable: {problem}", err=True)
            if problems:
                sys.exit(1)
            click.echo("broker and stores answer")
            return
        collector.install_signal_handlers()
        detecting = None
        stop_detecting = threading.Event()
        if services.settings["nntsc.live_url"].startswith("memory://"):
            # The embedded default has no separate `nntsc events run`: the
            # collector detects in process, woken by its own commits.
            from nntsc.events.live import run_in_process

            detecting = run_in_process(services, stop_detecting)
        try:
            collector.run()
        finally:
            stop_detecting.set()
            if detecting is not None:
                detecting.join(30)
    finally:
        services.close()
        # What start-up froze may be collected again (for a caller in the same process).
        gc.unfreeze()


def _demo_tests_help() -> str:
    from nntsc.demo.simulators import SIMULATORS

    return (
        f"Comma-separated amplet2 tests to simulate ({', '.join(SIMULATORS)}, or all). "
        "Default: icmp, or all with --via-amqp."
    )


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
    cls=LazyHelpOption,
    help_of=_demo_tests_help,
)
@click.option(
    "--via-amqp",
    is_flag=True,
    help="Publish amplet2 reports to RabbitMQ (nntsc.amqp_url) for `nntsc collect`, "
    "instead of storing them directly. The login needs RabbitMQ's impersonator tag, "
    "as each report carries its monitor's name in user_id.",
)
@click.option(
    "--rollups/--no-rollups",
    default=True,
    show_default=True,
    help="Process the rollup marks the load made (else later: `nntsc rollup`, or queries).",
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
    rollups: bool,
) -> None:
    """Simulate an AMP mesh: store its reports through the ingest path, or publish them."""
    from nntsc.demo import ALL_TESTS, SimulatedMesh, demo_sites_and_meshes
    from nntsc.demo.schedules import save_demo_schedules

    if not tests:
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
    reports = progress_bar(
        mesh.test_reports(chosen),
        total=mesh.test_count(chosen),
        unit="report",
        desc="publish" if via_amqp else "ingest",
    )
    started = time.monotonic()
    try:
        # The sites and meshes go to SQL either way, so the web app can list them.
        services.sites.save_all(*demo_sites_and_meshes(mesh))
        # And their schedules, as amplet2 monitors would fetch them (/yaml/<site>).
        save_demo_schedules(services.schedules, mesh, ALL_TESTS)
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
        if rollups:
            started = time.monotonic()
            count = _process_rollups(services)
            click.echo(f"{count} rollup marks processed in {time.monotonic() - started:.1f} s")
    finally:
        services.close()


@main.command("demo-feed")
@config_option
@click.option("--sites", default=10, show_default=True, type=click.IntRange(2, 200))
@click.option(
    "--interval",
    default=60,
    show_default=True,
    type=click.IntRange(10, 3600),
    help="Seconds between two ICMP (and TCP ping) reports of one source.",
)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--catch-up",
    "catch_up_hours",
    default=24.0,
    show_default=True,
    type=click.FloatRange(0, 24 * 400),
    help="Hours of missed reports made up at most, back from now.",
)
@click.option("--once", is_flag=True, help="Catch up to now, then exit.")
def demo_feed(
    config_path: str, sites: int, interval: int, seed: int, catch_up_hours: float, once: bool
) -> None:
    """Keep a demo alive: feed the simulated mesh's reports as they fall due, until stopped.

    Continues the mesh that `demo-data` loaded (give it the same --sites,
    --interval and --seed) from the newest stored row, through the collector's
    ingest pipeline; `make demo` runs it beside the web app.
    """
    import signal
    import threading

    from nntsc.demo.feed import DemoFeeder

    services = Services.from_settings(load_settings(config_path))
    stop = threading.Event()
    # Stop between two reports or two rollup batches, not in the middle of a write.
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        feeder = DemoFeeder(
            services, sites, interval, seed, max_catch_up=int(catch_up_hours * 3600)
        )
        now = int(time.time())
        began = feeder.start(now)
        pending = services.timeseries.pending_count()
        if pending:
            # `make demo` leaves the loaded history's rollups to this first pass.
            click.echo(f"demo feed: rolling up {pending} marks of stored rows first", err=True)
        reports, rows = feeder.feed(now, stop)
        if stop.is_set():
            click.echo(f"demo feed: stopped after {reports} reports ({rows} rows)", err=True)
            return
        click.echo(
            f"demo feed: {reports} reports ({rows} rows) from "
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(began))} to now"
            + ("" if once else "; then each run as it falls due (Ctrl-C stops)"),
            err=True,
        )
        if not once:
            feeder.run(stop)
    finally:
        services.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# -- sysdig logs: file operations, patterns, actions ---------------------------------


def _sysdig_date(value: datetime.datetime | None) -> datetime.date | None:
    """``--date`` as a date (click gives a datetime)."""
    return value.date() if value is not None else None


date_option = click.option(
    "--date",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Date of the first event of a time-of-day log "
    "(default: the file's modification date; today for stdin).",
)


class MaxRejects(click.ParamType):
    """``--max-rejects``: a count of lines (``100``) or a percentage of the event lines (``5%``)."""

    name = "N|P%"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[float, bool]:
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        percent = text.endswith("%")
        try:
            number = float(text[:-1]) if percent else int(text)
        except ValueError:
            self.fail(f"{value!r} is neither a count (100) nor a percentage (5%)", param, ctx)
        if number < 0 or (percent and number > 100):
            self.fail(f"{value!r} is out of range", param, ctx)
        return number, percent


@main.group("import")
def import_group() -> None:
    """Import measurements: sysdig logs, an NNTSC deployment."""


@import_group.command("sysdig")
@config_option
@click.option("--host", required=True, help="Name of the host the logs were captured on.")
@date_option
@click.option(
    "--top-files",
    default=50,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="Files per minute with a series of their own; the rest fold into directories.",
)
@click.option(
    "--fold-depth",
    default=3,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Directory components kept when folding a file into its directory.",
)
@click.option(
    "--min-ops",
    "min_operations",
    default=10,
    show_default=True,
    type=click.IntRange(0, 1_000_000),
    help="Operations a file or directory needs in a minute to keep its own series.",
)
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 256),
    help="Processes scanning a large plain text log in chunks (default: one per CPU).",
)
@click.option(
    "--max-rejects",
    default="10%",
    show_default=True,
    type=MaxRejects(),
    help="Rejected lines (a count, or a percentage of the event lines) beyond which the "
    "import fails with exit status 1; it fails too when nothing was imported.",
)
@click.argument("files", nargs=-1, required=True)
def import_sysdig(
    config_path: str,
    host: str,
    date: datetime.datetime | None,
    top_files: int,
    fold_depth: int,
    min_operations: int,
    workers: int | None,
    max_rejects: tuple[float, bool],
    files: tuple[str, ...],
) -> None:
    """Count file operations and actions of sysdig logs (FILE or - for stdin) into fileops.

    Exits with status 1, naming the first rejected lines and why, when nothing
    was imported or when more lines were rejected than --max-rejects allows
    (the rows of the lines that were read are kept: importing the log again
    changes nothing).
    """
    from nntsc.ingest.pipeline import Ingestor
    from nntsc.sysdig.importer import import_logs

    if not host.strip():
        raise click.BadParameter("must not be empty", param_hint="--host")
    sizes = [os.path.getsize(f) for f in files if f != "-" and os.path.isfile(f)]
    piped = "-" in files
    services = Services.from_settings(load_settings(config_path))
    started = time.monotonic()
    try:
        with (
            progress_bar(
                total=None if piped else sum(sizes),
                unit="line" if piped else "B",
                unit_scale=not piped,
                desc="import",
            ) as bar,
            Ingestor(services) as ingestor,
        ):
            summary = import_logs(
                ingestor,
                files,
                host,
                _sysdig_date(date),
                top_files,
                fold_depth,
                progress=bar.update,
                min_operations=min_operations,
                workers=workers,
            )
        for part in summary.files:
            rejected = f" (lines {part.rejected_lines})" if part.rejected else ""
            click.echo(
                f"{part.path}: {part.lines} lines, {part.events} events, "
                f"{part.rejected} lines rejected{rejected}"
            )
        click.echo(
            f"{summary.calls_counted} file operations and {summary.actions} actions in "
            f"{summary.minutes} minutes: {summary.rows} rows in {len(summary.series)} series, "
            f"{ingestor.totals.written} rows written in {time.monotonic() - started:.1f} s"
        )
        if summary.late:
            click.echo(f"{summary.late} calls arrived after their minute was written", err=True)
        started = time.monotonic()
        count = _process_rollups(services)
        click.echo(f"{count} rollup marks processed in {time.monotonic() - started:.1f} s")
    finally:
        services.close()
    problem = _import_problem(summary, max_rejects)
    if problem is not None:
        _report_rejections(problem, summary)
        sys.exit(1)


def _nntsc_import_help() -> str:
    from nntsc.legacy.convert import LEGACY_COLLECTIONS

    conversions = "\n\n".join(f"{c.name}: {c.lossy}" for c in LEGACY_COLLECTIONS.values())
    return (
        "Import an NNTSC 2.x deployment: streams from its PostgreSQL (--sql), rows from "
        "its InfluxDB (--influx) and from its PostgreSQL (traceroute, and rows NNTSC kept "
        "in per-stream tables before it used InfluxDB or when it ran without it).\n\n"
        "Each stored row is turned back into the amplet2 report it came from and goes "
        "through the collector's ingest path, so imported rows hold what our collector "
        "makes of the same report. Streams are read a page at a time, rows in time "
        "chunks. After each committed chunk a checkpoint is kept in our SQL database, so "
        "an interrupted import resumes where it stopped and importing again reads only "
        "rows newer than the last run (rows are keyed by stream and time: nothing is "
        "ever stored twice). The NNTSC databases are only read.\n\n"
        "Where NNTSC stored something wrong or lossily:\n\n" + conversions
    )


@import_group.command("nntsc", cls=LazyHelpCommand, help_of=_nntsc_import_help)
@config_option
@click.option(
    "--sql",
    "sql_url",
    required=True,
    help="NNTSC's PostgreSQL database: postgresql://user:password@host/nntsc.",
)
@click.option(
    "--influx",
    "influx_url",
    default=None,
    help="NNTSC's InfluxDB 1.x database: influxdb://[user:password@]host:8086/nntsc "
    "(needed for every collection but traceroute).",
)
@click.option("--start", default=None, help="Unix seconds or ISO date/time (UTC); default: all.")
@click.option("--end", default=None, help="Unix seconds or ISO date/time (UTC); default: now.")
@click.option(
    "--collection",
    "collections",
    multiple=True,
    help="Only this collection, NNTSC's name (amp_icmp) or ours (amp-icmp); repeatable.",
)
def import_nntsc(
    config_path: str,
    sql_url: str,
    influx_url: str | None,
    start: str | None,
    end: str | None,
    collections: tuple[str, ...],
) -> None:
    from nntsc.legacy.convert import LEGACY_COLLECTIONS, LegacyRowError, legacy_collection
    from nntsc.legacy.importer import NntscImport
    from nntsc.legacy.source import LegacySource

    begin = 0 if start is None else _time(start, "--start")
    finish = int(time.time()) + 1 if end is None else _time(end, "--end")
    if finish <= begin:
        raise click.BadParameter("must be after --start", param_hint="--end")
    try:
        chosen = list(dict.fromkeys(legacy_collection(name) for name in collections))
    except LegacyRowError as error:
        raise click.BadParameter(str(error), param_hint="--collection") from None
    everything = not chosen
    chosen = chosen or list(LEGACY_COLLECTIONS.values())
    source = LegacySource(sql_url, influx_url)
    services = None
    try:
        source.check()
        services = Services.from_settings(load_settings(config_path))
        services.ping_sql()
        services.timeseries.ping()
        run = NntscImport(services, source, begin, finish)
        with progress_bar(
            total=run.stream_total(chosen),
            unit="stream",
            desc="import",
            # Chunks advance it by parts of a stream: whole streams are shown.
            bar_format="{l_bar}{bar}| {n:.0f}/{total} streams [{elapsed}<{remaining}]",
        ) as bar:
            run.progress = bar.update
            summary = run.run(chosen)
        if everything:
            read = {n for c in chosen for n in (c.name, *c.also_reads)}
            summary.unsupported.extend(sorted(set(source.collections()) - read))
        for name in summary.absent:
            click.echo(f"{name}: not in this NNTSC deployment, skipped", err=True)
        for name in summary.postgres_only:
            click.echo(
                f"{name}: no --influx given, only the rows NNTSC kept in PostgreSQL were read",
                err=True,
            )
        for name in summary.unsupported:
            click.echo(
                f"{name}: not importable yet (this version has no collection for it), skipped",
                err=True,
            )
        for reason, count in summary.reasons.most_common():
            click.echo(f"rejected {count}: {reason}", err=True)
        click.echo(
            f"{summary.streams} streams, {summary.rows_read} rows read, "
            f"{summary.reports} reports imported ({summary.rows_written} rows written), "
            f"{summary.rejected} rejected, in {summary.seconds:.1f} s"
        )
        started = time.monotonic()
        count = _process_rollups(services)
        click.echo(f"{count} rollup marks processed in {time.monotonic() - started:.1f} s")
    finally:
        source.close()
        if services is not None:
            services.close()


def _counted(count: int, noun: str) -> str:
    """``1 line``, ``2 lines``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _import_problem(summary: ImportSummary, max_rejects: tuple[float, bool]) -> str | None:
    """Why an import of sysdig logs failed, or ``None`` if it did not."""
    limit, percent = max_rejects
    rejected = summary.rejected
    if summary.rows == 0:
        return (
            f"nothing imported: {_counted(summary.lines, 'line')}, "
            f"{_counted(summary.events, 'event')}, {_counted(rejected, 'line')} rejected"
        )
    allowed = limit * (summary.events + rejected) / 100 if percent else limit
    if rejected > allowed:
        shown = f"{limit:g}%" if percent else f"{limit:g}"
        return (
            f"{rejected} of {_counted(summary.events + rejected, 'event line')} rejected, "
            f"more than --max-rejects {shown} allows"
        )
    return None


def _report_rejections(problem: str, summary: ImportSummary, count: int = 5) -> None:
    """`problem`, then the first `count` rejected lines of the logs and why, on stderr."""
    from nntsc.sysdig.reader import explain_rejections

    click.echo(f"error: {problem}", err=True)
    for part in summary.files:
        if count <= 0 or not part.rejected:
            continue
        reasons = explain_rejections(part.path, part.rejected_numbers, count)
        for number, reason in reasons:
            click.echo(f"  {part.path}:{number}: {reason}", err=True)
        if not reasons:
            click.echo(f"  {part.path}: lines {part.rejected_lines} rejected", err=True)
        count -= max(1, len(reasons))


@main.group("sysdig")
def sysdig_group() -> None:
    """Look into sysdig logs: repeated syscall patterns, recognised actions."""


@sysdig_group.command("patterns")
@click.argument("file")
@date_option
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 200))
@click.option(
    "--max-calls",
    default=200_000,
    show_default=True,
    type=click.IntRange(1000, 10_000_000),
    help="Calls read from the start of the log (memory grows with them).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the patterns as one JSON document.")
def sysdig_patterns(
    file: str, date: datetime.datetime | None, top: int, max_calls: int, as_json: bool
) -> None:
    """The most common repeated syscall sequences of FILE, by share of the log explained."""
    import itertools
    import json

    from nntsc.sysdig.calls import pair_calls
    from nntsc.sysdig.patterns import find_patterns, format_report
    from nntsc.sysdig.reader import SysdigLog

    with SysdigLog(file, _sysdig_date(date)) as log:
        events = log.events()
        report = find_patterns(itertools.islice(pair_calls(events), max_calls), top=top)
    if as_json:
        document = {
            "calls": report.total_calls,
            "explained": report.explained,
            "rejected_lines": events.stats.rejected,
            "patterns": [p.as_dict() for p in report.patterns],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(format_report(report))
    if events.stats.rejected:
        click.echo(
            f"{events.stats.rejected} lines rejected (lines {events.stats.rejected_text()})",
            err=True,
        )
    _fail_without_events(file, file, events.stats)


def _fail_without_events(shown: str, path: str, stats: ReadStats) -> None:
    """Exit 1, saying why the first lines were rejected, when log `path` held no event."""
    from nntsc.sysdig.reader import explain_rejections

    if stats.events:
        return
    click.echo(
        f"error: no sysdig events in {shown}: {_counted(stats.lines, 'line')}, "
        f"{stats.rejected} rejected",
        err=True,
    )
    for number, reason in explain_rejections(path, stats.rejected_lines):
        click.echo(f"  {shown}:{number}: {reason}", err=True)
    sys.exit(1)


@sysdig_group.command("actions")
@click.argument("file")
@date_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per recognised action.")
@click.option("--summary", is_flag=True, help="Counts per action and process.")
def sysdig_actions(file: str, date: datetime.datetime | None, as_json: bool, summary: bool) -> None:
    """FILE with each recognised action's calls replaced by one action line (``=``)."""
    import collections
    import json
    import shutil
    import tempfile

    from nntsc.sysdig.actions import ActionRecognizer, rewrite
    from nntsc.sysdig.calls import pair_calls
    from nntsc.sysdig.reader import SysdigLog

    if as_json and summary:
        raise click.UsageError("--json and --summary are alternatives")
    spool = None
    shown = file
    if file == "-" and not (as_json or summary):
        # Rewriting reads the log twice; standard input is kept in a file first.
        spool = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)  # noqa: SIM115
        with spool:
            shutil.copyfileobj(sys.stdin, spool)
        file = spool.name
    try:
        with SysdigLog(file, _sysdig_date(date)) as log:
            events = log.events()
            actions = list(ActionRecognizer().recognise(pair_calls(events)))
        if as_json:
            for action in actions:
                click.echo(json.dumps(action.as_dict()))
        elif summary:
            counts = collections.Counter((a.name, a.process) for a in actions)
            for (name, process), count in sorted(counts.items()):
                click.echo(f"{count:8d}  {name:<20} {process}")
            click.echo(f"{len(actions):8d}  actions in {events.stats.events} events")
        else:
            with SysdigLog(file, _sysdig_date(date)) as log:
                numbered = enumerate((line.rstrip("\n") for line in log.lines()), 1)
                for line in rewrite(numbered, actions, _action_line):
                    click.echo(line)
        if events.stats.rejected:
            click.echo(
                f"{events.stats.rejected} lines rejected (lines {events.stats.rejected_text()})",
                err=True,
            )
        _fail_without_events(shown, file, events.stats)
    finally:
        if spool is not None:
            os.unlink(spool.name)


def _action_line(action: Action, first_line: str) -> str:
    """An action in place of its calls: sysdig's prefix of its first event, direction ``=``."""
    import json

    fields = action.as_dict()
    fields["lines"] = f"{fields['first_line']}-{fields['last_line']}"
    if first_line.lstrip().startswith(("{", "[", ",")):
        return json.dumps(fields)
    number, clock, cpu = first_line.split(" ", 3)[:3]
    return (
        f"{number} {clock} {cpu} {fields['process']} ({fields['thread']}) = {fields['action']} "
        f"subject={fields['subject']} lines={fields['lines']}"
    )


def _time(value: str, what: str) -> int:
    """Unix seconds from ``1700000000``, ``2026-12-01`` or ``2026-12-01T12:00`` (UTC)."""
    import datetime

    text = value.strip()
    seconds = decimal_int(text, signed=True)
    if seconds is not None:
        return seconds
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither Unix seconds nor an ISO date", param_hint=what
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp())


@main.group("events")
def events_group() -> None:
    """Detect events: live as rows arrive, or over stored history."""


@events_group.command("run")
@config_option
@click.option(
    "--since",
    default="1d",
    show_default=True,
    help="Where a stream never detected on starts: a duration back from now (1d, 6h), "
    "Unix seconds, an ISO date, or 'all' (its first row). Later runs resume where they stopped.",
)
@click.option(
    "--poll",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1, 600),
    help="Seconds between two looks at the store when the live feed is quiet "
    "(sooner when the leases are due for renewal: a third of nntsc.events_lease_seconds).",
)
def events_run(config_path: str, since: str, poll: float) -> None:
    """Detect events on committed rows as they arrive, until SIGTERM.

    Several processes share the streams; each resumes from the store, so a
    restart, a crash or a Redis outage loses no detection.
    """
    import signal

    from nntsc.config import parse_duration
    from nntsc.events.live import LiveDetection, start_listening

    if since == "all":
        start = None
    elif since[-1:] in "smhdw" and since[:-1].isdecimal():
        start = int(time.time()) - (parse_duration(since) or 0)
    else:
        start = _time(since, "--since")
    services = Services.from_settings(load_settings(config_path))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        detection = LiveDetection(services, since=start)
        start_listening(services, detection, stop)
        click.echo(f"detecting as {detection.owner}", err=True)
        detection.run(stop, poll)
        click.echo(
            f"{detection.rows} rows, {detection.stored} events stored, "
            f"{detection.late_rows} late rows skipped",
            err=True,
        )
    finally:
        services.close()


@events_group.command("detect")
@config_option
@click.option("--start", required=True, help="Unix seconds or ISO date/time (UTC).")
@click.option("--end", default=None, help="Unix seconds or ISO date/time (UTC); default now.")
@click.option(
    "--collection", "collections", multiple=True, help="Only this collection (repeatable)."
)
@click.option("--stream", "stream_ids", multiple=True, type=int, help="Only this stream id.")
def events_detect(
    config_path: str,
    start: str,
    end: str | None,
    collections: tuple[str, ...],
    stream_ids: tuple[int, ...],
) -> None:
    """Run the detectors over stored rows of [START, END) and store the events found."""
    from nntsc.collections import get as get_collection
    from nntsc.events.engine import detect_history, streams_with_detections

    begin = _time(start, "--start")
    finish = int(time.time()) if end is None else _time(end, "--end")
    if finish <= begin:
        raise click.BadParameter("must be after --start", param_hint="--end")
    for name in collections:
        get_collection(name)
    services = Services.from_settings(load_settings(config_path))
    try:
        streams = streams_with_detections(services, collections or None, stream_ids or None)
        total = sum(len(s) for s in streams.values())
        with progress_bar(total=total, unit="stream", desc="detect") as bar:
            summary = detect_history(
                services,
                begin,
                finish,
                collections or None,
                stream_ids or None,
                progress=bar.update,
            )
    finally:
        services.close()
    click.echo(
        f"{summary.rows} rows of {summary.streams} streams: {summary.found} events found, "
        f"{summary.stored} new, in {summary.seconds:.1f} s"
    )


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
