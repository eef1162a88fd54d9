"""Schedule items on SQLite: validation against each test's options, changes, change times, YAML.

Each test gets its own migrated SQLite file. The YAML a site fetches is
read back the way amplet2's schedule parser reads it (`read_as_amplet2`):
a mapping with a ``tests`` sequence whose entries hold ``test``, ``target``
(a name or nested sequences of names, aliases resolved), whole-second
``frequency``, ``start`` and ``end`` within the ``period`` (``day`` or
``week``) and ``args`` as a command line. `tests/integration/test_schedules_postgres.py`
runs the registry tests again on PostgreSQL.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from nntsc.config import Services
from nntsc.errors import BadValue, UnknownMesh, UnknownScheduleItem, UnknownSite
from nntsc.schedules.amplet import render
from nntsc.schedules.options import TESTS, check_args, parse_args
from nntsc.schedules.registry import ScheduleRegistry
from tests.conftest import make_services

PERIOD_SECONDS = {"day": 86400, "week": 604800}


@pytest.fixture
def sql_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/schedules.sqlite"


@pytest.fixture
def services(sql_url: str) -> Iterator[Services]:
    services = make_services(sql_url)
    try:
        yield services
    finally:
        services.close()


@pytest.fixture
def schedules(services: Services) -> ScheduleRegistry:
    """Sites amp-a, amp-b, amp-c and www.example.com; mesh-1 = a, b; mesh-2 = a, c."""
    sites = services.sites
    for name in ("amp-a", "amp-b", "amp-c", "www.example.com"):
        sites.create_site(name)
    sites.create_mesh("mesh-1", members=["amp-a", "amp-b"])
    sites.create_mesh("mesh-2", members=["amp-a", "amp-c"])
    return services.schedules


def read_as_amplet2(text: str) -> list[dict[str, Any]]:
    """The tests of a schedule document, checked and read as amplet2's parser reads them.

    The text is parsed by libyaml, as amplet2 parses it. Each test comes
    back as ``{test, targets (flattened), frequency, start,
    end, period, argv}``; anything amplet2 would refuse or misread fails.
    """
    # libyaml, the C parser amplet2 itself uses, through PyYAML's binding.
    document = yaml.load(text, Loader=yaml.CSafeLoader)
    assert isinstance(document, dict)
    assert isinstance(document["tests"], list)
    tests = []
    for entry in document["tests"]:
        assert isinstance(entry, dict)
        assert set(entry) <= {"test", "target", "frequency", "start", "end", "period", "args"}
        assert entry["test"] in TESTS
        assert entry["period"] in PERIOD_SECONDS
        length = PERIOD_SECONDS[entry["period"]]
        for key in ("frequency", "start", "end"):
            # amplet2 reads these with atoi(): whole numbers written as plain scalars.
            assert type(entry[key]) is int, (key, entry)
            assert 0 <= entry[key] <= length, (key, entry)
        assert isinstance(entry["args"], str)

        def flatten(node: Any) -> list[str]:
            if isinstance(node, str):
                return [node]
            assert isinstance(node, list)
            return [name for child in node for name in flatten(child)]

        tests.append(
            {
                "test": entry["test"],
                "targets": flatten(entry["target"]) if "target" in entry else [],
                "frequency": entry["frequency"],
                "start": entry["start"],
                "end": entry["end"],
                "period": entry["period"],
                "argv": shlex.split(entry["args"]),
            }
        )
    return tests


# -- the options of amplet2's tests ------------------------------------------------


@pytest.mark.parametrize(
    ("test", "args"),
    [
        ("icmp", "-s 84"),
        ("icmp", "-rs84 -Q EF --perturbate=500 -4"),
        ("icmp", "--size 1500 -62001:db8::1"),
        ("dns", "-q www.example.com -t AAAA -c IN -r --nsid"),
        ("http", "-u 'https://www.example.com/a page' --user-agent \"amp test\" -p"),
        ("throughput", "-S t10000,T10000 -t 10 -z 65536"),
        ("traceroute", "-a --no-ip -w 8"),
        ("youtube", "-y dQw4w9WgXcQ -q hd720 -t 60"),
        ("fastping", "-c 100 -r 10 -s 64 -p"),
        ("external", "-c 'sleep 1'"),
        ("sip", "-u sip:test@example.com --time 30"),
        ("udpstream", "-n 100 -z 100 -D 20000 -d 2"),
        ("tcpping", "-P 443 -s 64"),
    ],
)
def test_options_amplet2_accepts_are_accepted(test: str, args: str) -> None:
    assert check_args(test, f"  {args} ") == args


@pytest.mark.parametrize(
    ("test", "args", "message"),
    [
        ("icmp", "-y 3", "unknown option -y for the icmp test"),
        ("icmp", "--colour=red", "unknown option --colour"),
        ("icmp", "-s", "option -s needs a value"),
        ("icmp", "-s big", "needs a whole number, got 'big'"),
        ("icmp", "-s 70000", "at most 65535"),
        ("icmp", "--random=yes", "--random takes no value"),
        ("icmp", "amp-b", "unexpected word 'amp-b'"),
        ("icmp", "-s '84", "cannot be split into words"),
        ("throughput", "-s", "unknown option -s"),
        ("http", "-p", "needs option -u, --url"),
        ("dns", "-t A", "needs option -q, --query"),
        ("nosuchtest", "", "not an amplet2 test"),
    ],
)
def test_bad_options_are_refused_naming_them(test: str, args: str, message: str) -> None:
    with pytest.raises(BadValue, match=message.replace("(", r"\(")) as raised:
        check_args(test, args)
    assert raised.value.field in ("args", "test")


def test_parsed_options_carry_their_values() -> None:
    parsed = parse_args(TESTS["icmp"], "-rs84 --dscp=EF -4")
    assert [(option.long, value) for option, value in parsed] == [
        ("random", None),
        ("size", "84"),
        ("dscp", "EF"),
        ("ipv4", None),
    ]


# -- items ----------------------------------------------------------------------


def test_create_read_update_and_delete(schedules: ScheduleRegistry) -> None:
    item = schedules.create_item(
        "site", "amp-a", test="icmp", frequency=60, args="-s 84", destination_sites=["amp-b"]
    )
    assert item.as_dict() | {"modified": 0} == {
        "id": item.id,
        "test": "icmp",
        "source_kind": "site",
        "source": "amp-a",
        "frequency": 60,
        "start": 0,
        "end": 86400,
        "period": "day",
        "mesh_offset": 0,
        "args": "-s 84",
        "enabled": True,
        "destination_sites": ["amp-b"],
        "destination_meshes": [],
        "modified": 0,
    }
    assert schedules.get_item("site", "amp-a", item.id) == item
    changed = schedules.update_item(
        "site", "amp-a", item.id, frequency=300, destination_meshes=["mesh-2"]
    )
    assert (changed.frequency, changed.destination_meshes, changed.args) == (
        300,
        ("mesh-2",),
        "-s 84",
    )
    assert schedules.set_enabled("site", "amp-a", item.id, False).enabled is False
    assert schedules.add_destination(
        "site", "amp-a", item.id, "site", "amp-c"
    ).destination_sites == (
        "amp-b",
        "amp-c",
    )
    after = schedules.remove_destination("site", "amp-a", item.id, "mesh", "mesh-2")
    assert after.destination_meshes == ()
    assert [i.id for i in schedules.list_items("site", "amp-a")] == [item.id]
    schedules.delete_item("site", "amp-a", item.id)
    assert schedules.list_items("site", "amp-a") == []
    with pytest.raises(UnknownScheduleItem):
        schedules.get_item("site", "amp-a", item.id)


def test_an_item_is_reached_only_through_its_owner(schedules: ScheduleRegistry) -> None:
    item = schedules.create_item(
        "mesh", "mesh-1", test="icmp", frequency=60, destination_meshes=["mesh-1"]
    )
    for kind, owner in (("site", "amp-a"), ("mesh", "mesh-2")):
        with pytest.raises(UnknownScheduleItem):
            schedules.get_item(kind, owner, item.id)
        with pytest.raises(UnknownScheduleItem):
            schedules.delete_item(kind, owner, item.id)
    with pytest.raises(UnknownSite):
        schedules.list_items("site", "amp-zzz")
    with pytest.raises(UnknownMesh):
        schedules.create_item(
            "mesh", "mesh-9", test="icmp", frequency=60, destination_sites=["amp-a"]
        )
    inherited = schedules.list_items("site", "amp-b", inherited=True)
    assert [(i.source_kind, i.source) for i in inherited] == [("mesh", "mesh-1")]
    assert schedules.list_items("site", "amp-b") == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"test": "icmp", "frequency": 60, "args": "-q x", "destination_sites": ["amp-b"]}, "args"),
        ({"test": "icmp", "frequency": 60}, "destination_sites"),
        ({"test": "icmp", "frequency": 60, "destination_sites": ["amp-a"]}, "destination_sites"),
        ({"test": "icmp", "frequency": 60, "destination_sites": ["amp-zzz"]}, "destination_sites"),
        ({"test": "icmp", "frequency": 60, "destination_meshes": ["mesh-9"]}, "destination_meshes"),
        ({"test": "icmp", "frequency": 90000, "destination_sites": ["amp-b"]}, "frequency"),
        (
            {
                "test": "icmp",
                "frequency": 60,
                "start": 600,
                "end": 600,
                "destination_sites": ["amp-b"],
            },
            "end",
        ),
        (
            {"test": "icmp", "frequency": 60, "period": "month", "destination_sites": ["amp-b"]},
            "period",
        ),
        (
            {"test": "icmp", "frequency": 60, "mesh_offset": 5, "destination_sites": ["amp-b"]},
            "mesh_offset",
        ),
        (
            {
                "test": "http",
                "frequency": 60,
                "args": "-u http://x/",
                "destination_sites": ["amp-b"],
            },
            "destination_sites",
        ),
        ({"test": "icmp", "frequency": 60, "destination_sites": "amp-b"}, "destination_sites"),
        ({"test": "icmp", "frequency": True, "destination_sites": ["amp-b"]}, "frequency"),
    ],
)
def test_bad_items_change_nothing(schedules: ScheduleRegistry, fields: dict, field: str) -> None:
    before = schedules.site_schedule("amp-a").modified
    with pytest.raises(BadValue) as raised:
        schedules.create_item("site", "amp-a", **fields)
    assert raised.value.field == field
    assert schedules.list_items("site", "amp-a") == []
    assert schedules.site_schedule("amp-a").modified == before


def test_a_bad_update_changes_nothing(schedules: ScheduleRegistry) -> None:
    item = schedules.create_item(
        "site", "amp-a", test="icmp", frequency=60, args="-s 84", destination_sites=["amp-b"]
    )
    # New arguments are checked against the new test.
    with pytest.raises(BadValue, match="unknown option -s"):
        schedules.update_item("site", "amp-a", item.id, test="external", args="-c true -s 1")
    with pytest.raises(BadValue, match="needs at least 1 destination"):
        schedules.remove_destination("site", "amp-a", item.id, "site", "amp-b")
    with pytest.raises(BadValue):
        schedules.update_item("site", "amp-a", item.id, colour="red")
    assert schedules.get_item("site", "amp-a", item.id) == item


# -- change times -------------------------------------------------------------------


def _times(schedules: ScheduleRegistry) -> dict[str, int]:
    return {site: schedules.site_schedule(site).modified for site in ("amp-a", "amp-b", "amp-c")}


def test_changes_move_the_time_of_exactly_the_sites_they_touch(
    services: Services, schedules: ScheduleRegistry
) -> None:
    assert _times(schedules) == {"amp-a": 0, "amp-b": 0, "amp-c": 0}
    item = schedules.create_item(
        "mesh", "mesh-1", test="icmp", frequency=60, destination_sites=["amp-c"]
    )
    first = _times(schedules)
    assert first["amp-a"] > 0
    assert first["amp-b"] > 0
    assert first["amp-c"] == 0

    # Several changes in one second still move the time on, a second each.
    schedules.set_enabled("mesh", "mesh-1", item.id, False)
    second = _times(schedules)
    assert second["amp-a"] > first["amp-a"]
    assert second["amp-c"] == 0

    # amp-c joins a mesh that another mesh's item targets: the runners change too.
    schedules.update_item(
        "mesh", "mesh-1", item.id, destination_sites=[], destination_meshes=["mesh-2"]
    )
    third = _times(schedules)
    services.sites.remove_member("mesh-2", "amp-c")
    fourth = _times(schedules)
    assert fourth["amp-a"] > third["amp-a"]
    assert fourth["amp-b"] > third["amp-b"]
    assert fourth["amp-c"] > third["amp-c"]

    # Deleting a targeted site changes the schedules that tested it.
    schedules.create_item(
        "site", "amp-b", test="icmp", frequency=60, destination_sites=["www.example.com"]
    )
    fifth = _times(schedules)
    services.sites.delete_site("www.example.com")
    assert schedules.list_items("site", "amp-b")[0].destination_sites == ()
    assert _times(schedules)["amp-b"] > fifth["amp-b"]
    assert _times(schedules)["amp-c"] == fifth["amp-c"]


def test_deleting_a_mesh_or_site_deletes_their_items(
    services: Services, schedules: ScheduleRegistry
) -> None:
    schedules.create_item(
        "mesh", "mesh-1", test="icmp", frequency=60, destination_meshes=["mesh-2"]
    )
    schedules.create_item("site", "amp-c", test="icmp", frequency=60, destination_meshes=["mesh-1"])
    services.sites.delete_mesh("mesh-1")
    assert schedules.list_items("site", "amp-a", inherited=True) == []
    assert schedules.list_items("site", "amp-c")[0].destination_meshes == ()
    services.sites.delete_site("amp-c")
    with services.sessionmaker() as session:
        from sqlalchemy import func, select

        from nntsc.schedules.models import ScheduleDestinationMesh, ScheduleItem

        assert session.scalar(select(func.count()).select_from(ScheduleItem)) == 0
        assert session.scalar(select(func.count()).select_from(ScheduleDestinationMesh)) == 0


# -- the YAML amplet2 fetches ---------------------------------------------------------


def test_a_site_in_two_meshes_gets_its_own_and_both_meshes_items(
    schedules: ScheduleRegistry,
) -> None:
    schedules.create_item(
        "mesh",
        "mesh-1",
        test="icmp",
        frequency=60,
        args="-s 84",
        destination_meshes=["mesh-1", "mesh-2"],
        mesh_offset=10,
    )
    schedules.create_item(
        "mesh",
        "mesh-2",
        test="traceroute",
        frequency=900,
        period="week",
        destination_meshes=["mesh-2"],
        destination_sites=["www.example.com"],
    )
    schedules.create_item(
        "site", "amp-a", test="http", frequency=600, args="-u https://www.example.com/"
    )
    schedules.create_item(
        "site",
        "amp-a",
        test="dns",
        frequency=300,
        args="-q www.example.com",
        destination_sites=["www.example.com"],
        enabled=False,
    )
    # A mesh's item whose only target is the site itself is left out.
    schedules.create_item(
        "mesh", "mesh-2", test="tcpping", frequency=60, destination_sites=["amp-a"]
    )
    text = render(schedules.site_schedule("amp-a"))
    tests = read_as_amplet2(text)
    assert tests == [
        {
            "test": "http",
            "targets": [],
            "frequency": 600,
            "start": 0,
            "end": 86400,
            "period": "day",
            "argv": ["-u", "https://www.example.com/"],
        },
        {
            "test": "icmp",
            "targets": ["amp-b", "amp-c"],
            "frequency": 60,
            "start": 0,
            "end": 86400,
            "period": "day",
            "argv": ["-s", "84"],
        },
        {
            "test": "traceroute",
            "targets": ["amp-c", "www.example.com"],
            "frequency": 900,
            "start": 0,
            "end": 604800,
            "period": "week",
            "argv": [],
        },
    ]
    # Mesh targets are anchored lists in `targets`, which the tests name by alias.
    assert "mesh-1: &mesh-1" in text
    assert "mesh-2: &mesh-2" in text
    assert "*mesh-2" in text
    assert yaml.safe_load(text)["targets"] == {"mesh-1": ["amp-b"], "mesh-2": ["amp-c"]}

    # The second member of mesh-1 starts its item one offset later.
    icmp = next(
        t for t in read_as_amplet2(render(schedules.site_schedule("amp-b"))) if t["test"] == "icmp"
    )
    assert (icmp["start"], icmp["targets"]) == (10, ["amp-a", "amp-a", "amp-c"])


def test_odd_mesh_names_make_valid_anchors(services: Services, schedules: ScheduleRegistry) -> None:
    services.sites.create_mesh("nz/akl:1", members=["amp-b"])
    services.sites.create_mesh("nz_akl_1", members=["amp-c"])
    schedules.create_item(
        "site", "amp-a", test="icmp", frequency=60, destination_meshes=["nz/akl:1", "nz_akl_1"]
    )
    text = render(schedules.site_schedule("amp-a"))
    assert read_as_amplet2(text)[0]["targets"] == ["amp-b", "amp-c"]
    assert "&nz_akl_1" in text
    assert "&nz_akl_1_2" in text


def test_a_site_without_items_gets_an_empty_schedule(schedules: ScheduleRegistry) -> None:
    schedule = schedules.site_schedule("amp-c")
    assert schedule.modified == 0
    assert read_as_amplet2(render(schedule)) == []


def test_demo_sites_carry_schedules_for_every_simulated_test(services: Services) -> None:
    from nntsc.demo import ALL_TESTS, SimulatedMesh, demo_sites_and_meshes
    from nntsc.demo.schedules import save_demo_schedules

    mesh = SimulatedMesh(4, 1_790_000_000 - 3600, 1_790_000_000, 60, seed=2)
    services.sites.save_all(*demo_sites_and_meshes(mesh))
    save_demo_schedules(services.schedules, mesh, ALL_TESTS)
    schedules = {site.name: services.schedules.site_schedule(site.name) for site in mesh.sites}
    scheduled = set()
    for site, schedule in schedules.items():
        for test in read_as_amplet2(render(schedule)):
            assert site not in test["targets"]
            scheduled.add(test["test"])
    assert scheduled == set(ALL_TESTS)
    # Saving the same schedules again changes nothing a monitor would fetch again.
    save_demo_schedules(services.schedules, mesh, ALL_TESTS)
    assert {
        site.name: services.schedules.site_schedule(site.name).modified for site in mesh.sites
    } == {site: schedule.modified for site, schedule in schedules.items()}


def test_destination_sites_may_name_an_address_family_and_count(
    schedules: ScheduleRegistry,
) -> None:
    item = schedules.create_item(
        "site",
        "amp-a",
        test="icmp",
        frequency=60,
        destination_sites=["amp-b!v6", "amp-c!1!v4", "www.example.com!2"],
    )
    assert item.destination_sites == ("amp-b!v6", "amp-c!1!v4", "www.example.com!2")
    assert schedules.get_item("site", "amp-a", item.id) == item
    # As amplet2 qualifies a target: name:count:family.
    tests = read_as_amplet2(render(schedules.site_schedule("amp-a")))
    assert tests[0]["targets"] == ["amp-b:v6", "amp-c:1:v4", "www.example.com:2"]
    # Adding a site again replaces its qualifiers; removing goes by its name.
    changed = schedules.add_destination("site", "amp-a", item.id, "site", "amp-b")
    assert changed.destination_sites == ("amp-b", "amp-c!1!v4", "www.example.com!2")
    changed = schedules.remove_destination("site", "amp-a", item.id, "site", "amp-c")
    assert changed.destination_sites == ("amp-b", "www.example.com!2")
    for bad in (["amp-b!v5"], ["amp-b!0"], ["amp-b", "amp-b!v4"], ["amp-a!v4"], ["!v4"]):
        with pytest.raises(BadValue) as raised:
            schedules.update_item("site", "amp-a", item.id, destination_sites=bad)
        assert raised.value.field == "destination_sites"
    assert schedules.get_item("site", "amp-a", item.id) == changed


def test_mesh_members_are_staggered_within_the_items_window(
    schedules: ScheduleRegistry, services: Services
) -> None:
    services.sites.create_mesh("mesh-3", members=["amp-a", "amp-b", "amp-c"])
    schedules.create_item(
        "mesh",
        "mesh-3",
        test="icmp",
        frequency=60,
        start=3600,
        end=7200,
        destination_meshes=["mesh-3"],
        mesh_offset=1800,
    )
    starts = {}
    for site in ("amp-a", "amp-b", "amp-c"):
        (test,) = read_as_amplet2(render(schedules.site_schedule(site)))
        assert test["end"] == 7200
        starts[site] = test["start"]
    # The third member would start at 7200, its window's end: it wraps to 3600.
    assert sorted(starts.values()) == [3600, 3600, 5400]
    assert all(3600 <= start < 7200 for start in starts.values())
