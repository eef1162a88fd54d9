"""The young-generation GC threshold is raised while ingesting, and restored after."""

from __future__ import annotations

import gc

import pytest

from nntsc.ingest.pipeline import GC_YOUNG_OBJECTS, Ingestor, fewer_collections
from tests.conftest import make_services


@pytest.fixture
def default_threshold():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*before)


def test_overlapping_holders_restore_the_threshold_when_the_last_leaves(default_threshold) -> None:
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    assert gc.get_threshold() == (GC_YOUNG_OBJECTS, 10, 10)
    second.__enter__()
    first.__exit__(None, None, None)
    # The second holder still ingests: the threshold stays raised.
    assert gc.get_threshold() == (GC_YOUNG_OBJECTS, 10, 10)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == default_threshold


def test_an_ingestor_raises_it_while_open_even_when_it_fails(tmp_path, default_threshold) -> None:
    services = make_services(f"sqlite:///{tmp_path}/gc.sqlite")
    with Ingestor(services):
        assert gc.get_threshold()[0] == GC_YOUNG_OBJECTS
    assert gc.get_threshold() == default_threshold
    with pytest.raises(RuntimeError), Ingestor(services):
        raise RuntimeError("a failed import")
    assert gc.get_threshold() == default_threshold
    services.close()
