"""Sites and meshes on PostgreSQL: the SQLite tests again, and what only PostgreSQL does.

Each test gets its own PostgreSQL database (the `postgres_url` fixture),
migrated to head.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from nntsc.errors import UnknownSite
from nntsc.store.sites import SiteRegistry
from tests.conftest import make_services

# The behaviour is the same on every SQL database, so the SQLite tests run here
# as they are: pytest collects them in this module, where `registry` and
# `sql_url` below give them a PostgreSQL database instead.
from tests.unit.test_sites import (  # noqa: F401
    test_add_and_remove_members,
    test_bad_values_raise_naming_the_field,
    test_create_and_get_site,
    test_create_existing_site_or_mesh_raises,
    test_create_mesh_with_members_and_read_it_back,
    test_delete_mesh_keeps_its_sites,
    test_delete_site_removes_its_memberships,
    test_demo_data_command_twice_leaves_the_same_sites,
    test_list_meshes_filters_pages_and_includes_members,
    test_list_sites_pages_in_order_with_a_term,
    test_names_may_be_addresses_and_host_names,
    test_saving_changed_definitions_updates_in_place,
    test_saving_demo_definitions_twice_changes_nothing,
    test_term_wildcards_match_themselves,
    test_unknown_member_changes_nothing,
    test_unknown_names_raise,
    test_update_mesh_replaces_fields_and_members,
    test_update_site_changes_only_given_fields,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def sql_url(postgres_url: str) -> str:
    """This test's own PostgreSQL database (migrated by whoever uses it)."""
    return postgres_url


@pytest.fixture
def registry(postgres_url: str) -> Iterator[SiteRegistry]:
    """A site registry on a fresh, migrated PostgreSQL database."""
    services = make_services(postgres_url)
    try:
        yield services.sites
    finally:
        services.close()


def test_term_ignores_case_beyond_ascii(registry: SiteRegistry) -> None:
    # PostgreSQL's lower() knows every letter; SQLite's only knows ASCII ones.
    registry.create_site("amp-sao", long_name="São Paulo amplet")
    registry.create_site("amp-sea", long_name="Seattle amplet")
    assert [site.name for site in registry.list_sites("SÃO").items] == ["amp-sao"]


def test_foreign_keys_cascade_a_site_deleted_outside_the_registry(
    registry: SiteRegistry,
) -> None:
    registry.create_site("a")
    registry.create_site("b")
    registry.create_mesh("m", members=["a", "b"])
    # A row deleted by hand (or by another tool) takes its memberships with it.
    with registry.sessions.begin() as session:
        session.execute(text("DELETE FROM sites WHERE name = 'a'"))
    assert registry.mesh_members("m") == ["b"]
    with pytest.raises(UnknownSite):
        registry.add_member("m", "a")


def test_services_hand_out_one_registry(postgres_url: str) -> None:
    services = make_services(postgres_url)
    try:
        assert services.sites is services.sites
        services.sites.create_site("a", addresses=["192.0.2.1"])
        assert services.sites.get_site("a").addresses == ("192.0.2.1",)
    finally:
        services.close()
