"""Events: changes detected on every stream, grouped by what the streams share.

`models` holds the tables, `detectors` the detectors, `engine` runs them over
rows (live or from history) and stores what they find, `sinks` lets other
parts (the grouping of `nntsc.events.grouping`) act on each newly stored event.
See docs/events.md.
"""
