"""A site's schedule as the YAML document amplet2 fetches and parses.

amplet2 (``measured``) reads a mapping with a ``tests`` sequence; each test
is a mapping of ``test`` (the test's name), ``target`` (a name, or a
sequence of names and sequences, nested as deep as YAML aliases make them),
``frequency``, ``start`` and ``end`` (whole seconds), ``period`` (``day`` or
``week``) and ``args`` (a command line). Other top-level keys are ignored,
so the ``targets`` mapping holds one anchored list per destination mesh,
which the tests refer to by alias, as amplet2's example schedules do.

What a site runs: its own enabled items and those of every mesh it belongs
to. A mesh's item starts ``mesh_offset`` seconds later on each member than
on the one before it (members by name), wrapped within the item's window [start, end), so the
members do not all test at the same instant. The site itself is left out of
its targets; a test left without targets is left out (tests that take none,
such as http, never have them).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from nntsc.schedules.options import TESTS
from nntsc.schedules.registry import Destination, ScheduleItemInfo, SiteSchedule

#: What a YAML anchor name may hold (libyaml and PyYAML agree on these).
_NOT_ANCHOR = re.compile(r"[^A-Za-z0-9_-]")


class _Dumper(yaml.SafeDumper):
    """A safe dumper that names each anchor after its mesh rather than ``id001``."""

    anchor_names: dict[int, str]

    def generate_anchor(self, node: Any) -> str:
        for data_id, represented in self.represented_objects.items():
            if represented is node and data_id in self.anchor_names:
                return self.anchor_names[data_id]
        return str(super().generate_anchor(node))


def anchor_name(mesh: str, taken: set[str]) -> str:
    """A YAML anchor name for `mesh`, distinct from those `taken` (which it joins)."""
    base = _NOT_ANCHOR.sub("_", mesh) or "mesh"
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}_{number}"
    taken.add(name)
    return name


def _start(item: ScheduleItemInfo, schedule: SiteSchedule) -> int:
    if item.source_kind != "mesh" or not item.mesh_offset:
        return item.start
    members = schedule.members.get(item.source, ())
    position = members.index(schedule.site) if schedule.site in members else 0
    # Staggered within the item's own window [start, end): a member whose
    # offset would carry it to the end or past it wraps to the window's start
    # (wrapping within the whole period could start it after its end, and
    # amplet2 would never run it).
    return item.start + (position * item.mesh_offset) % (item.end - item.start)


def schedule_document(schedule: SiteSchedule) -> dict[str, Any]:
    """The data `render` writes: ``targets`` (lists shared by alias) and ``tests``."""
    site = schedule.site
    mesh_targets: dict[str, list[str]] = {}
    tests: list[dict[str, Any]] = []
    for item in schedule.items:
        entry: dict[str, Any] = {"test": item.test}
        if TESTS[item.test].has_targets:
            targets: list[Any] = []
            for mesh in item.destination_meshes:
                if mesh not in mesh_targets:
                    mesh_targets[mesh] = [m for m in schedule.members.get(mesh, ()) if m != site]
                if mesh_targets[mesh]:
                    targets.append(mesh_targets[mesh])
            for text in item.destination_sites:
                destination = Destination.parse(text)
                if destination.name != site:
                    targets.append(destination.amplet_target())
            if targets:
                entry["target"] = targets[0] if len(targets) == 1 else targets
            elif item.destination_meshes or item.destination_sites:
                # Every target was the site itself, or an empty mesh.
                continue
        entry.update(
            frequency=item.frequency,
            start=_start(item, schedule),
            end=item.end,
            period=item.period,
            args=item.args,
        )
        tests.append(entry)
    return {"targets": dict(sorted(mesh_targets.items())), "tests": tests}


def render(schedule: SiteSchedule) -> str:
    """The YAML text amplet2 fetches for `schedule`'s site."""
    document = schedule_document(schedule)
    dumper_names: dict[int, str] = {}
    taken: set[str] = set()
    for mesh, members in document["targets"].items():
        dumper_names[id(members)] = anchor_name(mesh, taken)

    class Dumper(_Dumper):
        anchor_names = dumper_names

    header = f"# Test schedule of {schedule.site}, for amplet2.\n"
    body = yaml.dump(
        document, Dumper=Dumper, default_flow_style=False, sort_keys=False, allow_unicode=False
    )
    return header + body
