"""`ampy.events.driver_form`: a statement goes to the psycopg2 cursor only when SQLAlchemy would
hand psycopg2 the same text and values (no engine connects here: compiling needs none)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from ampy.events import driver_form

metadata = sa.MetaData()


class Upper(TypeDecorator[str]):
    """A type that converts values on the way in."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else str(value).upper()


class Doubled(TypeDecorator[int]):
    """A type that converts values on the way out."""

    impl = sa.Integer
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else value * 2


table = sa.Table(
    "things",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String),
    sa.Column("shout", Upper),
    sa.Column("twice", Doubled),
)
postgres = sa.create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none")


def test_a_plain_statement_is_its_text_and_values() -> None:
    sql, params = driver_form(
        sa.select(table.c.id, table.c.name).where(table.c.id > 5).limit(20), postgres
    )
    assert sql is not None
    assert "%(id_1)s" in sql
    assert params == {"id_1": 5, "param_1": 20}


def test_a_value_converted_on_the_way_in_goes_through_sqlalchemy() -> None:
    statement = sa.select(table.c.id).where(table.c.shout == "quiet")
    assert driver_form(statement, postgres) == (None, {})


def test_a_value_converted_on_the_way_out_goes_through_sqlalchemy() -> None:
    assert driver_form(sa.select(table.c.twice), postgres) == (None, {})


def test_a_list_expanded_into_the_text_goes_through_sqlalchemy() -> None:
    statement = sa.select(table.c.id).where(table.c.name.in_(["a", "b"]))
    assert driver_form(statement, postgres) == (None, {})


def test_another_driver_goes_through_sqlalchemy() -> None:
    sqlite = sa.create_engine("sqlite://")
    assert driver_form(sa.select(table.c.id), sqlite) == (None, {})
