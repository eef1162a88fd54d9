"""Groups: what one legend entry of a graph selects, as a canonical text description.

A group names a collection, one value for each level of the collection's
selection hierarchy and, for each way the collection can split its streams
into lines (address family, direction), whether to draw one line per value
(``SPLIT``), one line for all of them (``ALL``) or only one value::

    amp-icmp FROM akl TO www.example.com SIZE 84 FAMILY SPLIT
    amp-throughput FROM akl TO wlg DURATION 10000 WRITESIZE 131072 TCPREUSED false \
PROTOCOL default DIRECTION in FAMILY ipv4

Values are quoted as a POSIX shell would (`shlex`), so any value survives the
round trip; `format_group(parse_group(text)) == text` for every canonical
text. A group expands to lines, and each line to the streams drawn
together as one series.

Each collection's rules (hierarchy, keywords, splits, legend title) are one
`GroupSpec`, in the collection's module (`ampy.collections`); a collection
without one gets every key property as a level and no split, which is
enough to select and draw it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from ampy.collections import get as presentation
from ampy.errors import BadGroupDescription
from nntsc.collections import Collection
from nntsc.collections import get as get_collection
from nntsc.errors import UnknownCollection
from nntsc.store.streams import StreamInfo, StreamRegistry

#: Split tokens: one line per value, or one line for all values.
SPLIT, ALL = "SPLIT", "ALL"

#: A group whose streams exceed this is refused rather than drawn as one huge query.
MAX_GROUP_STREAMS = 5000

#: Line colours (colour-blind-friendly, from the Tableau 10 and Okabe-Ito palettes).
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#0072b2",
    "#d55e00",
)


def _address_family(address: str) -> str:
    try:
        return f"ipv{ipaddress.ip_address(address).version}"
    except ValueError:
        return "unknown"


@dataclass(frozen=True)
class Split:
    """One way to divide a group's streams into lines.

    `keyword` names it in descriptions; the line key of a stream is its
    `property`, passed through `derive` when the key is computed (the family
    of an address).
    """

    keyword: str
    property: str
    derive: Callable[[str], str] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    def key_of(self, properties: Mapping[str, str]) -> str:
        value = properties[self.property]
        return self.derive(value) if self.derive else value

    def label(self, value: str) -> str:
        return self.labels.get(value, value)


FAMILY_LABELS = {"ipv4": "IPv4", "ipv6": "IPv6"}
FAMILY = Split("FAMILY", "family", labels=FAMILY_LABELS)
ADDRESS_FAMILY = Split("FAMILY", "address", _address_family, FAMILY_LABELS)


@dataclass(frozen=True)
class GroupSpec:
    """How a collection's streams are selected, described, split into lines and labelled."""

    collection: str
    hierarchy: tuple[str, ...]
    splits: tuple[Split, ...] = ()
    #: Description keywords for hierarchy properties (default: the name in capitals).
    keywords: Mapping[str, str] = field(default_factory=dict)
    #: The legend title of a group from its hierarchy values.
    title: Callable[[Mapping[str, str]], str] | None = None
    #: The most groups one graph of this collection may hold (traceroute maps draw one).
    max_groups: int | None = None

    def keyword(self, prop: str) -> str:
        return self.keywords.get(prop, DEFAULT_KEYWORDS.get(prop, prop.upper()))

    def group_title(self, values: Mapping[str, str]) -> str:
        if self.title is not None:
            return self.title(values)
        rest = " ".join(values[p] for p in self.hierarchy[2:])
        head = " to ".join(values[p] for p in self.hierarchy[:2])
        return f"{head} {self.collection}{' ' + rest if rest else ''}"


DEFAULT_KEYWORDS = {"source": "FROM", "destination": "TO", "packet_size": "SIZE"}


def flags(values: Mapping[str, str], names: Iterable[str]) -> str:
    """`` +name`` for each of `names` whose value is ``true`` (DNS and HTTP options in titles)."""
    return "".join(f" +{name}" for name in names if values.get(name) == "true")


def spec_for(collection: str | Collection) -> GroupSpec:
    """The group rules of `collection`; raises `UnknownCollection`."""
    coll = collection if isinstance(collection, Collection) else get_collection(collection)
    spec = presentation(coll.name).groups
    if spec is None:
        spec = _default_specs.get(coll.name)
        if spec is None:
            spec = _default_specs[coll.name] = GroupSpec(coll.name, coll.property_names)
    return spec


#: The rules of collections whose module gives none: every key property a level, no split.
_default_specs: dict[str, GroupSpec] = {}


@dataclass(frozen=True, order=True)
class Group:
    """A parsed group: collection, hierarchy values (in order) and split choices."""

    collection: str
    values: tuple[tuple[str, str], ...]
    splits: tuple[tuple[str, str], ...] = ()

    @property
    def properties(self) -> dict[str, str]:
        return dict(self.values)

    @cached_property
    def description(self) -> str:
        return format_group(self)

    @property
    def spec(self) -> GroupSpec:
        return spec_for(self.collection)

    @property
    def title(self) -> str:
        return self.spec.group_title(self.properties)


def make_group(
    collection: str, values: Mapping[str, str], splits: Mapping[str, str] | None = None
) -> Group:
    """A group from property values and split choices (by keyword; default ``SPLIT``).

    Raises `BadGroupDescription` naming a missing or unknown property, or a
    bad split.
    """
    try:
        spec = spec_for(collection)
    except UnknownCollection as error:
        raise BadGroupDescription(str(error)) from None
    missing = [p for p in spec.hierarchy if values.get(p) in (None, "")]
    if missing:
        raise BadGroupDescription(f"{collection} group needs {', '.join(missing)}")
    extra = set(values) - set(spec.hierarchy)
    if extra:
        raise BadGroupDescription(
            f"{collection} groups do not select by {', '.join(sorted(extra))}"
        )
    chosen = dict(splits or {})
    keywords = {s.keyword for s in spec.splits}
    unknown = set(chosen) - keywords
    if unknown:
        raise BadGroupDescription(
            f"{collection} has no split {', '.join(sorted(unknown))}"
            + (f" (it has {', '.join(sorted(keywords))})" if keywords else "")
        )
    resolved = []
    for split in spec.splits:
        choice = chosen.get(split.keyword, SPLIT) or SPLIT
        if choice.upper() in (SPLIT, ALL):
            choice = choice.upper()
        elif split.labels and choice not in split.labels:
            # A value no stream can have would silently draw nothing.
            raise BadGroupDescription(
                f"{collection} split {split.keyword} {choice!r}: expected "
                f"{', '.join((SPLIT, ALL, *sorted(split.labels)))}"
            )
        resolved.append((split.keyword, str(choice)))
    return Group(
        collection,
        tuple((p, str(values[p])) for p in spec.hierarchy),
        tuple(resolved),
    )


def format_group(group: Group) -> str:
    """The canonical description of `group`."""
    spec = group.spec
    words = [group.collection]
    for prop, value in group.values:
        words += [spec.keyword(prop), shlex.quote(value)]
    for keyword, choice in group.splits:
        words += [keyword, shlex.quote(choice)]
    return " ".join(words)


def parse_group(text: str) -> Group:
    """The group a description names; raises `BadGroupDescription` saying what was wrong."""
    if not isinstance(text, str) or not text.strip():
        raise BadGroupDescription("a group description may not be empty")
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise BadGroupDescription(f"{text!r}: {error}") from None
    name, rest = words[0], words[1:]
    try:
        spec = spec_for(name)
    except UnknownCollection:
        raise BadGroupDescription(
            f"{text!r} must start with a collection name, not {name!r}"
        ) from None
    by_keyword = {spec.keyword(p): p for p in spec.hierarchy}
    split_keywords = {s.keyword for s in spec.splits}
    if len(rest) % 2:
        raise BadGroupDescription(f"{text!r}: keyword {rest[-1]!r} has no value")
    values: dict[str, str] = {}
    splits: dict[str, str] = {}
    for keyword, value in zip(rest[::2], rest[1::2], strict=True):
        key = keyword.upper()
        if key in by_keyword:
            target, name_ = values, by_keyword[key]
        elif key in split_keywords:
            target, name_ = splits, key
        else:
            known = ", ".join([*by_keyword, *sorted(split_keywords)])
            raise BadGroupDescription(
                f"{text!r}: unknown keyword {keyword!r} for {spec.collection} (expected {known})"
            )
        if name_ in target:
            raise BadGroupDescription(f"{text!r}: {keyword} given twice")
        target[name_] = value
    return make_group(spec.collection, values, splits)


@dataclass(frozen=True)
class Line:
    """One series of a graph: a label, a colour and the streams aggregated into it."""

    line_id: str
    group: str
    collection: str
    title: str
    label: str
    colour: str
    stream_ids: tuple[int, ...]
    #: The line's value of each split (keyword, label): ``(("FAMILY", "IPv4"),)``.
    splits: tuple[tuple[str, str], ...] = ()

    def naming(self) -> dict[str, str]:
        """What the line is, for exports: its name, collection, group values, splits.

        ``{"series": "a to b ICMP 84 B IPv4", "collection": "amp-icmp",
        "source": "a", "destination": "b", "packet_size": "84", "family": "IPv4"}``
        """
        return {
            "series": f"{self.title} {self.label}",
            "collection": self.collection,
            **parse_group(self.group).properties,
            **{keyword.lower(): value for keyword, value in self.splits},
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "line_id": self.line_id,
            "group": self.group,
            "collection": self.collection,
            "title": self.title,
            "label": self.label,
            "colour": self.colour,
            "stream_ids": list(self.stream_ids),
        }


def group_streams(registry: StreamRegistry, group: Group) -> list[StreamInfo]:
    """Every stream a group's hierarchy values select, in key order."""
    collection = get_collection(group.collection)
    found: list[StreamInfo] = []
    page = 1
    while True:
        batch = registry.find(collection, group.properties, page=page, pagesize=1000)
        found.extend(batch.items)
        if not batch.has_more:
            return found
        if len(found) >= MAX_GROUP_STREAMS:
            raise BadGroupDescription(
                f"{group.description!r} selects over {MAX_GROUP_STREAMS} streams"
            )
        page += 1


def split_lines(
    group: Group, streams: Sequence[StreamInfo]
) -> list[tuple[str, str, tuple[int, ...]]]:
    """The lines of a group: (key suffix, label, stream ids), sorted by key.

    A split chosen as ``SPLIT`` gives one line per value its streams have;
    ``ALL`` keeps them together; a value keeps only matching streams.
    """
    return [
        (suffix, " ".join(labels.values()) or "all", ids)
        for suffix, labels, ids in _split(group, streams)
    ]


def _split(
    group: Group, streams: Sequence[StreamInfo]
) -> list[tuple[str, dict[str, str], tuple[int, ...]]]:
    """`split_lines` with each line's label per split keyword (``{"FAMILY": "IPv4"}``)."""
    spec = group.spec
    choices = dict(group.splits)
    lines: dict[tuple[str, ...], list[int]] = {}
    for stream in streams:
        key: list[str] = []
        keep = True
        for split in spec.splits:
            choice = choices.get(split.keyword, SPLIT)
            value = split.key_of(stream.properties)
            if choice == SPLIT:
                key.append(value)
            elif choice != ALL and choice != value:
                keep = False
                break
        if keep:
            lines.setdefault(tuple(key), []).append(stream.stream_id)
    result = []
    for line_key, ids in sorted(lines.items()):
        labels = {}
        position = 0
        for split in spec.splits:
            choice = choices.get(split.keyword, SPLIT)
            if choice == SPLIT:
                labels[split.keyword] = split.label(line_key[position])
                position += 1
            elif choice != ALL:
                labels[split.keyword] = split.label(choice)
        result.append(("-".join(line_key), labels, tuple(sorted(ids))))
    return result


def colour_for(identity: str, taken: set[str]) -> str:
    """A colour that depends only on `identity`, moved on when another line already has it.

    A line keeps its colour when other groups are added to the graph, unless
    two of them would draw in the same one.
    """
    start = int.from_bytes(hashlib.sha256(identity.encode()).digest()[:4], "big") % len(PALETTE)
    for step in range(len(PALETTE)):
        colour = PALETTE[(start + step) % len(PALETTE)]
        if colour not in taken:
            return colour
    return PALETTE[start]


def expand_groups(registry: StreamRegistry, groups: Sequence[Group]) -> list[Line]:
    """The lines of `groups` in order, with ids ``g<index>[-<split values>]`` and colours."""
    lines: list[Line] = []
    taken: set[str] = set()
    for index, group in enumerate(groups):
        description = group.description
        for suffix, labels, ids in _split(group, group_streams(registry, group)):
            line_id = f"g{index}" + (f"-{suffix}" if suffix else "")
            colour = colour_for(f"{description}|{suffix}", taken)
            taken.add(colour)
            label = " ".join(labels.values()) or "all"
            lines.append(
                Line(
                    line_id,
                    description,
                    group.collection,
                    group.title,
                    label,
                    colour,
                    ids,
                    tuple(labels.items()),
                )
            )
    return lines
