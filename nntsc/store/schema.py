"""Create and migrate the schema of every store: `nntsc db upgrade`."""

from __future__ import annotations

import logging
import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select

import migrations
from nntsc.collections import all_collections
from nntsc.config import Services
from nntsc.store.models import CollectionRecord

log = logging.getLogger(__name__)


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration for our migrations directory and `engine`."""
    config = Config()
    config.set_main_option("script_location", os.path.dirname(migrations.__file__))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade_sql(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision`."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade_sql(engine: Engine, revision: str) -> None:
    """Revert the migrations after `revision`."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def register_collections(engine: Engine) -> None:
    """Insert a `collections` row for each declared collection that lacks one."""
    with engine.begin() as connection:
        known = set(connection.scalars(select(CollectionRecord.name)))
        table = CollectionRecord.__table__
        for collection in all_collections():
            if collection.name not in known:
                connection.execute(
                    table.insert().values(
                        name=collection.name,
                        view_style=collection.view_style,
                        description=collection.description,
                    )
                )


def upgrade_all(services: Services) -> None:
    """Migrate SQL, register collections, create the time-series schema; idempotent."""
    upgrade_sql(services.engine)
    register_collections(services.engine)
    services.timeseries.ensure_schema()
    log.info("schema at revision %s", current_revision(services.engine))
