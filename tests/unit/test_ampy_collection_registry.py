"""The registry of collection presentations (`ampy.collections`): one module per collection."""

from __future__ import annotations

import importlib
import importlib.util

import pytest

import ampy.collections as presentation
from ampy.groups import GroupSpec
from ampy.matrix import Metric
from ampy.series import spec_for
from nntsc.collections import all_collections


@pytest.mark.parametrize("name", [c.name for c in all_collections()])
def test_every_stored_collection_has_its_module(name: str) -> None:
    module_name = f"ampy.collections.{name.replace('-', '_')}"
    assert importlib.util.find_spec(module_name) is not None, f"{module_name} is missing"
    module = importlib.import_module(module_name)
    assert presentation.get(name) is module.COLLECTION
    module.COLLECTION.check()


def test_each_style_has_one_title_and_the_collections_drawing_it() -> None:
    styles = presentation.style_collections()
    drawn = ("amp-dns", "amp-fastping", "amp-icmp", "amp-sip", "amp-tcpping")
    assert styles["latency"] == styles["loss"] == drawn
    assert styles["sip"] == ("amp-sip",)
    assert styles["youtube"] == ("amp-youtube",)
    assert styles["external"] == ("amp-external",)
    assert presentation.style("jitter").title == "UDP jitter"
    assert presentation.style("throughput").default_span == 7 * presentation.DAY
    assert presentation.style("no-such-style").title == "no-such-style"


def test_tab_order_and_matrix_order_come_from_the_modules() -> None:
    assert [s.name for s in presentation.all_specs()][:3] == ["amp-icmp", "amp-dns", "amp-tcpping"]
    assert list(presentation.metrics())[:3] == ["latency", "loss", "hops"]


def _metric(**changes: object) -> Metric:
    base: dict[str, object] = {
        "name": "x",
        "position": 1,
        "label": "X",
        "collection": "amp-icmp",
        "style": "latency",
        "numerator": ("median", "sum"),
        "denominator": ("median", "count"),
        "scale": 1.0,
        "unit": "ms",
        "steps": (1, 2, 3, 4, 5, 6),
        "stale_after": 60,
    }
    base.update(changes)
    return Metric(**base)  # type: ignore[arg-type]


def test_metrics_take_keywords_only() -> None:
    with pytest.raises(TypeError):
        Metric("latency", 1, "Latency")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        # The collection's own style must come first.
        (
            presentation.CollectionSpec("amp-icmp", (presentation.ViewStyle("http", "HTTP"),)),
            "first",
        ),
        # The shared style under another title.
        (
            presentation.CollectionSpec("amp-icmp", (presentation.ViewStyle("latency", "Delay"),)),
            "differs",
        ),
        (
            presentation.CollectionSpec(
                "amp-icmp",
                (presentation.ViewStyle("latency", "Latency"),),
                groups=GroupSpec("amp-icmp", ("source", "nonsense")),
            ),
            "no property nonsense",
        ),
        (
            presentation.CollectionSpec(
                "amp-tcpping",
                (presentation.ViewStyle("latency", "Latency"),),
                metrics=(_metric(name="loss", collection="amp-tcpping"),),
            ),
            "another collection has a metric loss",
        ),
    ],
)
def test_a_spec_that_disagrees_is_refused_and_changes_nothing(
    spec: presentation.CollectionSpec, complaint: str
) -> None:
    before = presentation.get(spec.name)
    with pytest.raises(ValueError, match=complaint):
        presentation.register(spec)
    assert presentation.get(spec.name) is before


def test_every_collection_has_a_history_spec() -> None:
    spec = spec_for("amp-dns")
    names = [column.name for column in spec.columns("full")]
    # DNS draws on latency graphs, so it answers the latency columns.
    assert names == ["latency", "min", "max", "loss", "results", "smoke"]


def test_the_styles_follow_collections_registered_and_forgotten() -> None:
    from nntsc.collections import Collection, Field, Property
    from nntsc.collections import register as register_collection
    from nntsc.collections import unregister as unregister_collection

    class Dial(Collection):
        name = "test-dial"
        view_style = "dial"
        title = "Dial"
        description = "a collection without a module of its own"
        properties = (Property("source", "Source"),)
        fields = (Field("reading", "float", "V"),)
        presence_field = "reading"

        def parse(self, report: object, source: str, timestamp: int) -> list:
            return []

    before = presentation.style_collections()
    assert "dial" not in before
    register_collection(Dial())
    try:
        # Kept between changes, computed again after one: the stored collection's own style.
        assert presentation.style_collections()["dial"] == ("test-dial",)
        spec = presentation.CollectionSpec(
            "test-dial",
            (presentation.ViewStyle("dial", "Dial"), presentation.ViewStyle("dial2", "Dial 2")),
        )
        presentation.register(spec)
        try:
            styles = presentation.style_collections()
            assert styles["dial"] == styles["dial2"] == ("test-dial",)
        finally:
            presentation.unregister("test-dial")
        styles = presentation.style_collections()
        assert styles["dial"] == ("test-dial",)
        assert "dial2" not in styles
    finally:
        unregister_collection("test-dial")
    assert presentation.style_collections() == before
    # Each caller gets its own dict.
    presentation.style_collections()["dial"] = ("changed",)
    assert "dial" not in presentation.style_collections()
