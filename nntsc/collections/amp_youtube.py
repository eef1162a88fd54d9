"""AMP YouTube video playback timings and stalls (amplet2 test ``youtube``).

A report is one playback of one video in a headless browser and becomes one
row; the stream is the video id and the quality asked for (`docs/wire.md`).
All times are milliseconds, as amplet2 measures them in the browser:

* ``pre_time``: from the start of the test until the video starts loading
  (browser and player setup);
* ``initial_buffering``: buffering before playback first starts;
* ``playing_time``: time spent playing;
* ``stall_time`` and ``stall_count``: buffering after playback started;
* ``total_time``: the whole test, from start to the end of the playback.

Where we differ from the predecessor, which stored the quality asked for as
its number and a missing value as 0 (its decoder read unset fields as their
defaults):

* ``quality`` is the level's name as the YouTube player names it
  (``default``, ``small``, ``medium``, ``large``, ``hd720``, ``hd1080``,
  ``hd1440``, ``hd2160``, ``highres``; `QUALITIES` maps amplet2's numbers);
  a report that asks for none asked for ``default``.
* A timing the report does not carry is null, not 0; stalls default to 0 as
  amplet2 declares. ``results`` is 1 for a playback and 0 for a report
  without one (the test could not play the video), whose timings are null.
* ``total_time`` keeps percentiles, for smoke graphs. The playback timeline
  and the video's title are not stored.
"""

from __future__ import annotations

from typing import Any

from nntsc.collections.amp_common import check_envelope, submessage, text, uint
from nntsc.collections.base import Collection, Detection, Field, ParsedRow, Property
from nntsc.errors import BadReport

#: amplet2's Quality enum -> the quality property (YouTube player level names).
QUALITIES = {
    0: "unknown",
    1: "default",
    2: "small",
    3: "medium",
    4: "large",
    5: "hd720",
    6: "hd1080",
    7: "hd1440",
    8: "hd2160",
    9: "highres",
}
#: A video id longer than this is not a YouTube id.
MAX_VIDEO_LENGTH = 64
#: A playback lasting longer than a day (in ms) is not a measurement.
MAX_TIME_MS = 86_400_000
MAX_STALLS = 1_000_000
TIMINGS = ("pre_time", "initial_buffering", "playing_time", "stall_time", "total_time")


class AmpYoutube(Collection):
    name = "amp-youtube"
    view_style = "youtube"
    description = "AMP YouTube video playback timings and stalls"
    title = "YouTube"
    properties = (
        Property("source", "Source"),
        Property("destination", "Video", MAX_VIDEO_LENGTH),
        Property("quality", "Quality", 16),
    )
    fields = (
        Field("total_time", "int", "ms", quantiles=True, description="whole test, start to end"),
        Field("pre_time", "int", "ms", description="before the video started loading"),
        Field("initial_buffering", "int", "ms", description="buffering before playback"),
        Field("playing_time", "int", "ms", description="time spent playing"),
        Field("stall_time", "int", "ms", description="buffering after playback started"),
        Field("stall_count", "int", description="times playback stalled"),
        Field("results", "int", description="1 for a playback, 0 if the video did not play"),
    )
    presence_field = "results"
    #: Level shifts of the time to start loading and of the whole playback, in seconds.
    detections = (
        Detection("level", "pre_time", "s", 0.001),
        Detection("level", "total_time", "s", 0.001),
    )
    amp_test = "youtube"

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        header = check_envelope(report, source, timestamp, "YouTube")
        what = "YouTube header"
        video = text(header, "video", what, MAX_VIDEO_LENGTH)
        code = uint(header, "quality", what, 1)
        quality = QUALITIES.get(code) if code is not None else None
        if quality is None:
            raise BadReport(f"{what} quality {code!r} is not a YouTube quality level")
        properties = {"source": source, "destination": video, "quality": quality}
        if report.get("item") is None:
            values: dict[str, Any] = dict.fromkeys(TIMINGS)
            values.update(stall_count=None, results=0)
            return [ParsedRow(properties, values)]
        item = submessage(report, "item", "YouTube report")
        what = "YouTube item"
        values = {name: uint(item, name, what, maximum=MAX_TIME_MS) for name in TIMINGS}
        if values["stall_time"] is None:
            values["stall_time"] = 0
        values["stall_count"] = uint(item, "stall_count", what, 0, MAX_STALLS)
        values["results"] = 1
        return [ParsedRow(properties, values)]
