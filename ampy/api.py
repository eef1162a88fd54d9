"""The `Ampy` object: one entry point for the web app and for scripts."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy.exc import InterfaceError, OperationalError

from ampy.cache import SHORT_LIVED, HistoryCache, make_cache_region
from ampy.event_filters import SavedEventFilters
from ampy.events import (
    MAX_CHANGES,
    EventFilter,
    EventGroupFilter,
    EventReader,
    GroupChanges,
    KeysetPage,
)
from ampy.groups import Group, Line, expand_groups, make_group
from ampy.groups import spec_for as group_spec_for
from ampy.history import DETAILS, HistoryReader, LineHistory, check_range
from ampy.matrix import Matrix, MatrixReader, metrics
from ampy.options import Options, SelectionOptions
from ampy.paths import ViewPaths, check_path_range, read_as_paths, read_ip_paths
from ampy.ratings import RatingStore
from ampy.views import ViewInfo, ViewStore, view_styles
from nntsc.collections import all_collections
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.errors import StoreUnavailable
from nntsc.events.filters import EventFilterSpec
from nntsc.notifications.channels import NotificationRegistry
from nntsc.notifications.delivery import DeliverySettings, send_test
from nntsc.notifications.guard import WebhookPolicy
from nntsc.schedules.registry import ScheduleRegistry
from nntsc.store.sites import SiteRegistry
from nntsc.store.streams import Page, StreamInfo

__all__ = ["DETAILS", "Ampy", "LineHistory", "ViewLegend"]


@dataclass(frozen=True)
class ViewLegend:
    """A view with its groups and the lines they expand to (labels, colours, streams)."""

    view_id: str
    style: str
    groups: list[str]
    lines: list[Line]

    def as_dict(self) -> dict[str, Any]:
        return {
            "view_id": self.view_id,
            "style": self.style,
            "groups": self.groups,
            "lines": [line.as_dict() for line in self.lines],
        }


log = logging.getLogger(__name__)

#: Attempts at a call whose SQL connection failed, and the pause between them.
SQL_ATTEMPTS = 2
SQL_RETRY_PAUSE = 0.2

_Result = TypeVar("_Result")


def _reaching_stores(method: Callable[..., _Result]) -> Callable[..., _Result]:
    """Retry a call once when its SQL connection fails, then raise `StoreUnavailable`.

    A dropped pooled connection is replaced on the retry; a database that is
    down answers within a bounded time with the cause, never by blocking.
    """

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> _Result:
        for attempt in range(SQL_ATTEMPTS):
            try:
                return method(*args, **kwargs)
            except (OperationalError, InterfaceError) as error:
                if attempt + 1 == SQL_ATTEMPTS:
                    # The cause stays on the exception (and in the log), not in
                    # the message clients see, which would name internal hosts.
                    log.warning("SQL database unavailable: %s", error.orig)
                    raise StoreUnavailable("the SQL database is unavailable") from error
                time.sleep(SQL_RETRY_PAUSE)
        raise AssertionError("unreachable")

    return call


class Ampy:
    """Queries over the configured stores. Build one per process from settings.

    Every failure is an exception from `ampy.errors`; nothing returns
    ``None`` to mean it failed.
    """

    def __init__(self, services: Services, cache_url: str | None = None) -> None:
        """Queries over `services`, cached per `cache_url` (default: setting ``ampy.cache_url``)."""
        self.services = services
        settings = services.settings
        url = cache_url or settings.get("ampy.cache_url", "memory://")
        namespace = settings.get("ampy.cache_namespace", "ampy")
        region = make_cache_region(url, namespace)
        # In memory one bounded LRU serves both; on Redis short-lived entries
        # (blocks reaching "now", answers about recent data) expire sooner.
        recent = (
            make_cache_region(url, namespace, SHORT_LIVED)
            if url.startswith(("redis:", "rediss:"))
            else None
        )
        self.cache = HistoryCache(region, recent)
        self.views = ViewStore(services.sessionmaker)
        self.event_reader = EventReader(services.read_engine, services.sessionmaker)
        self.event_filters_store = SavedEventFilters(services.sessionmaker)
        self.ratings = RatingStore(services.sessionmaker)
        self.selection = SelectionOptions(services.sessionmaker, view_styles())
        self.reader = HistoryReader(services.timeseries, self.cache)
        self.matrices = MatrixReader(
            services.sessionmaker,
            services.timeseries,
            self.cache,
            services.sites.mesh_members,
            self.views.create_many,
        )

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> Ampy:
        return cls(Services.from_settings(settings))

    def close(self) -> None:
        self.services.close()

    @property
    def sites(self) -> SiteRegistry:
        """Sites and meshes: `nntsc.store.sites.SiteRegistry`."""
        return self.services.sites

    @functools.cached_property
    def notifications(self) -> NotificationRegistry:
        """Notification channels, subscriptions and the delivery log (`docs/events.md`).

        Every call takes the acting user as `owner` (``None``: an admin, anyone's)::

            channel = ampy.notifications.create_channel(
                "alice", {"name": "ops", "kind": "webhook", "url": "https://...", "secret": "..."}
            )
            ampy.notifications.create_subscription(filter_id, channel["id"], "alice")
            ampy.send_test_notification(channel["id"], "alice")
            ampy.notifications.deliveries("alice", pagesize=20).items
        """
        return NotificationRegistry(
            self.services.sessionmaker, WebhookPolicy.from_settings(self.services.settings)
        )

    def send_test_notification(self, channel_id: int, owner: str | None) -> dict[str, Any]:
        """Send a test message on `owner`'s channel now (one attempt); its delivery log row.

        ``status`` is ``sent``, or ``failed`` with the ``error``; raises
        `UnknownChannel` for a channel that is not `owner`'s.
        """
        self.notifications.channel_for_sending(channel_id, owner)
        settings = DeliverySettings.from_settings(self.services.settings)
        return send_test(self.services.sessionmaker, channel_id, settings)

    @property
    def schedules(self) -> ScheduleRegistry:
        """Test schedules of sites and meshes: `nntsc.schedules.registry.ScheduleRegistry`.

        `amplet_schedule` gives a site's schedule as amplet2 fetches it.
        """
        return self.services.schedules

    def amplet_schedule(self, site: str) -> tuple[str, int]:
        """Site `site`'s schedule as amplet2's YAML, and when it last changed (Unix seconds).

        Raises `UnknownSite`.
        """
        from nntsc.schedules.amplet import render

        schedule = self.services.schedules.site_schedule(site)
        return render(schedule), schedule.modified

    # -- collections and streams ---------------------------------------------

    def collections(self) -> list[dict[str, Any]]:
        """Every collection: name, view style, description and its stream properties."""
        return [
            {
                "name": c.name,
                "title": c.title or c.name,
                "view_style": c.view_style,
                "description": c.description,
                "properties": list(c.property_names),
            }
            for c in all_collections()
        ]

    def view_styles(self) -> dict[str, tuple[str, ...]]:
        """Every view style and the collections its graphs may hold."""
        return view_styles()

    @_reaching_stores
    def find_streams(
        self,
        collection: str,
        filters: Mapping[str, str] | None = None,
        page: int = 1,
        pagesize: int = 100,
        term: str = "",
    ) -> Page:
        """Streams of `collection` matching `filters` (and containing `term`), paginated."""
        return self.services.streams.find(
            get_collection(collection), filters, page, pagesize, term=term
        )

    @_reaching_stores
    def stream(self, stream_id: int) -> StreamInfo:
        """One stream; raises `UnknownStream`."""
        return self.services.streams.get(stream_id)

    @_reaching_stores
    def options(
        self,
        collection: str,
        selected: Sequence[str] = (),
        term: str = "",
        page: int = 1,
        pagesize: int = 30,
    ) -> Options:
        """The next unchosen selection level of a collection or view style, one page of it."""
        return self.selection.options(collection, selected, term, page, pagesize)

    # -- groups and views ------------------------------------------------------

    def group(
        self, collection: str, values: Mapping[str, str], splits: Mapping[str, str] | None = None
    ) -> Group:
        """A group from chosen values; raises `BadGroupDescription`."""
        return make_group(collection, values, splits)

    @_reaching_stores
    def view_of_stream(self, stream_id: int) -> tuple[str, str]:
        """The (style, view id) of a graph of one stream: its group, split to its own line.

        Raises `UnknownStream`.
        """
        stream = self.services.streams.get(stream_id)
        spec = group_spec_for(stream.collection)
        group = make_group(
            stream.collection,
            {name: stream.properties[name] for name in spec.hierarchy},
            {split.keyword: split.key_of(stream.properties) for split in spec.splits},
        )
        style = get_collection(stream.collection).view_style
        return style, self.views.create(style, [group])

    @_reaching_stores
    def create_view(self, style: str, groups: Sequence[Group | str]) -> str:
        """The id of the view of `style` with `groups` (descriptions or `Group`s)."""
        return self.views.create(style, groups)

    @_reaching_stores
    def add_group(self, view_id: str, group: Group | str) -> str:
        return self.views.add_group(view_id, group)

    @_reaching_stores
    def remove_group(self, view_id: str, group: Group | str) -> str:
        return self.views.remove_group(view_id, group)

    @_reaching_stores
    def view(self, view_id: str) -> ViewInfo:
        """The view `view_id`; raises `UnknownView`."""
        return self.views.get(view_id)

    @_reaching_stores
    def legend(self, view_id: str) -> ViewLegend:
        """The view's groups and lines: labels, colours and the streams of each line."""
        view = self.views.get(view_id)
        return ViewLegend(
            view.view_id,
            view.style,
            view.descriptions,
            expand_groups(self.services.streams, view.groups),
        )

    @_reaching_stores
    def view_history(
        self,
        view_id: str,
        start: int,
        end: int,
        detail: str = "full",
        binsize: int | None = None,
    ) -> list[LineHistory]:
        """Each line's history over [start, end) at the `detail` level (see `ampy.history`)."""
        check_range(start, end)
        legend = self.legend(view_id)
        return [self.reader.line(line, start, end, detail, binsize) for line in legend.lines]

    @_reaching_stores
    def history(
        self,
        collection: str,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        detail: str = "full",
        binsize: int | None = None,
    ) -> LineHistory:
        """The streams' rows aggregated together over [start, end), in graph units, as one line.

        Without `binsize`, one is chosen for about 300 points (see
        `choose_binsize`), never below the collection's minimum.
        """
        return self.reader.streams("streams", collection, stream_ids, start, end, detail, binsize)

    @_reaching_stores
    def raw(
        self, collection: str, stream_ids: Sequence[int], start: int, end: int
    ) -> tuple[list[str], list[list[Any]]]:
        """Raw rows as stored (stored units), columns ``stream_id, timestamp, fields...``."""
        check_range(start, end)
        coll = get_collection(collection)
        rows = self.services.timeseries.raw(coll, stream_ids, start, end)
        names = ["stream_id", "timestamp", *coll.field_names]
        return names, [
            [row.stream_id, row.timestamp, *(row.values.get(f) for f in coll.field_names)]
            for row in rows
        ]

    # -- matrix ----------------------------------------------------------------

    def matrix_metrics(self) -> list[dict[str, str]]:
        """The matrix tabs: name, label, unit and the view style a cell opens."""
        return [
            {"name": m.name, "label": m.label, "unit": m.unit, "style": m.style}
            for m in metrics().values()
        ]

    @_reaching_stores
    def matrix(self, metric: str, src_mesh: str, dst_mesh: str, mode: str = "absolute") -> Matrix:
        """One cell per (source, destination, split) of two meshes; see `ampy.matrix`."""
        return self.matrices.matrix(metric, src_mesh, dst_mesh, mode)

    @_reaching_stores
    def tooltip(self, metric: str, source: str, destination: str) -> dict[str, Any]:
        """A pair's 24-hour sparkline and its 1, 6 and 24 hour values."""
        return self.matrices.tooltip(metric, source, destination)

    def ping(self) -> dict[str, str]:
        """Reach every store; the answer names each and says ``ok`` or what failed."""
        return self.services.health()

    # -- traceroute paths --------------------------------------------------------

    @_reaching_stores
    def paths(self, view_id: str, start: int, end: int) -> ViewPaths:
        """Per line of a traceroute view, the distinct IP paths of [start, end) and their counts.

        At most `ampy.paths.MAX_PATH_RANGE` (31 days): raises `BadTimeRange`
        beyond it, `UnknownView`, or `BadQuery` for lines without IP paths.
        """
        check_path_range(start, end)
        legend = self.legend(view_id)
        lines = [read_ip_paths(self.services, line, start, end) for line in legend.lines]
        return ViewPaths(legend.view_id, legend.style, "ip", start, end, lines)

    @_reaching_stores
    def as_paths(self, view_id: str, start: int, end: int) -> ViewPaths:
        """Per line of a traceroute or AS path view, its AS paths and their changes in [start, end).

        Raises as `paths` does.
        """
        check_path_range(start, end)
        legend = self.legend(view_id)
        lines = [read_as_paths(self.services, line, start, end) for line in legend.lines]
        return ViewPaths(legend.view_id, legend.style, "as", start, end, lines)

    # -- events ------------------------------------------------------------------------

    @_reaching_stores
    def events(
        self, filters: EventFilter | None = None, cursor: str | None = None, pagesize: int = 50
    ) -> KeysetPage:
        """A page of events, newest onset first; pass the answer's `next_cursor` for the next.

        With `filters.view_id`, the events of the streams of that view's lines
        (the markers of a graph page); raises `UnknownView` for a view that is
        not stored. Raises `BadCursor` for a cursor no answer gave, `BadValue`
        for a bad range or size.
        """
        filters = filters or EventFilter()
        if filters.view_id is not None:
            view = self.views.get(filters.view_id)
            streams = {
                stream_id
                for line in expand_groups(self.services.streams, view.groups)
                for stream_id in line.stream_ids
            }
            if filters.stream_ids:
                streams &= set(filters.stream_ids)
            if not streams:
                # A view without streams has no events (no stream filter would mean all).
                return KeysetPage([], pagesize, None)
            filters = replace(filters, view_id=None, stream_ids=sorted(streams))
        return self.event_reader.events(filters, cursor, pagesize)

    @_reaching_stores
    def event(self, event_id: int) -> dict[str, Any]:
        """One event; raises `UnknownEvent`."""
        return self.event_reader.event(event_id)

    @_reaching_stores
    def event_groups(
        self,
        filters: EventGroupFilter | None = None,
        cursor: str | None = None,
        pagesize: int = 20,
    ) -> KeysetPage:
        """A page of event groups (live ones unless `filters.status` says), newest first."""
        return self.event_reader.groups(filters or EventGroupFilter(), cursor, pagesize)

    @_reaching_stores
    def event_groups_with_events(
        self,
        filters: EventGroupFilter | None = None,
        cursor: str | None = None,
        pagesize: int = 20,
        events_per_group: int = 50,
    ) -> KeysetPage:
        """`event_groups`, each group with ``events``: those it stands for, oldest first.

        Two queries a page (the groups, then all their events), whatever the
        page size; each group lists at most `events_per_group` events (its
        ``event_count`` says how many it has).
        """
        page = self.event_reader.groups(filters or EventGroupFilter(), cursor, pagesize)
        found = self.event_reader.groups_events(
            [item["id"] for item in page.items], events_per_group
        )
        for item in page.items:
            item["events"] = found[item["id"]]
        return page

    @_reaching_stores
    def event_change_serial(self) -> int:
        """The number of the newest change to event groups (0 before any); one index probe."""
        return self.event_reader.change_serial()

    @_reaching_stores
    def event_group_changes(
        self,
        filters: EventGroupFilter | None = None,
        since: int = 0,
        limit: int = MAX_CHANGES,
        events_per_group: int = 50,
    ) -> GroupChanges:
        """What became of the groups after change `since`, through `filters`.

        The changed groups the filter shows, each with ``events`` as
        `event_groups_with_events` gives them, and the ids of those it no
        longer shows (merged, or changed out of the filter). Pass the
        answer's ``serial`` as `since` next time; a self-updating list
        starts from `event_change_serial`, read before its first page.
        """
        changes = self.event_reader.group_changes(filters or EventGroupFilter(), since, limit)
        found = self.event_reader.groups_events(
            [group["id"] for group in changes.groups], events_per_group
        )
        for group in changes.groups:
            group["events"] = found[group["id"]]
        return changes

    @_reaching_stores
    def event_group(self, group_id: int) -> dict[str, Any]:
        """One event group with its events and their streams; raises `UnknownEventGroup`."""
        return self.event_reader.group(group_id, self.services.streams)

    @_reaching_stores
    def event_frequency(self, spec: EventFilterSpec | None = None) -> dict[str, Any]:
        """Events per 30 minutes over the filter's range: ``{start, end, binsize, times, counts}``.

        The events of the live groups `spec` selects that meet its event
        conditions, each counted once (`EventReader.frequency`).
        """
        return self.event_reader.frequency(spec or EventFilterSpec())

    @_reaching_stores
    def common_event_streams(
        self, spec: EventFilterSpec | None = None, limit: int = 10
    ) -> list[dict[str, Any]]:
        """The streams with the most events in the last 24 h, most first, with their titles.

        Each: ``{stream_id, collection, title, properties, events, max_severity,
        last_onset}``; `spec`'s event conditions apply (`EventReader.common_streams`).
        """
        found = self.event_reader.common_streams(spec or EventFilterSpec(), limit=limit)
        by_collection: dict[str, list[int]] = {}
        for item in found:
            by_collection.setdefault(item["collection"], []).append(item["stream_id"])
        properties: dict[int, dict[str, str]] = {}
        for name, ids in by_collection.items():
            properties.update(self.services.streams.properties_of(get_collection(name), ids))
        for item in found:
            values = properties.get(item["stream_id"], {})
            item["properties"] = values
            try:
                spec_of = group_spec_for(item["collection"])
                # A stream is one line of its group: its split labels ("IPv4")
                # tell apart the streams of one group.
                lines = " ".join(
                    split.label(split.key_of(values))
                    for split in spec_of.splits
                    if split.property in values
                )
                item["title"] = f"{spec_of.group_title(values)} {lines}".rstrip()
            except KeyError:
                # A stream without every property its collection's title names.
                item["title"] = f"{item['collection']} stream {item['stream_id']}"
        return found

    # -- saved event filters ------------------------------------------------------------

    @_reaching_stores
    def event_filters(self, username: str) -> list[dict[str, Any]]:
        """`username`'s saved dashboard filters, by name (`ampy.event_filters`)."""
        return self.event_filters_store.list(username)

    @_reaching_stores
    def event_filter(self, username: str, filter_id: int) -> dict[str, Any]:
        """One of `username`'s saved filters; raises `UnknownEventFilter` for anyone else's."""
        return self.event_filters_store.get(username, filter_id)

    @_reaching_stores
    def save_event_filter(
        self, username: str, name: str, spec: EventFilterSpec, notify: bool = False
    ) -> dict[str, Any]:
        """Save a filter under `name`; raises `AlreadyExists` when the user has that name."""
        return self.event_filters_store.create(username, name, spec, notify)

    @_reaching_stores
    def update_event_filter(
        self,
        username: str,
        filter_id: int,
        name: str | None = None,
        spec: EventFilterSpec | None = None,
        notify: bool | None = None,
    ) -> dict[str, Any]:
        """Change what is given of one of `username`'s saved filters."""
        return self.event_filters_store.update(username, filter_id, name, spec, notify)

    @_reaching_stores
    def delete_event_filter(self, username: str, filter_id: int) -> None:
        """Delete one of `username`'s saved filters; raises `UnknownEventFilter`."""
        self.event_filters_store.delete(username, filter_id)

    @_reaching_stores
    def rate_event(
        self, event_id: int, username: str, useful: bool, reason: str = "", comment: str = ""
    ) -> dict[str, Any]:
        """Store `username`'s rating of an event, replacing theirs; raises `UnknownEvent`.

        `reason` is empty or a code of `ampy.ratings.REASONS` (`BadValue` otherwise).
        """
        return self.ratings.rate(username, useful, reason, comment, event_id=event_id)

    @_reaching_stores
    def rate_event_group(
        self, group_id: int, username: str, useful: bool, reason: str = "", comment: str = ""
    ) -> dict[str, Any]:
        """Store `username`'s rating of a group, replacing theirs; raises `UnknownEventGroup`."""
        return self.ratings.rate(username, useful, reason, comment, group_id=group_id)

    @_reaching_stores
    def rating_summary(
        self, event_ids: Sequence[int], group_ids: Sequence[int], username: str | None = None
    ) -> dict[str, Any]:
        """Counts of useful / not useful per event and group, and `username`'s own ratings."""
        return self.ratings.summary(event_ids, group_ids, username)

    def ratings_export(
        self,
        start: int | None = None,
        end: int | None = None,
        *,
        viewer: str | None = None,
        every_name: bool = True,
    ) -> Iterator[list[Any]]:
        """Every rating made in [start, end) and what it rated: rows of `ratings.EXPORT_COLUMNS`.

        Raters' names only when `every_name`, else only `viewer`'s own; ``rater``
        tells raters apart either way (`RatingStore.export`).
        """
        return self.ratings.export(start, end, viewer=viewer, every_name=every_name)
