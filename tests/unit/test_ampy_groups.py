"""ampy groups, lines, colours and views, without a time-series store.

Descriptions must round-trip for every collection (including values that
need quoting), every bad description must say what was wrong, and views
must be addressed by their content. Views and line expansion use a fresh
SQLite database per test; splitting and colours need none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ampy.errors import BadGroupDescription, UnknownView
from ampy.groups import (
    ALL,
    PALETTE,
    SPLIT,
    Group,
    colour_for,
    expand_groups,
    format_group,
    make_group,
    parse_group,
    spec_for,
    split_lines,
)
from ampy.views import VIEW_ID, ViewStore, view_id_for, view_styles
from nntsc.collections import all_collections
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.store.streams import StreamInfo
from tests.conftest import make_services

#: Values a shell would have to quote: spaces, quotes, $, a keyword, non-ASCII.
AWKWARD = ("two words", "it's", 'say "hi"', "$HOME", "FROM", "naïve", "a\tb", "x;y", "--")


def values_for(collection: str, variant: int = 0) -> dict[str, str]:
    """A value per hierarchy level, awkward ones included."""
    spec = spec_for(collection)
    return {
        level: f"{AWKWARD[(index + variant) % len(AWKWARD)]}-{level}"
        for index, level in enumerate(spec.hierarchy)
    }


# ---------------------------------------------------------------- parse and format


@pytest.mark.parametrize("collection", [c.name for c in all_collections()])
def test_round_trip_for_every_collection(collection: str) -> None:
    spec = spec_for(collection)
    for variant in range(len(AWKWARD)):
        values = values_for(collection, variant)
        group = make_group(collection, values)
        text = format_group(group)
        assert text.split()[0] == collection
        parsed = parse_group(text)
        assert parsed == group
        assert parsed.properties == values
        assert format_group(parsed) == text
        assert group.description == text
        # Splits not given default to SPLIT, and are part of the canonical text.
        assert dict(group.splits) == {s.keyword: SPLIT for s in spec.splits}


@pytest.mark.parametrize("collection", [c.name for c in all_collections()])
def test_every_split_choice_round_trips(collection: str) -> None:
    spec = spec_for(collection)
    for split in spec.splits:
        for choice in (SPLIT, ALL, *split.labels):
            group = make_group(collection, values_for(collection), {split.keyword: choice})
            assert dict(group.splits)[split.keyword] == choice
            assert parse_group(group.description) == group


def test_canonical_form_of_a_loose_description() -> None:
    loose = "amp-icmp family all size 84 to 'www.example.com' from akl"
    group = parse_group(loose)
    assert group.description == "amp-icmp FROM akl TO www.example.com SIZE 84 FAMILY ALL"
    assert group.properties == {
        "source": "akl",
        "destination": "www.example.com",
        "packet_size": "84",
    }


def test_description_examples() -> None:
    text = "amp-icmp FROM akl TO www.example.com SIZE 84 FAMILY SPLIT"
    assert format_group(parse_group(text)) == text
    throughput = make_group(
        "amp-throughput",
        {
            "source": "akl",
            "destination": "wlg",
            "protocol": "default",
            "duration": "10000",
            "writesize": "131072",
            "tcpreused": "false",
        },
        {"DIRECTION": "in", "FAMILY": "ipv4"},
    )
    assert throughput.description == (
        "amp-throughput FROM akl TO wlg PROTOCOL default DURATION 10000 WRITESIZE 131072 "
        "TCPREUSED false DIRECTION in FAMILY ipv4"
    )
    assert throughput.title == "akl : wlg for 10000 ms, 131072 B writes"
    assert parse_group(throughput.description) == throughput


def test_quoted_values_survive() -> None:
    group = make_group(
        "amp-dns",
        {
            "source": "a b",
            "destination": "it's",
            "query": "$(rm -rf /)",
            "query_type": "A",
            "query_class": "IN",
            "udp_payload_size": "4096",
            "recurse": "false",
            "dnssec": "false",
            "nsid": "false",
        },
    )
    text = group.description
    assert "'a b'" in text
    assert parse_group(text).properties["query"] == "$(rm -rf /)"
    assert parse_group(text).properties["destination"] == "it's"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("amp-icmp FROM 'akl TO b SIZE 84", "quotation"),
        ("amp-nothing FROM a TO b", "amp-nothing"),
        ("FROM a TO b SIZE 84", "collection name"),
        ("amp-icmp FROM a TO b SIZE", "'SIZE' has no value"),
        ("amp-icmp FROM a TO b SIZE 84 COLOUR red", "'COLOUR'"),
        ("amp-icmp FROM a TO b SIZE 84 COLOUR red", "expected FROM, TO, SIZE, FAMILY"),
        ("amp-icmp FROM a FROM b TO c SIZE 84", "given twice"),
        ("amp-icmp FROM a TO b SIZE 84 FAMILY SPLIT FAMILY ALL", "given twice"),
        ("amp-icmp FROM a TO b", "packet_size"),
        ("amp-icmp TO b", "source, packet_size"),
        ("amp-icmp FROM '' TO b SIZE 84", "source"),
        ("amp-http FROM a FETCH b FAMILY ipv4", "'FAMILY'"),
        ("amp-icmp FROM a TO b SIZE 84 FAMILY ipv5", "ipv5"),
        ("amp-throughput FROM a TO b PROTOCOL default DURATION 1 WRITESIZE 2 TCPREUSED false "
         "DIRECTION sideways", "sideways"),
    ],
)  # fmt: skip
def test_bad_description_says_what_was_wrong(text: str, named: str) -> None:
    with pytest.raises(BadGroupDescription) as raised:
        parse_group(text)
    assert named in str(raised.value)


def test_non_string_description_is_refused() -> None:
    with pytest.raises(BadGroupDescription, match="empty"):
        parse_group(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("collection", "values", "splits", "named"),
    [
        ("amp-nothing", {}, None, "amp-nothing"),
        ("amp-icmp", {"source": "a", "destination": "b"}, None, "packet_size"),
        (
            "amp-icmp",
            {"source": "a", "destination": "b", "packet_size": "84", "colour": "red"},
            None,
            "colour",
        ),
        (
            "amp-icmp",
            {"source": "a", "destination": "b", "packet_size": "84"},
            {"DIRECTION": "in"},
            "DIRECTION",
        ),
        ("amp-http", values_for("amp-http"), {"FAMILY": "ipv4"}, "no split FAMILY"),
    ],
)
def test_bad_group_values_say_what_was_wrong(
    collection: str, values: dict[str, str], splits: dict[str, str] | None, named: str
) -> None:
    with pytest.raises(BadGroupDescription) as raised:
        make_group(collection, values, splits)
    assert named in str(raised.value)


def test_split_keywords_are_case_insensitive() -> None:
    values = {"source": "a", "destination": "b", "packet_size": "84"}
    assert make_group("amp-icmp", values, {"FAMILY": "all"}) == make_group(
        "amp-icmp", values, {"FAMILY": ALL}
    )
    assert make_group("amp-icmp", values, {"FAMILY": ""}).splits == (("FAMILY", SPLIT),)


# ---------------------------------------------------------------- lines


def icmp_stream(stream_id: int, family: str, destination: str = "b") -> StreamInfo:
    props = {"source": "a", "destination": destination, "family": family, "packet_size": "84"}
    return StreamInfo(stream_id, "amp-icmp", props, None, None)


ICMP_VALUES = {"source": "a", "destination": "b", "packet_size": "84"}
ICMP_STREAMS = [icmp_stream(3, "ipv6"), icmp_stream(1, "ipv4"), icmp_stream(2, "ipv4")]


def test_split_lines_one_line_per_family() -> None:
    group = make_group("amp-icmp", ICMP_VALUES, {"FAMILY": SPLIT})
    assert split_lines(group, ICMP_STREAMS) == [
        ("ipv4", "IPv4", (1, 2)),
        ("ipv6", "IPv6", (3,)),
    ]


def test_split_lines_all_in_one_line() -> None:
    group = make_group("amp-icmp", ICMP_VALUES, {"FAMILY": ALL})
    assert split_lines(group, ICMP_STREAMS) == [("", "all", (1, 2, 3))]


def test_split_lines_one_value() -> None:
    group = make_group("amp-icmp", ICMP_VALUES, {"FAMILY": "ipv6"})
    assert split_lines(group, ICMP_STREAMS) == [("", "IPv6", (3,))]
    ipv4 = make_group("amp-icmp", ICMP_VALUES, {"FAMILY": "ipv4"})
    assert split_lines(ipv4, ICMP_STREAMS) == [("", "IPv4", (1, 2))]


def test_split_lines_by_direction_and_address_family() -> None:
    def stream(stream_id: int, direction: str, address: str) -> StreamInfo:
        props = {
            "source": "a",
            "destination": "b",
            "direction": direction,
            "address": address,
            "duration": "10000",
            "writesize": "131072",
            "tcpreused": "false",
            "protocol": "default",
        }
        return StreamInfo(stream_id, "amp-throughput", props, None, None)

    streams = [
        stream(1, "in", "192.0.2.1"),
        stream(2, "out", "192.0.2.1"),
        stream(3, "in", "2001:db8::1"),
        stream(4, "in", "192.0.2.2"),
    ]
    values = {k: v for k, v in streams[0].properties.items() if k not in ("direction", "address")}
    both = make_group("amp-throughput", values)
    assert split_lines(both, streams) == [
        ("in-ipv4", "download IPv4", (1, 4)),
        ("in-ipv6", "download IPv6", (3,)),
        ("out-ipv4", "upload IPv4", (2,)),
    ]
    downloads = make_group("amp-throughput", values, {"DIRECTION": "in", "FAMILY": ALL})
    assert split_lines(downloads, streams) == [("", "download", (1, 3, 4))]
    v4 = make_group("amp-throughput", values, {"DIRECTION": SPLIT, "FAMILY": "ipv4"})
    assert split_lines(v4, streams) == [
        ("in", "download IPv4", (1, 4)),
        ("out", "upload IPv4", (2,)),
    ]


def test_split_lines_of_no_streams_is_no_lines() -> None:
    assert split_lines(make_group("amp-icmp", ICMP_VALUES), []) == []


# ---------------------------------------------------------------- colours


def test_colour_depends_only_on_identity() -> None:
    assert colour_for("x|ipv4", set()) == colour_for("x|ipv4", set())
    assert colour_for("x|ipv4", set()) in PALETTE
    first = colour_for("x|ipv4", set())
    moved = colour_for("x|ipv4", {first})
    assert moved != first
    assert moved in PALETTE
    # Every colour taken: still a colour, not an error.
    assert colour_for("x", set(PALETTE)) in PALETTE


def test_colours_distinct_up_to_the_palette_size() -> None:
    taken: set[str] = set()
    for index in range(len(PALETTE)):
        colour = colour_for(f"line {index}", taken)
        assert colour not in taken
        taken.add(colour)
    assert taken == set(PALETTE)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    services = make_services(f"sqlite:///{tmp_path}/groups.sqlite")
    try:
        yield services
    finally:
        services.close()


def make_icmp_streams(services: Services, destinations: list[str]) -> dict[tuple[str, str], int]:
    icmp = get_collection("amp-icmp")
    return {
        (destination, family): services.streams.stream_id(
            icmp,
            {"source": "a", "destination": destination, "family": family, "packet_size": "84"},
        )
        for destination in destinations
        for family in ("ipv4", "ipv6")
    }


def test_expanded_lines_have_stable_distinct_colours(services: Services) -> None:
    destinations = [f"dst{i}" for i in range(5)]
    ids = make_icmp_streams(services, destinations)
    groups = sorted(
        (make_group("amp-icmp", {**ICMP_VALUES, "destination": d}) for d in destinations),
        key=lambda g: g.description,
    )
    lines = expand_groups(services.streams, groups)
    assert len(lines) == 10
    assert len({line.colour for line in lines}) == 10
    assert [line.line_id for line in lines[:2]] == ["g0-ipv4", "g0-ipv6"]
    assert lines[0].stream_ids == (ids[("dst0", "ipv4")],)
    assert lines[1].label == "IPv6"
    assert lines[0].title == "a to dst0 ICMP 84 B"
    assert lines[0].group == groups[0].description
    # The same groups give the same lines and colours every time.
    assert expand_groups(services.streams, groups) == lines
    # A group drawn alone gets its own colour wherever it sits in a view.
    alone = expand_groups(services.streams, [groups[3]])
    assert alone[0].colour == colour_for(f"{groups[3].description}|ipv4", set())
    # Lines of earlier groups keep their colours when a later group is added.
    fewer = expand_groups(services.streams, groups[:3])
    assert [line.colour for line in fewer] == [line.colour for line in lines[:6]]


# ---------------------------------------------------------------- views


def icmp_group(destination: str, family: str = SPLIT) -> str:
    return make_group(
        "amp-icmp", {**ICMP_VALUES, "destination": destination}, {"FAMILY": family}
    ).description


def traceroute_group(destination: str) -> str:
    return make_group(
        "amp-traceroute", {"source": "a", "destination": destination, "packet_size": "60"}
    ).description


def test_view_ids_are_content_derived(services: Services) -> None:
    views = ViewStore(services.sessionmaker)
    groups = [icmp_group("b"), icmp_group("c")]
    view_id = views.create("latency", groups)
    assert VIEW_ID.match(view_id)
    # Same content, any order, as text or parsed: the same id.
    assert views.create("latency", list(reversed(groups))) == view_id
    assert views.create("latency", [parse_group(g) for g in groups]) == view_id
    assert views.create("latency", [*groups, groups[0]]) == view_id
    # A non-canonical spelling of the same group is the same view.
    loose = "amp-icmp to b from a size 84"
    assert views.create("latency", [loose, groups[1]]) == view_id
    assert view_id == view_id_for("latency", sorted(groups))
    # Another style, another set: another id.
    assert views.create("loss", groups) != view_id
    assert views.create("latency", groups[:1]) != view_id
    view = views.get(view_id)
    assert view.style == "latency"
    assert view.descriptions == sorted(groups)
    assert all(isinstance(g, Group) for g in view.groups)


def test_view_ids_same_in_any_database(tmp_path: Path) -> None:
    ids = []
    for name in ("one", "two"):
        other = make_services(f"sqlite:///{tmp_path}/{name}.sqlite")
        try:
            ids.append(ViewStore(other.sessionmaker).create("latency", [icmp_group("b")]))
        finally:
            other.close()
    assert ids[0] == ids[1]


def test_add_and_remove_group(services: Services) -> None:
    views = ViewStore(services.sessionmaker)
    one = views.create("latency", [icmp_group("b")])
    two = views.add_group(one, icmp_group("c"))
    assert two != one
    assert views.get(two).descriptions == sorted([icmp_group("b"), icmp_group("c")])
    assert views.add_group(two, icmp_group("c")) == two
    assert views.create("latency", [icmp_group("c"), icmp_group("b")]) == two
    assert views.remove_group(two, icmp_group("c")) == one
    # The originals are unchanged: views are immutable.
    assert views.get(one).descriptions == [icmp_group("b")]
    empty = views.remove_group(one, parse_group(icmp_group("b")))
    assert views.get(empty).descriptions == []
    with pytest.raises(BadGroupDescription, match="has no group"):
        views.remove_group(one, icmp_group("zzz"))
    with pytest.raises(BadGroupDescription, match="COLOUR"):
        views.add_group(one, "amp-icmp FROM a TO b SIZE 84 COLOUR red")


def test_traceroute_view_holds_one_group_which_a_new_one_replaces(services: Services) -> None:
    views = ViewStore(services.sessionmaker)
    first = views.create("traceroute", [traceroute_group("b")])
    replaced = views.add_group(first, traceroute_group("c"))
    assert views.get(replaced).descriptions == [traceroute_group("c")]
    assert replaced == views.create("traceroute", [traceroute_group("c")])
    with pytest.raises(BadGroupDescription, match="at most 1 amp-traceroute group"):
        views.create("traceroute", [traceroute_group("b"), traceroute_group("c")])
    # Latency groups may be many.
    many = views.create("latency", [icmp_group(f"d{i}") for i in range(5)])
    assert len(views.get(many).groups) == 5


@pytest.mark.parametrize(
    ("style", "named"),
    [("throughput", "not amp-icmp"), ("traceroute", "not amp-icmp"), ("nothing", "nothing")],
)
def test_style_and_collection_mismatch(services: Services, style: str, named: str) -> None:
    views = ViewStore(services.sessionmaker)
    with pytest.raises(BadGroupDescription) as raised:
        views.create(style, [icmp_group("b")])
    assert named in str(raised.value)


def test_latency_and_loss_styles_draw_the_latency_collections() -> None:
    styles = view_styles()
    assert set(styles["latency"]) == {
        "amp-icmp",
        "amp-dns",
        "amp-tcpping",
        "amp-fastping",
        "amp-sip",
    }
    assert styles["loss"] == styles["latency"]
    for collection in all_collections():
        assert collection.name in styles[collection.view_style]


def test_mixed_latency_view(services: Services) -> None:
    views = ViewStore(services.sessionmaker)
    tcp = make_group(
        "amp-tcpping",
        {"source": "a", "destination": "b", "port": "443", "packet_size": "64"},
    ).description
    mixed = views.create("latency", [icmp_group("b"), tcp])
    assert {g.collection for g in views.get(mixed).groups} == {"amp-icmp", "amp-tcpping"}


@pytest.mark.parametrize("view_id", ["", "short", "ABCDEFGHIJKL", "aaaaaaaaaaaa", None, 12])
def test_unknown_view(services: Services, view_id: object) -> None:
    views = ViewStore(services.sessionmaker)
    with pytest.raises(UnknownView):
        views.get(view_id)  # type: ignore[arg-type]
    with pytest.raises(UnknownView):
        views.add_group(view_id, icmp_group("b"))  # type: ignore[arg-type]


def test_fileops_groups_read_as_what_on_which_host() -> None:
    from ampy.groups import make_group

    group = make_group(
        "fileops", {"host": "web1", "kind": "file", "name": "/etc/passwd", "process": "sshd"}
    )
    assert group.title == "/etc/passwd (file) on web1, by sshd"
    process = make_group(
        "fileops", {"host": "web1", "kind": "process", "name": "bash", "process": "bash"}
    )
    assert process.title == "bash (process) on web1"
