"""Every declared collection keeps the invariants the layers above rely on.

Parametrised over `nntsc.collections.all_collections()`, so a new collection
module is checked as soon as it is registered: names that make SQL
identifiers, a stream key, fields with a presence field, tables on the
shared metadata, a wire message and a demo simulator for an amplet2 test,
detections of its own fields, and a malformed report refused as `BadReport`.
"""

from __future__ import annotations

import contextlib
import re

import pytest

import ampy.collections as presentation
from nntsc.collections import Collection, all_collections, for_amp_test
from nntsc.demo.simulators import SIMULATORS
from nntsc.errors import BadReport
from nntsc.events.detectors import DETECTORS
from nntsc.plugins import declared_metadata
from nntsc.store.models import ROLLUP_LEVELS, rollup_columns
from nntsc.wire import TEST_TYPES

COLLECTIONS = all_collections()
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
#: Column names every data and rollup table has besides the fields.
RESERVED = {"stream_id", "timestamp"}
#: PostgreSQL truncates longer identifiers (table names are built from the slug).
MAX_IDENTIFIER = 63


def ids(collection: Collection) -> str:
    return collection.name


@pytest.fixture(params=COLLECTIONS, ids=ids)
def collection(request: pytest.FixtureRequest) -> Collection:
    return request.param


def test_names_make_urls_and_sql_identifiers(collection: Collection) -> None:
    assert NAME.match(collection.name), "lower-case words joined by '-'"
    assert len(collection.name) <= 64, "collections.name is String(64)"
    assert NAME.match(collection.view_style)
    longest = f"rollup_{collection.slug}_{max(ROLLUP_LEVELS)}"
    assert len(longest) <= MAX_IDENTIFIER
    assert collection.description, "shown in the API and the collection list"


def test_names_and_slugs_are_unique() -> None:
    assert len({c.name for c in COLLECTIONS}) == len(COLLECTIONS)
    assert len({c.slug for c in COLLECTIONS}) == len(COLLECTIONS)


def test_the_stream_key(collection: Collection) -> None:
    names = collection.property_names
    assert names, "a stream key of at least one property"
    assert len(set(names)) == len(names)
    for prop in collection.properties:
        assert IDENTIFIER.match(prop.name), prop.name
        assert prop.name not in RESERVED, prop.name
        assert prop.label, prop.name
        assert prop.max_length > 0, prop.name
    assert set(collection.endpoint_properties) <= set(names)
    properties = {name: f"value-{index}" for index, name in enumerate(names)}
    assert collection.key_getter(properties) == tuple(properties.values())


def test_the_fields(collection: Collection) -> None:
    names = collection.field_names
    assert names
    assert len(set(names)) == len(names)
    assert not set(names) & set(collection.property_names), "a field named as a property"
    for fld in collection.fields:
        assert IDENTIFIER.match(fld.name), fld.name
        assert fld.name not in RESERVED, fld.name
        assert fld.kind in ("int", "float", "array"), fld.name
    assert collection.presence_field in names
    columns = rollup_columns(collection)
    assert len(set(columns)) == len(columns)


def test_its_tables_are_declared(collection: Collection) -> None:
    slug = collection.slug
    metadata = declared_metadata()
    streams = metadata.tables[f"streams_{slug}"]
    assert [c.name for c in streams.columns] == ["stream_id", *collection.property_names]
    data = metadata.tables[f"data_{slug}"]
    assert [c.name for c in data.columns] == ["stream_id", "timestamp", *collection.field_names]
    for level in ROLLUP_LEVELS:
        rollup = metadata.tables[f"rollup_{slug}_{level}"]
        assert [c.name for c in rollup.columns][2:] == rollup_columns(collection)


def test_an_amplet2_collection_has_a_wire_message_and_a_simulator(
    collection: Collection,
) -> None:
    if collection.amp_test is None:
        assert not collection.parses_messages, "parses messages of no amplet2 test"
        return
    assert collection.amp_test in TEST_TYPES, "a proto in nntsc/wire/proto/"
    assert collection.amp_test in SIMULATORS, "a simulator in nntsc/demo/simulators/"
    assert collection in for_amp_test(collection.amp_test)


def test_detections_watch_its_own_fields(collection: Collection) -> None:
    for detection in collection.detections:
        assert detection.detector in DETECTORS, detection
        assert detection.field in collection.field_names, detection
    watched = [(d.detector, d.metric_name) for d in collection.detections]
    assert len(set(watched)) == len(watched), "one detector per metric"


@pytest.mark.parametrize("report", [None, "text", 7, [], [{}]], ids=repr)
def test_a_malformed_report_is_a_bad_report(collection: Collection, report: object) -> None:
    with pytest.raises(BadReport):
        collection.parse(report, "amp-source", 1_700_000_000)


def test_an_empty_report_gives_no_rows_or_a_bad_report(collection: Collection) -> None:
    with contextlib.suppress(BadReport):
        assert list(collection.parse({}, "amp-source", 1_700_000_000)) == []


def test_its_presentation_agrees_with_it(collection: Collection) -> None:
    spec = presentation.get(collection.name)
    spec.check()
    assert spec.styles[0].name == collection.view_style
