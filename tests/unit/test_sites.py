"""Sites and meshes on SQLite: CRUD, paging in SQL, membership, validation, the demo's meshes.

Each test gets its own SQLite file, migrated to head. The registry runs both
on an engine with foreign keys switched on (as `Services` makes it) and on a
plain engine without them, since deleting a site or a mesh must not depend on
SQLite cascading the delete. `tests/integration/test_sites_postgres.py` runs
the same tests on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from nntsc.cli import main
from nntsc.demo import (
    DEMO_MONITOR_MESH,
    DEMO_TARGET_MESH,
    DNS_RESOLVER,
    SimulatedMesh,
    demo_sites_and_meshes,
)
from nntsc.errors import AlreadyExists, BadValue, NntscError, UnknownMesh, UnknownSite
from nntsc.store.models import MeshMember
from nntsc.store.schema import upgrade_sql
from nntsc.store.sites import MeshInfo, SiteInfo, SiteRegistry
from tests.conftest import copy_migrated_sqlite, make_services

DEMO_END = 1_790_000_000


@pytest.fixture
def sql_url(tmp_path: Path) -> str:
    """A new SQLite database file for one test (migrated by whoever uses it)."""
    return f"sqlite:///{tmp_path}/sites.sqlite"


@pytest.fixture(params=["foreign_keys_on", "foreign_keys_off"])
def registry(request: pytest.FixtureRequest, sql_url: str) -> Iterator[SiteRegistry]:
    """A site registry on a fresh, migrated SQLite database."""
    if request.param == "foreign_keys_on":
        services = make_services(sql_url)
        try:
            yield services.sites
        finally:
            services.close()
        return
    copy_migrated_sqlite(sql_url, registered=False)
    engine = create_engine(sql_url)
    try:
        upgrade_sql(engine)  # at head already (a copy of the session's migrated file)
        yield SiteRegistry(sessionmaker(engine, expire_on_commit=False))
    finally:
        engine.dispose()


def _membership_rows(registry: SiteRegistry) -> int:
    with registry.sessions() as session:
        return session.scalar(select(func.count()).select_from(MeshMember)) or 0


# -- sites --------------------------------------------------------------------------


def test_create_and_get_site(registry: SiteRegistry) -> None:
    created = registry.create_site(
        "amp-akl",
        long_name="Auckland amplet",
        location="Auckland, New Zealand",
        description="University rack",
        addresses=["192.0.2.1", "2001:DB8:0::0001", "192.0.2.1"],
    )
    # Addresses come back canonical, duplicates dropped, in the order given.
    assert created.addresses == ("192.0.2.1", "2001:db8::1")
    assert registry.get_site("amp-akl") == created
    assert created.as_dict() == {
        "name": "amp-akl",
        "long_name": "Auckland amplet",
        "location": "Auckland, New Zealand",
        "description": "University rack",
        "addresses": ["192.0.2.1", "2001:db8::1"],
    }
    assert registry.create_site("bare") == SiteInfo("bare")


def test_create_existing_site_or_mesh_raises(registry: SiteRegistry) -> None:
    registry.create_site("amp-akl", long_name="first")
    with pytest.raises(AlreadyExists) as raised:
        registry.create_site("amp-akl", long_name="second")
    assert raised.value.name == "amp-akl"
    assert registry.get_site("amp-akl").long_name == "first"
    registry.create_mesh("nz")
    with pytest.raises(AlreadyExists):
        registry.create_mesh("nz", is_source=True)
    assert registry.get_mesh("nz").is_source is False


def test_update_site_changes_only_given_fields(registry: SiteRegistry) -> None:
    registry.create_site("amp-wlg", "Wellington", "NZ", "old", ["192.0.2.2"])
    updated = registry.update_site("amp-wlg", location="Wellington, New Zealand", addresses=[])
    assert updated == SiteInfo("amp-wlg", "Wellington", "Wellington, New Zealand", "old", ())
    assert registry.get_site("amp-wlg") == updated


def test_unknown_names_raise(registry: SiteRegistry) -> None:
    registry.create_site("amp-akl")
    registry.create_mesh("nz", members=["amp-akl"])
    calls = [
        (UnknownSite, lambda: registry.get_site("nowhere")),
        (UnknownSite, lambda: registry.update_site("nowhere", long_name="x")),
        (UnknownSite, lambda: registry.delete_site("nowhere")),
        (UnknownSite, lambda: registry.meshes_of("nowhere")),
        (UnknownSite, lambda: registry.add_member("nz", "nowhere")),
        (UnknownSite, lambda: registry.remove_member("nz", "nowhere")),
        (UnknownMesh, lambda: registry.get_mesh("nowhere")),
        (UnknownMesh, lambda: registry.update_mesh("nowhere", long_name="x")),
        (UnknownMesh, lambda: registry.delete_mesh("nowhere")),
        (UnknownMesh, lambda: registry.mesh_members("nowhere")),
        (UnknownMesh, lambda: registry.add_member("nowhere", "amp-akl")),
        (UnknownMesh, lambda: registry.remove_member("nowhere", "amp-akl")),
    ]
    for error, call in calls:
        with pytest.raises(error) as raised:
            call()
        assert raised.value.name == "nowhere"
        assert isinstance(raised.value, NntscError)
    assert registry.mesh_members("nz") == ["amp-akl"]


def test_delete_site_removes_its_memberships(registry: SiteRegistry) -> None:
    for name in ("amp-akl", "amp-wlg", "amp-chc"):
        registry.create_site(name)
    registry.create_mesh("nz", members=["amp-akl", "amp-wlg", "amp-chc"])
    registry.create_mesh("north", members=["amp-akl"])
    registry.delete_site("amp-akl")
    with pytest.raises(UnknownSite):
        registry.get_site("amp-akl")
    assert registry.mesh_members("nz") == ["amp-chc", "amp-wlg"]
    assert registry.get_mesh("north").members == ()
    assert _membership_rows(registry) == 2
    # The name is free again, and a new site of that name belongs to nothing.
    registry.create_site("amp-akl")
    assert registry.meshes_of("amp-akl") == []


def test_delete_mesh_keeps_its_sites(registry: SiteRegistry) -> None:
    registry.create_site("amp-akl")
    registry.create_mesh("nz", members=["amp-akl"])
    registry.create_mesh("world", members=["amp-akl"])
    registry.delete_mesh("nz")
    with pytest.raises(UnknownMesh):
        registry.get_mesh("nz")
    assert registry.get_site("amp-akl") == SiteInfo("amp-akl")
    assert [mesh.name for mesh in registry.meshes_of("amp-akl")] == ["world"]
    assert _membership_rows(registry) == 1


def test_list_sites_pages_in_order_with_a_term(registry: SiteRegistry) -> None:
    for number in range(45):
        registry.create_site(f"site{number:02d}", long_name=f"Site number {number}")
    for number in range(7):
        registry.create_site(f"amp-akl{number}", long_name=f"Auckland amplet {number}")
    registry.create_site("amp-other", long_name="Near AUCKLAND airport")

    everything = registry.list_sites()
    assert (everything.total, everything.page, everything.pagesize) == (53, 1, 30)
    assert len(everything.items) == 30
    assert everything.has_more
    last = registry.list_sites(page=2)
    assert len(last.items) == 23
    assert not last.has_more
    names = [site.name for site in everything.items + last.items]
    assert names == sorted(names)
    assert len(set(names)) == 53

    # The term matches name or long name, in any case, as a substring.
    first = registry.list_sites("aUcK", page=1, pagesize=5)
    assert first.total == 8
    assert first.has_more
    assert [site.name for site in first.items] == [f"amp-akl{n}" for n in range(5)]
    second = registry.list_sites("aUcK", page=2, pagesize=5)
    assert [site.name for site in second.items] == ["amp-akl5", "amp-akl6", "amp-other"]
    assert second.total == 8
    assert not second.has_more
    assert registry.list_sites("auck", page=3, pagesize=5).items == []
    assert registry.list_sites("number 4").total == 6  # 4 and 40 to 44
    assert registry.list_sites("nothing like this").total == 0


def test_term_wildcards_match_themselves(registry: SiteRegistry) -> None:
    registry.create_site("a_b", long_name="100% up")
    registry.create_site("axb", long_name="1000 up")
    assert [site.name for site in registry.list_sites("_").items] == ["a_b"]
    assert [site.name for site in registry.list_sites("0%").items] == ["a_b"]


# -- meshes and membership --------------------------------------------------------


def test_create_mesh_with_members_and_read_it_back(registry: SiteRegistry) -> None:
    for name in ("amp-wlg", "amp-akl", "www.example.com"):
        registry.create_site(name)
    created = registry.create_mesh(
        "nz",
        long_name="New Zealand",
        description="Kiwi amplets",
        is_source=True,
        is_destination=True,
        public=False,
        members=["amp-wlg", "amp-akl", "amp-wlg"],
    )
    assert created == MeshInfo(
        "nz", "New Zealand", "Kiwi amplets", True, True, False, ("amp-akl", "amp-wlg")
    )
    assert registry.get_mesh("nz") == created
    assert created.as_dict()["members"] == ["amp-akl", "amp-wlg"]
    assert registry.mesh_members("nz") == ["amp-akl", "amp-wlg"]
    assert [mesh.name for mesh in registry.meshes_of("amp-akl")] == ["nz"]
    assert registry.meshes_of("amp-akl")[0].members == ("amp-akl", "amp-wlg")
    assert registry.meshes_of("www.example.com") == []


def test_add_and_remove_members(registry: SiteRegistry) -> None:
    for name in ("amp-akl", "amp-wlg"):
        registry.create_site(name)
    registry.create_mesh("nz")
    assert registry.add_member("nz", "amp-wlg").members == ("amp-wlg",)
    assert registry.add_member("nz", "amp-akl").members == ("amp-akl", "amp-wlg")
    # Adding a member twice, or removing a non-member, is not an error.
    assert registry.add_member("nz", "amp-akl").members == ("amp-akl", "amp-wlg")
    assert registry.remove_member("nz", "amp-wlg").members == ("amp-akl",)
    assert registry.remove_member("nz", "amp-wlg").members == ("amp-akl",)
    assert registry.mesh_members("nz") == ["amp-akl"]
    assert _membership_rows(registry) == 1


def test_update_mesh_replaces_fields_and_members(registry: SiteRegistry) -> None:
    for name in ("a", "b", "c"):
        registry.create_site(name)
    registry.create_mesh("m", long_name="M", members=["a", "b"])
    updated = registry.update_mesh("m", is_destination=True, members=["b", "c"])
    assert updated == MeshInfo("m", "M", "", False, True, True, ("b", "c"))
    assert registry.get_mesh("m") == updated
    # Leaving members out keeps them; an empty list empties the mesh.
    assert registry.update_mesh("m", description="d").members == ("b", "c")
    assert registry.update_mesh("m", members=[]).members == ()


def test_unknown_member_changes_nothing(registry: SiteRegistry) -> None:
    for name in ("a", "b"):
        registry.create_site(name)
    before = registry.create_mesh("m", long_name="M", members=["a"])
    with pytest.raises(UnknownSite) as raised:
        registry.update_mesh("m", long_name="changed", is_source=True, members=["b", "ghost"])
    assert raised.value.name == "ghost"
    assert registry.get_mesh("m") == before
    with pytest.raises(UnknownSite):
        registry.create_mesh("n", members=["a", "ghost"])
    with pytest.raises(UnknownMesh):
        registry.get_mesh("n")
    assert _membership_rows(registry) == 1


def test_list_meshes_filters_pages_and_includes_members(registry: SiteRegistry) -> None:
    registry.create_site("a")
    for number in range(12):
        registry.create_mesh(
            f"mesh{number:02d}",
            long_name="Sources" if number % 3 == 0 else "Targets",
            is_source=number % 3 == 0,
            is_destination=number % 2 == 0,
            members=["a"] if number % 4 == 0 else [],
        )
    everything = registry.list_meshes(pagesize=5)
    assert everything.total == 12
    assert everything.has_more
    assert [mesh.name for mesh in everything.items] == [f"mesh{n:02d}" for n in range(5)]
    assert [mesh.members for mesh in everything.items] == [("a",), (), (), (), ("a",)]

    sources = registry.list_meshes(source=True)
    assert [mesh.name for mesh in sources.items] == ["mesh00", "mesh03", "mesh06", "mesh09"]
    both = registry.list_meshes(source=True, destination=True)
    assert [mesh.name for mesh in both.items] == ["mesh00", "mesh06"]
    not_sources = registry.list_meshes(source=False, pagesize=3, page=2)
    assert not_sources.total == 8
    assert not_sources.has_more
    assert [mesh.name for mesh in not_sources.items] == ["mesh05", "mesh07", "mesh08"]
    # The even meshes that are not sources are destinations called "Targets".
    targets = registry.list_meshes("TARG", source=False, destination=True)
    assert [mesh.name for mesh in targets.items] == ["mesh02", "mesh04", "mesh08", "mesh10"]
    assert targets.total == 4
    assert not targets.has_more
    assert registry.list_meshes("mesh1").total == 2


# -- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda r: r.create_site(""), "name"),
        (lambda r: r.create_site("has space"), "name"),
        (lambda r: r.create_site("x" * 256), "name"),
        (lambda r: r.create_site("new\nline"), "name"),
        (lambda r: r.create_site(42), "name"),
        (lambda r: r.create_site("ok", addresses=["300.1.1.1"]), "addresses"),
        (lambda r: r.create_site("ok", addresses=["www.example.com"]), "addresses"),
        (lambda r: r.create_site("ok", addresses="192.0.2.1"), "addresses"),
        (lambda r: r.create_site("ok", addresses=[b"\xc0\x00\x02\x01"]), "addresses"),
        (lambda r: r.create_site("ok", long_name="x" * 256), "long_name"),
        (lambda r: r.create_site("ok", location=None), "location"),
        (lambda r: r.create_site("ok", description="x" * 1001), "description"),
        (lambda r: r.create_mesh("ok", is_source="yes"), "is_source"),
        (lambda r: r.create_mesh("ok", members=["bad name"]), "members"),
        (lambda r: r.create_mesh("ok", members="abc"), "members"),
        (lambda r: r.get_site("bad name"), "name"),
        (lambda r: r.list_sites(page=0), "page"),
        (lambda r: r.list_sites(pagesize=1001), "pagesize"),
        (lambda r: r.list_meshes(pagesize=0), "pagesize"),
        (lambda r: r.list_meshes(source="true"), "source"),
        (lambda r: r.add_member("ok", "bad name"), "site"),
    ],
)
def test_bad_values_raise_naming_the_field(registry: SiteRegistry, call, field: str) -> None:
    with pytest.raises(BadValue) as raised:
        call(registry)
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")
    assert registry.list_sites().total == 0
    assert registry.list_meshes().total == 0


def test_names_may_be_addresses_and_host_names(registry: SiteRegistry) -> None:
    for name in ("8.8.8.8", "2001:db8::1", "www.example.com", "https://x/y", "A.b-c_d"):
        assert registry.create_site(name).name == name
    assert registry.list_sites().total == 5


def test_names_the_api_cannot_reach_are_refused_by_every_maker(registry: SiteRegistry) -> None:
    """Review: only the API refused "/schedule" in a new name; loaders (the demo's
    `save_all`, imports) and direct callers of the registry made them, and
    /api/v1/sites/nz/schedule then reads as site nz's schedule."""
    registry.create_site("nz")
    for name in ("nz/schedule", "nz/schedule/1", "a/b/schedule"):
        with pytest.raises(BadValue, match='"/schedule"'):
            registry.create_site(name)
        with pytest.raises(BadValue, match='"/schedule"'):
            registry.create_mesh(name, members=["nz"])
        with pytest.raises(BadValue, match='"/schedule"'):
            registry.save_all([SiteInfo(name)], [])
        with pytest.raises(BadValue, match='"/schedule"'):
            registry.save_all([], [MeshInfo(name, members=("nz",))])
    assert [site.name for site in registry.list_sites().items] == ["nz"]
    assert registry.list_meshes().total == 0
    # Only after the first segment: these reach their own paths.
    for name in ("schedule", "schedule/x", "nz/schedules", "nz/x-schedule"):
        registry.create_site(name)
    assert registry.unreachable_names() == []


def test_refusals_quote_a_bounded_prefix_of_what_was_given(registry: SiteRegistry) -> None:
    """Review: `check_new_name` (and `check_name`, the addresses) quoted the whole value
    given: up to 255 characters of a name the API accepted, and any length from a form
    or a direct caller, against "messages quote at most the first 60 characters"."""
    from nntsc.errors import QUOTED

    schedule = "n" * 240 + "/schedule"
    refusals = [
        (lambda: registry.create_site(schedule), "n" * QUOTED),
        (lambda: registry.create_mesh(schedule, members=[]), "n" * QUOTED),
        (lambda: registry.create_site("!" * 5000), "!" * QUOTED),
        (lambda: registry.create_mesh("m", members=["?" * 5000]), "?" * QUOTED),
        (lambda: registry.create_site("s", addresses=["x" * 5000]), "x" * QUOTED),
        (lambda: registry.create_site("s", addresses=[[1] * 5000]), "[1, 1"),
        (lambda: registry.create_mesh("m", members=[], is_source="y" * 5000), "y" * QUOTED),
    ]
    for refuse, prefix in refusals:
        with pytest.raises(BadValue) as raised:
            refuse()
        message = str(raised.value)
        assert prefix in message
        assert len(message) < QUOTED + 150, message
    # Short values are quoted whole, as before.
    with pytest.raises(BadValue, match=r"'nz/schedule' may not hold"):
        registry.create_site("nz/schedule")
    with pytest.raises(BadValue, match=r"^name: 5 is not a valid name"):
        registry.create_site(5)  # type: ignore[arg-type]
    assert registry.list_sites().total == 0


def test_stored_unreachable_names_are_reported(sql_url: str) -> None:
    """Rows made before the store refused them: `unreachable_names` and `nntsc db check --url`."""
    from sqlalchemy import insert

    from nntsc.store.models import Mesh, Site

    services = make_services(sql_url)
    try:
        with services.sessionmaker.begin() as session:
            session.execute(insert(Site), [{"name": "nz/schedule"}, {"name": "nz/akl"}])
            session.execute(insert(Mesh), [{"name": "m/schedule/2"}, {"name": "schedule"}])
        assert services.sites.unreachable_names() == [
            ("site", "nz/schedule"),
            ("mesh", "m/schedule/2"),
        ]
    finally:
        services.close()
    result = CliRunner().invoke(main, ["db", "check", "--url", sql_url])
    assert result.exit_code == 1, result.output
    assert "models and migrations agree" in result.output
    assert "site 'nz/schedule'" in result.output
    assert "mesh 'm/schedule/2'" in result.output
    assert "2 sites or meshes the API cannot reach" in result.output
    assert "nz/akl" not in result.output


# -- the demo -----------------------------------------------------------------------


def test_demo_definitions_describe_the_simulated_mesh() -> None:
    mesh = SimulatedMesh(20, DEMO_END - 3600, DEMO_END, seed=3)
    sites, meshes = demo_sites_and_meshes(mesh)
    assert [site.name for site in sites] == [site.name for site in mesh.sites] + [DNS_RESOLVER]
    assert all(site.long_name and site.location and site.addresses for site in sites)
    assert sites[0].long_name == "Auckland amplet"
    by_name = {definition.name: definition for definition in meshes}
    monitors, targets = by_name[DEMO_MONITOR_MESH], by_name[DEMO_TARGET_MESH]
    assert monitors.is_source
    assert monitors.is_destination
    assert not targets.is_source
    assert targets.is_destination
    assert set(monitors.members) == {site.name for site in mesh.sites}
    assert set(targets.members) == {site.name for site in sites}
    # The same mesh gives the same definitions.
    assert demo_sites_and_meshes(SimulatedMesh(20, DEMO_END - 3600, DEMO_END, seed=3)) == (
        sites,
        meshes,
    )


def test_saving_demo_definitions_twice_changes_nothing(registry: SiteRegistry) -> None:
    sites, meshes = demo_sites_and_meshes(SimulatedMesh(5, DEMO_END - 3600, DEMO_END))
    registry.save_all(sites, meshes)
    first = (registry.list_sites(pagesize=100), registry.list_meshes(pagesize=100))
    registry.save_all(sites, meshes)
    second = (registry.list_sites(pagesize=100), registry.list_meshes(pagesize=100))
    assert first == second
    assert first[0].items == sorted(sites, key=lambda site: site.name)
    assert first[1].items == meshes
    assert _membership_rows(registry) == 5 + 6


def test_saving_changed_definitions_updates_in_place(registry: SiteRegistry) -> None:
    registry.save_all([SiteInfo("a"), SiteInfo("b")], [MeshInfo("m", members=("a", "b"))])
    registry.save_all(
        [SiteInfo("a", long_name="A", addresses=("192.0.2.9",))],
        [MeshInfo("m", is_source=True, members=("a",))],
    )
    assert registry.get_site("a") == SiteInfo("a", long_name="A", addresses=("192.0.2.9",))
    assert registry.get_mesh("m") == MeshInfo("m", is_source=True, members=("a",))


def test_demo_data_command_twice_leaves_the_same_sites(sql_url: str, tmp_path: Path) -> None:
    ini = tmp_path / "demo.ini"
    ini.write_text(f"[app:main]\nnntsc.sql_url = {sql_url}\nnntsc.timeseries_url = sql\n")
    command = ["demo-data", "-c", str(ini), "--sites", "3", "--days", "0.01"]
    command += ["--end", str(DEMO_END)]
    services = make_services(sql_url)
    try:
        snapshots = []
        for _ in range(2):
            result = CliRunner().invoke(main, command, catch_exceptions=False)
            assert result.exit_code == 0, result.output
            snapshots.append((services.sites.list_sites(), services.sites.list_meshes()))
        assert snapshots[0] == snapshots[1]
        sites, meshes = snapshots[0]
        assert [site.name for site in sites.items] == sorted(
            ["amp-akl", "amp-wlg", "amp-chc", DNS_RESOLVER]
        )
        assert [mesh.name for mesh in meshes.items] == [DEMO_MONITOR_MESH, DEMO_TARGET_MESH]
        assert services.sites.mesh_members(DEMO_MONITOR_MESH) == ["amp-akl", "amp-chc", "amp-wlg"]
    finally:
        services.close()


def test_addresses_and_members_must_be_lists() -> None:
    """schemathesis sent `{"addresses": {}}` and `{"members": {}}`: once taken as empty lists."""
    from nntsc.errors import BadValue
    from nntsc.store.sites import check_addresses, check_members

    for bad in ({}, {"192.0.2.1": 1}, {"192.0.2.1"}, "192.0.2.1", None):
        with pytest.raises(BadValue, match="addresses"):
            check_addresses(bad)
        with pytest.raises(BadValue, match="members"):
            check_members(bad)
    assert check_addresses(("192.0.2.1",)) == ("192.0.2.1",)
