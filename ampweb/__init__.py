"""ampweb: the Pyramid web app (pages, JSON/CSV API, health and metrics).

Pyramid and ampy are imported when the app is built, not with the package:
nntsc processes load `ampweb.accounts.models` (the accounts' tables, through
the ``nntsc.tables`` entry point) without the web framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.router import Router


def configure(settings: Mapping[str, Any]) -> Configurator:
    """The composition root: every part of the app, in the order they depend on each other."""
    from pyramid.config import Configurator

    from ampweb.request import AppRequest
    from ampweb.routes import use_mapper
    from ampweb.security import csrf_token
    from ampweb.settings import resolve_settings
    from ampy import Ampy, words
    from nntsc.notifications.guard import WebhookPolicy

    # Environment overrides (AMPWEB_TRUSTED_PROXIES, ...) win over the ini file.
    config = Configurator(settings=resolve_settings(settings))
    # Before any route (the static view's too): fixed paths found without trying every pattern.
    use_mapper(config)
    # A bad nntsc.notification_webhook_allow stops the app now, not at the first webhook.
    WebhookPolicy.from_settings(config.get_settings())
    # The query library, built once from the same settings as the collector.
    ampy = Ampy.from_settings(config.get_settings())
    config.registry["ampy"] = ampy
    # request.ampy, .users, .import_map, .openapi: properties of the request's class.
    config.set_request_factory(AppRequest)
    # Expiry in this process when no Celery worker does it (the embedded default).
    ampy.services.start_background()
    # Templates (Jinja2) and static files.
    config.include("pyramid_jinja2")
    config.add_jinja2_renderer(".jinja2")
    config.add_jinja2_search_path("ampweb:templates", name=".jinja2")

    def add_filters() -> None:
        # Counted nouns and articles ("1 server", "an AS path"), as the scripts make them.
        environment = config.get_jinja2_environment(".jinja2")
        environment.filters.update(words.FILTERS)
        # The session's CSRF token for forms and the pages' scripts.
        environment.globals["get_csrf_token"] = csrf_token

    # After the renderer's own action has made the environment.
    config.action(None, add_filters, order=10_000)
    # /static, its URLs versioned by content, and the import map of the pages' modules.
    config.include(".assets")
    # JSON answers written by orjson.
    config.include(".rendering")
    # Who is asking and what they may do: sessions, API tokens, roles, CSRF.
    config.include("ampweb.security")
    # Checks every request passes before routing (a path or query that is not UTF-8: 400).
    config.include(".tweens")
    # Requests counted and timed by route, and the rollup backlog, for /metrics.
    config.include(".metrics")
    # Parameters and bodies checked against the OpenAPI document before each view.
    config.include(".validation")
    # URLs, then the views that answer them and the mapping of errors to statuses.
    config.include(".routes")
    config.scan(".views")
    return config


def main(global_config: Mapping[str, Any], **settings: Any) -> Router:
    """PasteDeploy entry point used by `pserve`."""
    return configure(settings).make_wsgi_app()
