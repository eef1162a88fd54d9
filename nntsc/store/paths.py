"""Traceroute paths, stored once each, and the queries over them.

A traceroute row does not hold its path: it holds the id of an IP path
(``traceroute_ip_paths``) and of an AS path (``traceroute_as_paths``), each
stored once however many rows, streams and monitors report it
(`docs/collections.md`). A path is found by the SHA-1 of its canonical
text (the unique ``fingerprint`` column), so a lookup is one index probe
whatever the path's length.

`PathRegistry` maps paths to ids, creating them on first sight, with an
in-memory cache. Unlike the predecessor it needs no "pending" cache promoted
after commit: a path is inserted and committed in its own transaction before
any row that points at it is buffered, so every cached id exists in the
database (a row batch that later fails leaves an unused path behind, which a
later report reuses). Concurrent inserts of one path (other collectors) meet
at the unique fingerprint: ``INSERT ... ON CONFLICT DO NOTHING`` followed by a
lookup gives every writer the same id, with no error to recover from. The
cache is bounded and evicts the least recently *used* entries (the
predecessor dropped entries by age since insertion, so busy paths were
looked up again every few hours).
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Table, select
from sqlalchemy.orm import Session, sessionmaker

from nntsc.collections.amp_traceroute import AS_NULL, AS_PRIVATE, MAX_ASN, run_length
from nntsc.errors import BadQuery, BadReport, NntscError
from nntsc.store.models import as_path_table, ip_path_table
from nntsc.store.sqlutil import upsert

__all__ = [
    "PathRegistry",
    "UnknownPath",
    "as_fingerprint",
    "as_path_changes",
    "as_path_key",
    "as_path_table",
    "distinct_paths",
    "ip_fingerprint",
    "ip_path_key",
    "ip_path_table",
    "path_registry",
    "same_path",
]

#: Cached path ids per registry (IP and AS each); least recently used go first.
CACHE_SIZE = 200_000
#: Fingerprints looked up per query.
LOOKUP_CHUNK = 500


class UnknownPath(NntscError):
    """A path id that is not in the database."""

    def __init__(self, kind: str, path_id: int) -> None:
        super().__init__(f"unknown {kind} path {path_id}")
        self.path_id = path_id


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("ascii"), usedforsecurity=False).hexdigest()


def canonical_ip_path(family: str, hops: Iterable[str | None]) -> tuple[str | None, ...]:
    """`hops` with every address in canonical text; `BadReport` if one is not of `family`."""
    version = {"ipv4": 4, "ipv6": 6}.get(family)
    if version is None:
        raise BadReport(f"path family {family!r} is neither ipv4 nor ipv6")
    canonical: list[str | None] = []
    for hop in hops:
        if hop is None:
            canonical.append(None)
            continue
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            raise BadReport(f"path hop {hop!r} is not an IP address") from None
        if address.version != version:
            raise BadReport(f"path hop {hop} is not an {family} address")
        canonical.append(str(address))
    return tuple(canonical)


def ip_fingerprint(family: str, hops: Sequence[str | None]) -> str:
    """The fingerprint of a canonical IP path: ``sha1("ipv4 192.0.2.1 * 198.51.100.7")``."""
    return _sha1(" ".join([family, *(hop or "*" for hop in hops)]))


def as_fingerprint(path: Sequence[Sequence[int]]) -> str:
    """The fingerprint of a run-length encoded AS path: ``sha1("64496x2 -1x1")``."""
    return _sha1(" ".join(f"{asn}x{count}" for asn, count in path))


class PathKey(NamedTuple):
    """A path as compared for changes: its hops (or ASNs) up to the last that answered."""

    hops: tuple[Any, ...]
    #: Whether silent hops followed: the path may go on beyond `hops`.
    truncated: bool


def as_path_key(path: Sequence[Sequence[int]]) -> PathKey:
    """An AS path for comparison: its AS numbers in order, trailing silence cut.

    Hop counts inside an AS do not matter (an IP path change shows them).
    """
    asns = [asn for asn, _ in path]
    end = len(asns)
    while end and asns[end - 1] == AS_NULL:
        end -= 1
    return PathKey(tuple(asns[:end]), end < len(asns))


def ip_path_key(hops: Sequence[str | None]) -> PathKey:
    """An IP path for comparison: the hops, trailing silent hops cut."""
    end = len(hops)
    while end and hops[end - 1] is None:
        end -= 1
    return PathKey(tuple(hops[:end]), end < len(hops))


def same_path(first: PathKey, second: PathKey) -> bool:
    """Whether two paths are the same route: equal, or one ends in silence where the other goes on.

    A path whose last hops stopped answering is the path it was (the
    destination side went quiet, the route did not change), so its
    answering part need only be the start of the other.
    """
    if first.hops == second.hops:
        return True
    if first.truncated and second.hops[: len(first.hops)] == first.hops:
        return True
    return second.truncated and first.hops[: len(second.hops)] == second.hops


def _as_hops(path: Sequence[Sequence[int]]) -> int:
    real = [asn for asn, _ in path if asn != AS_NULL]
    return sum(1 for index, asn in enumerate(real) if index == 0 or asn != real[index - 1])


class _Cache:
    """A bounded, thread-safe mapping that forgets the least recently used entries first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class PathRegistry:
    """Path ids by path, created on first sight; paths by id. Safe across threads and processes."""

    def __init__(self, sessions: sessionmaker[Session], cache_size: int = CACHE_SIZE) -> None:
        self.sessions = sessions
        self._ip_ids = _Cache(cache_size)
        self._as_ids = _Cache(cache_size)
        self._ip_paths = _Cache(cache_size)
        self._as_paths = _Cache(cache_size)
        self._lock = threading.Lock()

    # -- path -> id ---------------------------------------------------------------

    def ip_path_id(self, family: str, hops: Sequence[str | None]) -> int:
        """The id of the IP path `hops` (addresses, ``None`` for silent hops) of `family`."""
        key = (family, tuple(hops))
        return self.ip_path_ids([key])[key]

    def as_path_id(self, asns: Sequence[int]) -> int:
        """The id of the AS path whose per-hop AS numbers are `asns`."""
        key = tuple(asns)
        return self.as_path_ids([key])[key]

    def ip_path_ids(
        self, paths: Iterable[tuple[str, tuple[str | None, ...]]]
    ) -> dict[tuple[str, tuple[str | None, ...]], int]:
        """Ids of several (family, hops) paths at once, created if new."""
        wanted: dict[Hashable, dict[str, Any]] = {}
        found: dict[Any, int] = {}
        for key in paths:
            cached = self._ip_ids.get(key)
            if cached is not None:
                found[key] = cached
                continue
            if key in wanted:
                continue
            family, hops = key
            canonical = canonical_ip_path(family, hops)
            wanted[key] = {
                "family": family,
                "length": len(canonical),
                "hops": list(canonical),
                "fingerprint": ip_fingerprint(family, canonical),
            }
        if wanted:
            found.update(self._lookup_or_insert(ip_path_table, self._ip_ids, wanted))
        return found

    def as_path_ids(self, paths: Iterable[tuple[int, ...]]) -> dict[tuple[int, ...], int]:
        """Ids of several AS paths (per-hop AS numbers) at once, created if new."""
        wanted: dict[Hashable, dict[str, Any]] = {}
        found: dict[Any, int] = {}
        for key in paths:
            cached = self._as_ids.get(key)
            if cached is not None:
                found[key] = cached
                continue
            if key in wanted:
                continue
            for asn in key:
                if type(asn) is not int or not AS_PRIVATE <= asn <= MAX_ASN:
                    raise BadReport(f"AS number {asn!r} is out of range")
            encoded = run_length(key)
            wanted[key] = {
                "length": _as_hops(encoded),
                "hop_count": len(key),
                "path": [list(pair) for pair in encoded],
                "fingerprint": as_fingerprint(encoded),
            }
        if wanted:
            found.update(self._lookup_or_insert(as_path_table, self._as_ids, wanted))
        return found

    def _lookup_or_insert(
        self, table: Table, cache: _Cache, wanted: Mapping[Hashable, dict[str, Any]]
    ) -> dict[Any, int]:
        by_fingerprint: dict[str, list[Hashable]] = defaultdict(list)
        for key, record in wanted.items():
            by_fingerprint[record["fingerprint"]].append(key)
        with self._lock:
            ids = self._select_ids(table, list(by_fingerprint))
            missing = [fp for fp in by_fingerprint if fp not in ids]
            if missing:
                records = {fp: wanted[by_fingerprint[fp][0]] for fp in missing}
                # Committed on its own: other writers see the path at once,
                # and a concurrent insert of the same path is a no-op here.
                # Sorted, so that two writers lock shared paths in one order.
                with self.sessions.begin() as session:
                    upsert(
                        session.connection(),
                        table,
                        [records[fp] for fp in sorted(missing)],
                        ("fingerprint",),
                        update=(),
                    )
                ids.update(self._select_ids(table, missing))
                lost = [fp for fp in missing if fp not in ids]
                if lost:  # pragma: no cover - only if someone deletes paths meanwhile
                    raise RuntimeError(f"{table.name}: {len(lost)} inserted paths vanished")
            result = {}
            for fp, keys in by_fingerprint.items():
                for key in keys:
                    cache.put(key, ids[fp])
                    result[key] = ids[fp]
            return result

    def _select_ids(self, table: Table, fingerprints: Sequence[str]) -> dict[str, int]:
        ids: dict[str, int] = {}
        with self.sessions() as session:
            for start in range(0, len(fingerprints), LOOKUP_CHUNK):
                chunk = fingerprints[start : start + LOOKUP_CHUNK]
                query = select(table.c.fingerprint, table.c.path_id).where(
                    table.c.fingerprint.in_(chunk)
                )
                found: Iterable[tuple[str, int]] = session.execute(query)
                for fp, path_id in found:
                    ids[fp] = path_id
        return ids

    # -- id -> path ---------------------------------------------------------------

    def ip_path(self, path_id: int) -> dict[str, Any]:
        """The IP path `path_id`: {path_id, family, length, hops}; `UnknownPath` if absent."""
        return self.ip_paths([path_id])[path_id]

    def as_path(self, path_id: int) -> dict[str, Any]:
        """The AS path `path_id`: {path_id, length, hop_count, path}; `UnknownPath` if absent."""
        return self.as_paths([path_id])[path_id]

    def ip_paths(self, path_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Several IP paths by id; `UnknownPath` for the first id that does not exist."""
        return self._fetch(
            "IP", ip_path_table, self._ip_paths, path_ids, ("family", "length", "hops")
        )

    def as_paths(self, path_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Several AS paths by id; `UnknownPath` for the first id that does not exist."""
        return self._fetch(
            "AS", as_path_table, self._as_paths, path_ids, ("length", "hop_count", "path")
        )

    def _fetch(
        self,
        kind: str,
        table: Table,
        cache: _Cache,
        path_ids: Iterable[int],
        columns: Sequence[str],
    ) -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        missing = []
        for path_id in dict.fromkeys(path_ids):
            cached = cache.get(path_id)
            if cached is not None:
                found[path_id] = _copy(cached)
            else:
                missing.append(path_id)
        with self.sessions() as session:
            for start in range(0, len(missing), LOOKUP_CHUNK):
                chunk = missing[start : start + LOOKUP_CHUNK]
                query = select(table.c.path_id, *(table.c[c] for c in columns)).where(
                    table.c.path_id.in_(chunk)
                )
                for row in session.execute(query):
                    record = {"path_id": row[0], **dict(zip(columns, row[1:], strict=True))}
                    cache.put(row[0], record)
                    found[row[0]] = _copy(record)
        for path_id in missing:
            if path_id not in found:
                raise UnknownPath(kind, path_id)
        return found


def _copy(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy callers may change without touching the cache."""
    return {
        key: [list(v) if isinstance(v, list) else v for v in value]
        if isinstance(value, list)
        else value
        for key, value in record.items()
    }


def path_registry(services: Any) -> PathRegistry:
    """The `PathRegistry` of `services` (`Services.paths`)."""
    return services.paths


# -- queries ------------------------------------------------------------------------


def _collection(collection: Any) -> Any:
    if isinstance(collection, str):
        from nntsc.collections import get

        return get(collection)
    return collection


def distinct_paths(
    services: Any, collection: Any, stream_id: int, start: int, end: int
) -> list[dict[str, Any]]:
    """The IP paths a traceroute stream took in [start, end), most frequent first.

    Each is {path_id, family, length, hops, count, first_seen, last_seen};
    ties are ordered by first sighting. Reads the stream's raw rows (a bounded
    read: `BadQuery` beyond the store's raw-row limit), so only ranges whose
    raw data is still kept are answered. Rows without an IP path (untested
    targets, AS-only reports) are not counted.
    """
    collection = _collection(collection)
    if "ip_path_id" not in collection.field_names:
        raise BadQuery(f"collection {collection.name} has no IP paths")
    seen: dict[int, list[int]] = {}
    for row in services.timeseries.raw(collection, [stream_id], start, end):
        path_id = row.values.get("ip_path_id")
        if path_id is None:
            continue
        path_id = int(path_id)
        entry = seen.get(path_id)
        if entry is None:
            seen[path_id] = [1, row.timestamp, row.timestamp]
        else:
            entry[0] += 1
            entry[1] = min(entry[1], row.timestamp)
            entry[2] = max(entry[2], row.timestamp)
    paths = path_registry(services).ip_paths(seen)
    result = [
        {
            **paths[path_id],
            "count": count,
            "first_seen": first,
            "last_seen": last,
        }
        for path_id, (count, first, last) in seen.items()
    ]
    result.sort(key=lambda entry: (-entry["count"], entry["first_seen"], entry["path_id"]))
    return result


def as_path_changes(services: Any, stream_id: int, start: int, end: int) -> list[dict[str, Any]]:
    """When the AS path of a traceroute stream changed in [start, end), oldest first.

    Each change is {timestamp, from_path_id, to_path_id, from_path, to_path},
    the paths as ``[[asn, count], ...]``, at the first row showing the new
    path. Rows without an AS path (untested targets, reports without AS
    numbers) are skipped rather than counted as a change, and so is a path
    that differs only by silent trailing hops (`same_path`). The stream may
    belong to ``amp-astraceroute`` or ``amp-traceroute`` (both keep
    ``as_path_id``). Only changes inside the range are found: the first row
    is compared with nothing before it.
    """
    from nntsc.collections import get

    collection = get(services.streams.get(stream_id).collection)
    if "as_path_id" not in collection.field_names:
        raise BadQuery(f"stream {stream_id} ({collection.name}) has no AS paths")
    rows = sorted(
        services.timeseries.raw(collection, [stream_id], start, end), key=lambda r: r.timestamp
    )
    ids = {row.values.get("as_path_id") for row in rows} - {None}
    paths = path_registry(services).as_paths(int(path_id) for path_id in ids)
    # A path that differs only by silent trailing hops is the same path
    # (`same_path`), not a change and a change back.
    changes: list[tuple[int, int, int]] = []
    previous = None
    for row in rows:
        path_id = row.values.get("as_path_id")
        if path_id is None:
            continue
        path_id = int(path_id)
        if previous is not None and not same_path(
            as_path_key(paths[path_id]["path"]), as_path_key(paths[previous]["path"])
        ):
            changes.append((row.timestamp, previous, path_id))
        previous = path_id
    return [
        {
            "timestamp": timestamp,
            "from_path_id": old,
            "to_path_id": new,
            "from_path": paths[old]["path"],
            "to_path": paths[new]["path"],
        }
        for timestamp, old, new in changes
    ]
