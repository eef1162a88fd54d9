"""Every URL of the app, with dotted route names, and the mapper that finds a request's route."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.interfaces import IRoutesMapper
from pyramid.request import Request
from pyramid.urldispatch import Route
from pyramid.urldispatch import RoutesMapper as PyramidRoutesMapper

#: A site's or mesh's name as the rest of a path, unless "/schedule" follows
#: its first segment (then the path is about a schedule: see the routes below).
OWN_NAME = "{name:(?!.+/schedule(?:/|$)).+}"


class RoutesMapper(PyramidRoutesMapper):
    """Pyramid's route mapper, with the routes whose pattern is a fixed path found by that path.

    Pyramid tries every route's pattern in order until one matches: the API's
    routes come after 50 others (a regular expression each, 6 % of the CPU of
    ``GET /api/v1/event-groups``). A route whose pattern holds no placeholder
    and that no earlier route matches (nor has predicates) is the first match
    of its path whatever the order, so it is looked up in a dict first; any
    other path is matched in order as before, so the route found is always
    the one Pyramid's mapper finds.
    """

    def __init__(self) -> None:
        super().__init__()
        self._fixed: dict[str, Route] | None = None

    def connect(self, *args: Any, **kwargs: Any) -> Route:
        self._fixed = None
        return super().connect(*args, **kwargs)

    def fixed_paths(self) -> dict[str, Route]:
        """Path -> its route, for each route found by its path alone (see the class)."""
        fixed: dict[str, Route] = {}
        for index, route in enumerate(self.routelist):
            path = route.pattern if route.pattern.startswith("/") else "/" + route.pattern
            if route.predicates or "{" in path or "*" in path or path in fixed:
                continue
            if route.match(path) != {}:
                continue
            if any(earlier.match(path) is not None for earlier in self.routelist[:index]):
                continue
            fixed[path] = route
        return fixed

    def __call__(self, request: Request) -> dict[str, Any]:
        fixed = self._fixed
        if fixed is None:
            fixed = self._fixed = self.fixed_paths()
        try:
            route = fixed.get(request.path_info or "/")
        except (KeyError, UnicodeDecodeError):
            route = None  # Pyramid's mapper answers these as it always has
        if route is not None:
            return {"match": {}, "route": route}
        return super().__call__(request)


def use_mapper(config: Configurator) -> None:
    """Make `RoutesMapper` the app's (before any route is added)."""
    config.registry.registerUtility(RoutesMapper(), IRoutesMapper)


def includeme(config: Configurator) -> None:
    config.add_route("index", "/")
    config.add_route("graph.stream", "/graph/{stream_id:\\d+}")
    config.add_route("graph.stream.range", "/graph/{stream_id:\\d+}/{start:\\d+}/{end:\\d+}")

    # Graph pages: the URL holds the whole state (style, view, range).
    config.add_route("view", "/view/{style}/{view_id}")
    config.add_route("view.range", "/view/{style}/{view_id}/{start:\\d+}/{end:\\d+}")
    config.add_route("matrix.index", "/matrix")
    # Mesh names may hold "/" too: the two are the rest of the path, which
    # the page splits where both halves are meshes (matrix_page.mesh_pairs).
    config.add_route("matrix.page", "/matrix/{metric}/{src_mesh:.+?}/{dst_mesh:.+}")
    config.add_route("events.index", "/events")
    config.add_route("events.live", "/events/live")

    # Accounts and administration.
    config.add_route("auth.login", "/login")
    config.add_route("auth.logout", "/logout")
    config.add_route("admin.index", "/admin")
    config.add_route("admin.users", "/admin/users")
    config.add_route("admin.sites", "/admin/sites")
    config.add_route("admin.meshes", "/admin/meshes")
    config.add_route("admin.tokens", "/admin/tokens")
    config.add_route("admin.notifications", "/admin/notifications")
    config.add_route("admin.notifications.log", "/admin/notifications/log")

    # The schedule amplet2 monitors fetch: readable without logging in, as they do not.
    # The rest of the path is the site's name, which may hold "/" (nz/akl): amplet2
    # asks for /yaml/nz/akl, and /yaml/nz%2Fakl reaches the same site.
    config.add_route("amplet.schedule", "/yaml/{ampname:.+}")

    config.add_route("health", "/healthz")
    config.add_route("metrics", "/metrics")

    config.add_route("api.v1.collections", "/api/v1/collections")
    config.add_route("api.v1.collection.streams", "/api/v1/collections/{collection}/streams")
    config.add_route("api.v1.stream", "/api/v1/streams/{stream_id:\\d+}")
    config.add_route("api.v1.stream.data", "/api/v1/streams/{stream_id:\\d+}/data")
    config.add_route("api.v1.openapi", "/api/v1/openapi.json")
    config.add_route("api.v1.docs", "/api/v1/docs")
    config.add_route("api.v1.styles", "/api/v1/styles")
    config.add_route("api.v1.collection.options", "/api/v1/collections/{collection}/options")
    config.add_route("api.v1.views", "/api/v1/views")
    config.add_route("api.v1.view", "/api/v1/views/{view_id}")
    config.add_route("api.v1.view.history", "/api/v1/views/{view_id}/history")
    config.add_route("api.v1.view.paths", "/api/v1/views/{view_id}/paths")
    config.add_route("api.v1.matrix.metrics", "/api/v1/matrix")
    config.add_route("api.v1.matrix", "/api/v1/matrix/{metric}")
    config.add_route("api.v1.matrix.tooltip", "/api/v1/matrix/{metric}/tooltip")
    # A site's or mesh's name may hold "/" (nz/akl), so it is the rest of the
    # path (/api/v1/sites/nz/akl), written as it is or with %2F (the two reach
    # the router alike). Where segments follow it, the name ends at the first
    # "/schedule" that the rest of the path fits, and a path with "/schedule"
    # after its first segment is never a site's or mesh's own: so
    # /api/v1/sites/nz/akl/schedule is nz/akl's schedule, not a site
    # "nz/akl/schedule" (the API creates no names with "/schedule" in them).
    # Schedule items of a site or a mesh (owner: sites or meshes), and amplet2's tests.
    config.add_route("api.v1.schedule_tests", "/api/v1/schedule-tests")
    schedule = "/api/v1/{owner:sites|meshes}/{name:.+?}/schedule"
    config.add_route("api.v1.schedule", schedule)
    config.add_route("api.v1.schedule.item", schedule + "/{item_id:\\d+}")
    config.add_route("api.v1.schedule.status", schedule + "/{item_id:\\d+}/status")
    config.add_route("api.v1.schedule.destinations", schedule + "/{item_id:\\d+}/destinations")
    config.add_route(
        "api.v1.schedule.destination",
        schedule + "/{item_id:\\d+}/destinations/{kind:sites|meshes}/{destination:.+}",
    )
    config.add_route("api.v1.sites", "/api/v1/sites")
    config.add_route("api.v1.site", "/api/v1/sites/" + OWN_NAME)
    config.add_route("api.v1.meshes", "/api/v1/meshes")
    config.add_route("api.v1.mesh", "/api/v1/meshes/" + OWN_NAME)
    config.add_route("api.v1.events", "/api/v1/events")
    config.add_route("api.v1.event", "/api/v1/events/{event_id:\\d+}")
    config.add_route("api.v1.event.rating", "/api/v1/events/{event_id:\\d+}/rating")
    config.add_route("api.v1.events.frequency", "/api/v1/events/frequency")
    config.add_route("api.v1.events.common", "/api/v1/events/common")
    config.add_route("api.v1.event_filters", "/api/v1/event-filters")
    config.add_route("api.v1.event_filter", "/api/v1/event-filters/{filter_id:\\d+}")
    config.add_route("api.v1.event_groups", "/api/v1/event-groups")
    config.add_route("api.v1.event_group", "/api/v1/event-groups/{group_id:\\d+}")
    config.add_route("api.v1.event_group.rating", "/api/v1/event-groups/{group_id:\\d+}/rating")
    config.add_route("api.v1.event_ratings.summary", "/api/v1/event-ratings/summary")
    config.add_route("api.v1.event_ratings.csv", "/api/v1/event-ratings.csv")
    config.add_route("api.v1.notification_channels", "/api/v1/notification-channels")
    config.add_route(
        "api.v1.notification_channel", "/api/v1/notification-channels/{channel_id:\\d+}"
    )
    config.add_route(
        "api.v1.notification_channel.test",
        "/api/v1/notification-channels/{channel_id:\\d+}/test",
    )
    config.add_route("api.v1.notification_subscriptions", "/api/v1/notification-subscriptions")
    config.add_route(
        "api.v1.notification_subscription",
        "/api/v1/notification-subscriptions/{subscription_id:\\d+}",
    )
    config.add_route("api.v1.notification_deliveries", "/api/v1/notification-deliveries")
