"""Selection options: the values of the next unchosen level, one page at a time, from SQL.

The dialogs that add a series walk a collection's selection hierarchy
(`ampy.groups.GroupSpec.hierarchy`): each dropdown lists the distinct values
of one level among the streams that match the levels already chosen.
Everything is done by the database: the distinct values, the
case-insensitive substring search, the total after the search and the page.
A level with a single value is chosen automatically and the next one
returned; the search term and the page apply only to the level browsed.

A view style (``latency``) can be asked too: its collections share their
first levels (source, destination), whose values are the union over all of
them, still paged in the database.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, Table, func, literal_column, select, union
from sqlalchemy.orm import Session, sessionmaker

from ampy.groups import ALL, SPLIT, spec_for
from ampy.words import counted
from nntsc.collections import Collection
from nntsc.collections import get as get_collection
from nntsc.errors import BadQuery
from nntsc.store.models import property_table

MAX_PAGESIZE = 1000
MAX_TERM = 200


@dataclass(frozen=True)
class Option:
    value: str
    label: str

    def as_dict(self) -> dict[str, str]:
        return {"value": self.value, "label": self.label}


@dataclass(frozen=True)
class SplitChoice:
    """How the finished selection may be split into lines, for the dialog's last dropdown."""

    keyword: str
    choices: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"keyword": self.keyword, "choices": list(self.choices)}


@dataclass(frozen=True)
class Options:
    """The options of one level (`property`), or ``property=None`` when all are chosen.

    `selected` is the selection including levels chosen automatically.
    """

    collection: str
    property: str | None
    selected: list[str]
    items: list[Option]
    total: int
    page: int
    pagesize: int
    splits: list[SplitChoice] = field(default_factory=list)

    # builtins: the field `property` above hides the decorator in this class body.
    @builtins.property
    def has_more(self) -> bool:
        return self.page * self.pagesize < self.total

    def as_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "property": self.property,
            "selected": self.selected,
            "items": [item.as_dict() for item in self.items],
            "total": self.total,
            "page": self.page,
            "pagesize": self.pagesize,
            "has_more": self.has_more,
            "splits": [split.as_dict() for split in self.splits],
        }


def _skip_scan(table: Table, level: str) -> Select[Any]:
    """The distinct values of an indexed first key column, one index probe per value.

    The first level (sources) has few values among many streams: walking the
    key index from one value to the next (a recursive CTE, as PostgreSQL
    has no skip scan) touches a few hundred index entries instead of
    scanning 100,000 rows.
    """
    column = table.c[level]
    values = select(func.min(column).label("value")).cte(f"values_{table.name}", recursive=True)
    following = select(select(func.min(column)).where(column > values.c.value).scalar_subquery())
    values = values.union_all(following.where(values.c.value.is_not(None)))
    return select(values.c.value).where(values.c.value.is_not(None))


class SelectionOptions:
    """Answers "what can be chosen next" for collections and view styles."""

    def __init__(self, sessions: sessionmaker[Session], styles: dict[str, tuple[str, ...]]):
        self.sessions = sessions
        self.styles = styles

    def _collections(self, name: str) -> tuple[list[Collection], tuple[str, ...]]:
        """The collections asked about and the levels they share."""
        if name in self.styles:
            collections = [get_collection(c) for c in self.styles[name]]
            hierarchies = [spec_for(c).hierarchy for c in collections]
            shared: list[str] = []
            for levels in zip(*hierarchies, strict=False):
                if len(set(levels)) != 1:
                    break
                shared.append(levels[0])
            return collections, tuple(shared)
        collection = get_collection(name)
        return [collection], spec_for(collection).hierarchy

    def options(
        self,
        name: str,
        selected: Sequence[str] = (),
        term: str = "",
        page: int = 1,
        pagesize: int = 30,
    ) -> Options:
        """The options of the first unchosen level of collection (or view style) `name`.

        Raises `UnknownCollection`, or `BadQuery` for a bad page, page size or
        selection (too many values, or values no stream has).
        """
        if page < 1:
            raise BadQuery("page must be 1 or more")
        if not 1 <= pagesize <= MAX_PAGESIZE:
            raise BadQuery(f"pagesize must be between 1 and {MAX_PAGESIZE}")
        if len(term) > MAX_TERM:
            raise BadQuery(f"term may be at most {MAX_TERM} characters")
        collections, levels = self._collections(name)
        selected = [str(value) for value in selected]
        if len(selected) > len(levels):
            raise BadQuery(
                f"selected has {counted(len(selected), 'value')}; "
                f"{name} has {counted(len(levels), 'level')} "
                f"({', '.join(levels)})"
            )
        with self.sessions() as session:
            chosen = list(selected)
            while len(chosen) < len(levels):
                level = levels[len(chosen)]
                conditions = dict(zip(levels, chosen, strict=False))
                values = self._distinct(collections, level, conditions)
                first_two: Sequence[str] = session.execute(values.limit(2)).scalars().all()
                if not first_two and chosen:
                    raise BadQuery(
                        "selected: no stream of "
                        + name
                        + " has "
                        + ", ".join(f"{k}={v!r}" for k, v in conditions.items())
                    )
                if len(first_two) == 1:
                    # A level with one value is no choice: take it and go on.
                    chosen.append(first_two[0])
                    continue
                items, total = self._page(
                    session, collections, level, conditions, term, page, pagesize
                )
                return Options(name, level, chosen, items, total, page, pagesize)
            if selected and len(selected) == len(levels):
                # Every level was given: the loop checked none of them.
                conditions = dict(zip(levels, selected, strict=True))
                found = self._distinct(collections, levels[-1], conditions).limit(1)
                if session.execute(found).first() is None:
                    raise BadQuery(
                        "selected: no stream of "
                        + name
                        + " has "
                        + ", ".join(f"{k}={v!r}" for k, v in conditions.items())
                    )
        splits = []
        if len(collections) == 1:
            splits = [
                SplitChoice(s.keyword, (SPLIT, ALL, *sorted(s.labels)))
                for s in spec_for(collections[0]).splits
            ]
        return Options(name, None, chosen, [], 0, page, pagesize, splits)

    def _distinct(
        self, collections: Sequence[Collection], level: str, conditions: dict[str, str]
    ) -> Select[Any]:
        selects = []
        for collection in collections:
            table = property_table(collection)
            if not conditions and level == collection.property_names[0]:
                selects.append(_skip_scan(table, level))
                continue
            selects.append(
                select(table.c[level].label("value"))
                .where(*(table.c[k] == v for k, v in conditions.items()))
                .distinct()
            )
        if len(selects) == 1:
            return selects[0].order_by(literal_column("value"))
        values = union(*selects).subquery()
        return select(values.c.value).order_by(values.c.value)

    def _page(
        self,
        session: Session,
        collections: Sequence[Collection],
        level: str,
        conditions: dict[str, str],
        term: str,
        page: int,
        pagesize: int,
    ) -> tuple[list[Option], int]:
        values = self._distinct(collections, level, conditions).subquery()
        column = values.c.value
        query = select(column, func.count().over().label("total"))
        if term:
            query = query.where(column.icontains(term, autoescape=True))
        rows = session.execute(
            query.order_by(column).limit(pagesize).offset((page - 1) * pagesize)
        ).all()
        if rows:
            total = rows[0].total
        else:
            # Past the last page: the window function saw no rows, so count apart.
            counted = select(func.count()).select_from(values)
            if term:
                counted = counted.where(column.icontains(term, autoescape=True))
            total = session.scalar(counted) or 0
        return [Option(row.value, row.value) for row in rows], total
