"""The app's request class: what views read from every request, as properties of the class.

Pyramid's ``add_request_method(..., reify=True)`` adds a property by making,
on every request, a new class derived from the request's class with those
properties (a `type()` call and zope.interface's bookkeeping: about 30 us of
CPU a request, 5 % of an API page). Defined here on the class once, they cost
nothing until read, and are read from the registry as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramid.decorator import reify
from pyramid.request import Request

if TYPE_CHECKING:
    from ampweb.accounts import UserRegistry
    from ampweb.validation import Parameters
    from ampy import Ampy


class AppRequest(Request):
    """The request every view of the app gets (`ampweb.configure` sets it as the factory)."""

    @reify
    def ampy(self) -> Ampy:
        """The query library, built once with the app."""
        return self.registry["ampy"]

    @reify
    def users(self) -> UserRegistry:
        """The accounts: users, roles, API tokens."""
        return self.registry["users"]

    @reify
    def import_map(self) -> str:
        """The page's import map as JSON safe inside a <script> element (`ampweb.assets`)."""
        from ampweb.assets import import_map

        return import_map(self)

    @reify
    def openapi(self) -> Parameters:
        """The request's parameters as the OpenAPI document types them (`ampweb.validation`);
        empty for a request whose route the document does not describe."""
        from ampweb.validation import Parameters

        return Parameters()
