"""Schedule items on PostgreSQL: the SQLite tests of the registry again, and its foreign keys.

Each test gets its own PostgreSQL database (the `postgres_url` fixture), migrated to head.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from nntsc.config import Services

# The registry behaves alike on every SQL database: pytest collects these
# SQLite tests here too, where `sql_url` below gives them PostgreSQL (those
# that only check input before any query stay on SQLite, to keep this short).
from tests.unit.test_schedules import (  # noqa: F401
    schedules,
    services,
    test_a_site_in_two_meshes_gets_its_own_and_both_meshes_items,
    test_changes_move_the_time_of_exactly_the_sites_they_touch,
    test_create_read_update_and_delete,
    test_deleting_a_mesh_or_site_deletes_their_items,
    test_destination_sites_may_name_an_address_family_and_count,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def sql_url(postgres_url: str) -> str:
    return postgres_url


def test_an_item_has_exactly_one_source(services: Services, schedules) -> None:  # noqa: F811
    with pytest.raises(IntegrityError), services.sessionmaker.begin() as session:
        session.execute(
            text(
                "INSERT INTO schedule_items (test, source_site, source_mesh, frequency, start,"
                ' "end", period, mesh_offset, args, enabled, modified) VALUES'
                " ('icmp', 'amp-a', 'mesh-1', 60, 0, 86400, 'day', 0, '', true, 0)"
            )
        )
