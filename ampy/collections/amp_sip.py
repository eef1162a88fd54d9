"""SIP calls: voice quality (MOS) in its own style, round trips as latency, RTP loss as loss.

Each call is two streams, the RTP audio received (``rx``) and sent
(``tx``); a group splits them into lines by direction and by the family of
the RTP peer's address. The same columns serve three styles: ``sip`` draws
the MOS on a fixed 1–4.5 axis, ``latency`` the call's round trip over its
smoke and ``loss`` the share of RTP packets lost. The matrix tab shows the
MOS of calls to a site (the host of the SIP URI names it).
"""

from __future__ import annotations

from ampy.collections import CollectionSpec, ViewStyle
from ampy.collections._latency import LATENCY, LOSS
from ampy.groups import ADDRESS_FAMILY, GroupSpec, Split
from ampy.matrix import Metric
from ampy.series import LOSSRATE, MICROSECONDS_TO_MS, Column, SeriesSpec, same_columns

NAME = "amp-sip"

DIRECTION_LABELS = {"rx": "received", "tx": "sent"}

SIP = ViewStyle("sip", "SIP voice quality (MOS)")


def sip_site(uri: str) -> str | None:
    """The site a SIP URI calls: its host (``sip:echo@amp-akl:5060;transport=tcp`` calls
    ``amp-akl``; ``None`` for none), for the matrix's columns (`Metric.destination`).

    A SIP URI (``sip:user@host:port;params``, RFC 3261) has no ``//``, so its
    host is what follows the ``@`` (or the scheme), up to a port or parameter.
    """
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        return None
    host = rest.rpartition("@")[2].split(";", 1)[0].split("?", 1)[0]
    # An IPv6 literal is bracketed; otherwise a port follows a colon.
    host = host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]
    return host.lower() or None


def _ms(name: str, field: str, function: str = "mean") -> Column:
    return Column(name, field, function, MICROSECONDS_TO_MS, "ms")


_MOS = Column("mos", "mos", "mean", unit="MOS")
_LATENCY = _ms("latency", "rtt_mean")
_LOSS = Column("loss", "lost", "sum")
_RESULTS = Column("results", "results", "sum")

COLLECTION = CollectionSpec(
    name=NAME,
    styles=(SIP, LATENCY, LOSS),
    tab_order=85,
    groups=GroupSpec(
        NAME,
        ("source", "destination", "proxy", "filename", "repeat", "max_duration", "dscp"),
        (Split("DIRECTION", "direction", labels=DIRECTION_LABELS), ADDRESS_FAMILY),
        keywords={
            "proxy": "VIA",
            "filename": "FILE",
            "repeat": "REPEAT",
            "max_duration": "DURATION",
        },
        title=lambda v: (
            f"{v['source']} to {v['destination']}"
            + (f" via {v['proxy']}" if v["proxy"] != "none" else "")
            + f", {v['filename']} for {v['max_duration']} s (DSCP {v['dscp']})"
        ),
    ),
    series=SeriesSpec(
        NAME,
        300,
        "mean",
        same_columns(
            (
                _MOS,
                Column("mos_min", "mos", "min", unit="MOS"),
                Column("mos_max", "mos", "max", unit="MOS"),
                _LATENCY,
                _ms("min", "rtt_min", "min"),
                _ms("max", "rtt_max", "max"),
                _ms("smoke", "rtt_mean", "smoke"),
                _LOSS,
                _RESULTS,
                _ms("response", "response_time"),
                _ms("connect", "connect_time"),
                _ms("jitter", "jitter_mean"),
            ),
            (_MOS, _LATENCY, _LOSS, _RESULTS),
        ),
        (LOSSRATE,),
    ),
    metrics=(
        Metric(
            name="sip",
            position=85,
            label="SIP MOS",
            collection=NAME,
            style="sip",
            numerator=("mos", "sum"),
            denominator=("mos", "count"),
            scale=1.0,
            unit="MOS",
            # The ITU-T G.107 user satisfaction bands, from "very satisfied" down.
            steps=(4.34, 4.03, 3.6, 3.1, 2.58, 1.5),
            stale_after=2 * 3600,
            higher_is_better=True,
            destination=sip_site,
        ),
    ),
)
