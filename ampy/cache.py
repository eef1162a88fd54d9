"""The cache: dogpile.cache regions on Redis (production) or process memory (embedded).

`ampy.cache_url` chooses it: ``redis://host:port/db``, ``memory://`` (the
embedded default, a bounded LRU) or ``null://`` (no caching). Everything
cached is derived from immutable things (views) or from time ranges whose
freshness the caller states, so nothing is ever invalidated by hand.

Aggregated history is cached in *blocks*: `BLOCK_BINS` bins of one binsize,
aligned to multiples of the block length, so that panning or zooming a graph
reuses the blocks it already fetched. A block that reaches past "now" lives
`RECENT_TTL` seconds; finished blocks live `FINISHED_TTL`. Concurrent misses
of one block compute it once (dogpile's per-key lock, a Redis lock in
production). A query that fails (store down, timeout) raises and caches
nothing. When the cache itself is unreachable, queries go to the stores.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any
from urllib.parse import urlsplit

import cachetools
import redis
from dogpile.cache import CacheRegion, make_region
from dogpile.cache.api import NO_VALUE
from prometheus_client import Counter

from nntsc.errors import ConfigurationError

log = logging.getLogger(__name__)

#: Bins per cached block of history.
BLOCK_BINS = 32
#: How long the block holding "now" is trusted, in seconds.
RECENT_TTL = 60
#: How long a finished block is kept, in seconds.
FINISHED_TTL = 6 * 3600
#: How long, and how many, "hot" answers a process keeps in front of the shared cache.
HOT_TTL = 10
HOT_ENTRIES = 256
_MISSING = object()
#: Entries trusted at most this long go to the short-lived region.
SHORT_LIVED = 300
#: Entries the in-memory cache keeps before dropping the least recently used.
MEMORY_ENTRIES = 20_000

# Per process (or per gunicorn worker, summed by the multiprocess scrape).
# `kind`: whole answers (matrix, view history) or blocks of aggregated history.
CACHE_HITS = Counter("ampy_cache_hits", "Cache lookups answered from the cache", ["kind"])
CACHE_MISSES = Counter(
    "ampy_cache_misses", "Cache lookups computed from the stores (miss or no cache)", ["kind"]
)


class _LockedLRU(cachetools.LRUCache):
    """An LRU dict safe to share between the web server's threads.

    Re-entrant: cachetools' `get` and `pop` call `__getitem__` themselves.
    """

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self._lock = threading.RLock()

    def __getitem__(self, key: Hashable) -> Any:
        with self._lock:
            return super().__getitem__(key)

    def __setitem__(self, key: Hashable, value: Any) -> None:
        with self._lock:
            super().__setitem__(key, value)

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            return super().get(key, default)

    def pop(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            return super().pop(key, default)


def make_cache_region(
    url: str, namespace: str = "ampy", lifetime: int = FINISHED_TTL
) -> CacheRegion | None:
    """The dogpile region `url` names, its keys prefixed by `namespace`; None for ``null://``.

    On Redis, entries expire `lifetime` seconds (plus a margin) after they
    are written, so short-lived entries get a region of their own rather
    than occupying memory for hours after dogpile stopped trusting them.
    """
    scheme = urlsplit(url).scheme
    mangler = _key_mangler(namespace)
    if scheme == "null":
        return None
    if scheme == "memory":
        return make_region(key_mangler=mangler).configure(
            "dogpile.cache.memory", arguments={"cache_dict": _LockedLRU(MEMORY_ENTRIES)}
        )
    if scheme in ("redis", "rediss"):
        return make_region(key_mangler=mangler).configure(
            "dogpile.cache.redis",
            arguments={
                "url": url,
                # Redis forgets entries a little after dogpile stops trusting them.
                "redis_expiration_time": lifetime + 600,
                "distributed_lock": True,
                "thread_local_lock": False,
                "lock_timeout": 60,
                "socket_timeout": 5,
                "socket_connect_timeout": 2,
            },
        )
    raise ConfigurationError(f"ampy.cache_url: unknown scheme {scheme!r} (redis, memory, null)")


def _key_mangler(namespace: str) -> Callable[[str], str]:
    def mangle(key: str) -> str:
        return f"{namespace}:{key}"

    return mangle


def digest(*parts: object) -> str:
    """A short stable digest of `parts` for cache keys (stream lists can be long)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


Rows = list[list[Any]]


class HistoryCache:
    """Block-aligned caching of aggregated rows around a function that queries the store."""

    def __init__(self, region: CacheRegion | None, recent: CacheRegion | None = None) -> None:
        """Entries living at most `SHORT_LIVED` seconds go to `recent` when given."""
        self.region = region
        self.recent = recent or region
        self._hot: cachetools.TTLCache = cachetools.TTLCache(HOT_ENTRIES, HOT_TTL)
        self._hot_lock = threading.Lock()

    def _region_for(self, ttl: int) -> CacheRegion:
        region = self.recent if ttl <= SHORT_LIVED else self.region
        assert region is not None
        return region

    def value(self, key: str, compute: Callable[[], Any], ttl: int, hot: bool = False) -> Any:
        """`compute()` cached under `key` for `ttl` seconds; concurrent misses compute once.

        `hot` values (whole answers that the same pages ask for again and
        again) are also kept in this process for `HOT_TTL` seconds, which
        saves the round trip to Redis on every request.
        """
        if self.region is None:
            CACHE_MISSES.labels("answer").inc()
            return compute()
        if hot:
            with self._hot_lock:
                found = self._hot.get(key, _MISSING)
            if found is not _MISSING:
                CACHE_HITS.labels("answer").inc()
                return found
            value = self.value(key, compute, ttl)
            with self._hot_lock:
                self._hot[key] = value
            return value
        computed = False

        def counted() -> Any:
            nonlocal computed
            computed = True
            return compute()

        try:
            value = self._region_for(ttl).get_or_create(key, counted, expiration_time=ttl)
        except (redis.RedisError, OSError) as error:
            log.warning("cache unavailable, reading the stores: %s", error)
            CACHE_MISSES.labels("answer").inc()
            return compute()
        (CACHE_MISSES if computed else CACHE_HITS).labels("answer").inc()
        return value

    def rows(
        self,
        key: str,
        binsize: int,
        start: int,
        end: int,
        now: float,
        compute: Callable[[int, int], Rows],
    ) -> Rows:
        """The rows of bins in [align(start), end), one per bin, from blocks or `compute`.

        `compute(first, last)` answers the rows of whole blocks [first, last),
        one row per bin starting with its bin start; `key` names everything
        but the range (collection, streams, columns).
        """
        first_bin = start - start % binsize
        if self.region is None:
            CACHE_MISSES.labels("block").inc()
            return compute(first_bin, _ceil(end, binsize))
        length = binsize * BLOCK_BINS
        blocks = list(range(first_bin - first_bin % length, end, length))
        recent = [b for b in blocks if b + length > now - 1]
        finished = [b for b in blocks if b + length <= now - 1]
        found: dict[int, Rows] = {}
        try:
            found.update(self._blocks(key, binsize, finished, FINISHED_TTL, compute))
            found.update(self._blocks(key, binsize, recent, RECENT_TTL, compute))
        except (redis.RedisError, OSError) as error:
            log.warning("cache unavailable, reading the stores: %s", error)
            CACHE_MISSES.labels("block").inc(len(blocks))
            return [row for row in compute(first_bin, _ceil(end, binsize)) if row[0] < end]
        return [row for block in blocks for row in found[block] if first_bin <= row[0] < end]

    def _blocks(
        self,
        key: str,
        binsize: int,
        starts: Sequence[int],
        ttl: int,
        compute: Callable[[int, int], Rows],
    ) -> dict[int, Rows]:
        if not starts:
            return {}
        region = self._region_for(ttl)
        length = binsize * BLOCK_BINS
        # A block cached while it held "now" is partial: once finished it must
        # be computed again, not found under the same key and trusted for hours.
        state = "recent" if ttl <= SHORT_LIVED else "finished"
        keys = {f"{key}:{binsize}:{block}:{state}": block for block in starts}
        computed = 0

        def create(*missing: str) -> list[Rows]:
            # dogpile's multi-key lock re-checks only what it read before waiting for
            # the lock: blocks another caller made meanwhile are in the cache now.
            again = region.get_multi(list(missing), expiration_time=ttl)
            made: dict[int, Rows] = {
                keys[k]: v for k, v in zip(missing, again, strict=True) if v is not NO_VALUE
            }
            wanted = sorted(keys[k] for k in missing if keys[k] not in made)
            nonlocal computed
            computed += len(wanted)
            # Neighbouring missing blocks are fetched with one query.
            for first, last in _ranges(wanted, length):
                rows = compute(first, last)
                for block in range(first, last, length):
                    made[block] = [row for row in rows if block <= row[0] < block + length]
            return [made[keys[k]] for k in missing]

        values = region.get_or_create_multi(list(keys), create, expiration_time=ttl)
        CACHE_MISSES.labels("block").inc(computed)
        CACHE_HITS.labels("block").inc(len(keys) - computed)
        return {keys[k]: v for k, v in zip(keys, values, strict=True)}


def _ceil(value: int, step: int) -> int:
    return -(-value // step) * step


def _ranges(starts: Sequence[int], length: int) -> list[tuple[int, int]]:
    """Contiguous runs of sorted block starts as [first, end) ranges."""
    ranges: list[tuple[int, int]] = []
    for block in starts:
        if ranges and ranges[-1][1] == block:
            ranges[-1] = (ranges[-1][0], block + length)
        else:
            ranges.append((block, block + length))
    return ranges
