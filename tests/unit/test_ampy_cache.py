"""The block cache in memory: what is reused, what is computed again."""

from __future__ import annotations

from typing import Any

from ampy.cache import BLOCK_BINS, HistoryCache, make_cache_region

BINSIZE = 300
LENGTH = BINSIZE * BLOCK_BINS


class CountingStore:
    """Answers one row per bin whose value says when it was computed."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []
        self.version = 0

    def compute(self, first: int, last: int) -> list[list[Any]]:
        self.calls.append((first, last))
        return [[b, self.version] for b in range(first, last, BINSIZE)]


def test_a_block_cached_while_it_held_now_is_computed_again_once_finished() -> None:
    cache = HistoryCache(make_cache_region("memory://", "test"))
    store = CountingStore()
    start = 100 * LENGTH
    end = start + 2 * LENGTH
    # "now" is inside the second block: it is partial and cached briefly.
    now = start + LENGTH + 10 * BINSIZE
    cache.rows("k", BINSIZE, start, end, now, store.compute)
    store.version = 1
    # A few seconds later the second block has finished: it must be read again.
    later = end + 5
    rows = cache.rows("k", BINSIZE, start, end, later, store.compute)
    assert store.calls[-1] == (start + LENGTH, end)
    assert {row[1] for row in rows if row[0] >= start + LENGTH} == {1}
    # The first block was finished all along and comes from the cache.
    assert {row[1] for row in rows if row[0] < start + LENGTH} == {0}


def test_finished_blocks_are_reused_across_overlapping_ranges() -> None:
    cache = HistoryCache(make_cache_region("memory://", "test"))
    store = CountingStore()
    start = 100 * LENGTH
    now = start + 10 * LENGTH
    cache.rows("k", BINSIZE, start, start + 3 * LENGTH, now, store.compute)
    assert store.calls == [(start, start + 3 * LENGTH)]
    # Panning right by one block reads only the new block.
    cache.rows("k", BINSIZE, start + LENGTH, start + 4 * LENGTH, now, store.compute)
    assert store.calls[-1] == (start + 3 * LENGTH, start + 4 * LENGTH)
    assert len(store.calls) == 2


def test_null_cache_computes_every_time() -> None:
    cache = HistoryCache(make_cache_region("null://"))
    store = CountingStore()
    cache.rows("k", BINSIZE, 0, LENGTH, 10 * LENGTH, store.compute)
    cache.rows("k", BINSIZE, 0, LENGTH, 10 * LENGTH, store.compute)
    assert len(store.calls) == 2


def test_relative_loss_against_a_zero_baseline_is_coloured() -> None:
    """A pair whose usual loss is 0 % and now loses 57 % once showed as "no data"."""
    from ampy.matrix import metrics

    loss = metrics()["loss"]
    assert loss.colour_class(57.0, 0.0, "relative") == "c6"
    assert loss.colour_class(0.0, 0.0, "relative") == "c1"
    assert loss.colour_class(5.0, None, "relative") == "none"
    assert metrics()["throughput"].colour_class(900.0, 0.0, "relative") == "c0"


def test_hot_values_are_served_from_the_process_without_the_shared_cache() -> None:
    cache = HistoryCache(make_cache_region("memory://", "test"))
    computed: list[int] = []

    def compute() -> bytes:
        computed.append(1)
        return b"answer"

    assert cache.value("k", compute, 60, hot=True) == b"answer"
    # Emptying the shared region does not reach a value this process holds hot.
    cache.region.backend._cache.clear()  # type: ignore[union-attr]
    assert cache.value("k", compute, 60, hot=True) == b"answer"
    assert computed == [1]
    # Without `hot` the shared region is asked, and it was emptied.
    assert cache.value("k", compute, 60) == b"answer"
    assert computed == [1, 1]
