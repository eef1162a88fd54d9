"""Helpers the unit tests of the AMP collections share (tests/unit/test_amp_*.py)."""

from __future__ import annotations

import socket

SOURCE = "amp-mon"
TIMESTAMP = 1_700_000_000
V4 = socket.AF_INET
V6 = socket.AF_INET6
#: How a missing IPv4 address is written (the unspecified address).
ANY_V4 = socket.inet_ntop(V4, bytes(4))


def ip(text):
    """A packed address, as on the wire."""
    return socket.inet_pton(V6 if ":" in text else V4, text)


def parse(collection, report, source=SOURCE, timestamp=TIMESTAMP):
    return collection.parse(report, source, timestamp)


def by(rows, *names):
    """Rows keyed by the given properties."""
    return {tuple(row.properties[name] for name in names): row for row in rows}
