"""What packages built on nntsc add to it: SQL tables and `nntsc` subcommands.

Dependencies point one way (ampweb -> ampy -> nntsc), so nntsc never imports
the packages above it. A package that keeps tables in the platform's SQL
database, or offers commands under `nntsc`, names them as entry points of
its distribution instead::

    [options.entry_points]
    nntsc.tables =
        accounts = ampweb.accounts.models      # a module declaring tables on Base
    nntsc.commands =
        user = ampweb.accounts.cli:user         # a click command or group

and nntsc loads them when it needs the whole schema (migrations, the schema
check) or the command line (`nntsc --help`, `nntsc user ...`).
"""

from __future__ import annotations

import functools
import importlib
import warnings
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click
    from sqlalchemy import MetaData

TABLES_GROUP = "nntsc.tables"
COMMANDS_GROUP = "nntsc.commands"
#: nntsc's own modules that declare tables outside `nntsc.store.models`.
OWN_TABLE_MODULES = (
    "nntsc.events.models",
    "nntsc.legacy.models",
    "nntsc.notifications.models",
    "nntsc.schedules.models",
)


def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {point.name: point for point in entry_points(group=group)}


@functools.cache
def table_modules() -> MetaData:
    """The SQL metadata once every module declaring tables is loaded: nntsc's own
    (`nntsc.store.models` and `OWN_TABLE_MODULES`) and the ``nntsc.tables`` modules
    of other packages. The SQL store's data and rollup tables are declared as
    they are used (`nntsc.store.models.data_table`); `declared_metadata` has them all.

    Enough for sessions: every foreign key resolves (event ratings -> the web
    app's users); no data or rollup table has one.
    """
    from nntsc.store.models import metadata

    for module in OWN_TABLE_MODULES:
        importlib.import_module(module)
    for point in _entry_points(TABLES_GROUP).values():
        importlib.import_module(point.value)
    return metadata


@functools.cache
def declared_metadata() -> MetaData:
    """The SQL metadata with every table: those of `table_modules` and the data and
    rollup tables of every collection.

    Migrations are generated from and checked against this, so a table
    declared by a plug-in package is part of the schema like any other.
    """
    from nntsc.store.models import define_all_tables

    metadata = table_modules()
    define_all_tables()
    return metadata


def command_names() -> list[str]:
    """The names of the subcommands other packages add to `nntsc`."""
    return sorted(_entry_points(COMMANDS_GROUP))


def load_command(name: str) -> click.Command | None:
    """The subcommand `name` that a package adds to `nntsc`, or ``None`` if none does."""
    point = _entry_points(COMMANDS_GROUP).get(name)
    if point is None:
        return None
    with warnings.catch_warnings():
        # Pyramid (imported by the web app's package) imports pkg_resources,
        # whose deprecation notice means nothing to someone adding a user.
        warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
        return point.load()
