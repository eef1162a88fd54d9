"""amplet2's tests and their command-line options: what a schedule item's ``args`` may say.

A schedule item passes ``args`` to the test on the monitor exactly as on a
command line (amplet2 splits them as a shell does, quotes and backslashes
included). amplet2 itself would log and skip a test whose options it does
not know, far from whoever wrote the schedule; so `check_args` parses them
here, with the same short and long option names amplet2's tests declare, and
refuses an unknown option, a missing or malformed value, or a stray word
with a `BadValue` naming the option. The table lists the options that make
sense in a schedule: a test's server mode, help and version are left out.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from nntsc.errors import BadValue

#: Longest ``args`` string kept.
MAX_ARGS_LENGTH = 1000

FLAG = "flag"
INTEGER = "integer"
TEXT = "text"
#: A value that may follow the option only as ``-4addr`` / ``--ipv4=addr``.
OPTIONAL_TEXT = "optional text"


@dataclass(frozen=True)
class Option:
    """One option of a test (``-<short>``, ``--<long>``): does it take a value, of what kind."""

    short: str
    long: str
    kind: str
    description: str
    #: Other long names amplet2 accepts for the same option.
    aliases: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    @property
    def takes_value(self) -> bool:
        return self.kind in (INTEGER, TEXT)

    def as_dict(self) -> dict[str, Any]:
        """The option as JSON-ready data (for the schedule dialog and the API)."""
        return {
            "short": self.short,
            "long": self.long,
            "kind": self.kind,
            "description": self.description,
            "minimum": self.minimum,
            "maximum": self.maximum,
        }


@dataclass(frozen=True)
class AmpTest:
    """One amplet2 test: its name in schedules, its options and whether it has destinations."""

    name: str
    title: str
    options: tuple[Option, ...]
    #: Whether the test measures towards destinations. amplet2's http, youtube
    #: and sip tests find their server in their arguments (a URL, a video id,
    #: a SIP URI) and take no targets.
    has_targets: bool = True
    #: Destinations an item must have (only for tests that have them).
    min_targets: int = 1
    #: Long names of options an item must give.
    required: tuple[str, ...] = ()
    _by_short: dict[str, Option] = field(default_factory=dict, compare=False, repr=False)
    _by_long: dict[str, Option] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for option in self.options:
            self._by_short[option.short] = option
            for name in (option.long, *option.aliases):
                self._by_long[name] = option

    def option(self, name: str) -> Option | None:
        """The option called `name` (one letter: short, longer: long), or ``None``."""
        return (self._by_short if len(name) == 1 else self._by_long).get(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "has_targets": self.has_targets,
            "min_targets": self.min_targets if self.has_targets else 0,
            "required": list(self.required),
            "options": [option.as_dict() for option in self.options],
        }


def _int(short: str, long: str, description: str, minimum: int = 0, **kw: Any) -> Option:
    return Option(short, long, INTEGER, description, minimum=minimum, **kw)


def _text(short: str, long: str, description: str, **kw: Any) -> Option:
    return Option(short, long, TEXT, description, **kw)


def _flag(short: str, long: str, description: str, **kw: Any) -> Option:
    return Option(short, long, FLAG, description, **kw)


#: Options every amplet2 test accepts (amplet2's common socket options).
COMMON = (
    _text("I", "interface", "Source interface name"),
    _text("Q", "dscp", "DSCP code point (name or number) to mark packets with"),
    _int("Z", "interpacketgap", "Minimum gap between packets, in microseconds"),
    Option("4", "ipv4", OPTIONAL_TEXT, "Use IPv4 only (optionally from this source address)"),
    Option("6", "ipv6", OPTIONAL_TEXT, "Use IPv6 only (optionally from this source address)"),
)
PERTURBATE = _int("p", "perturbate", "Maximum random delay before starting, in milliseconds")

TESTS: dict[str, AmpTest] = {
    test.name: test
    for test in (
        AmpTest(
            "icmp",
            "ICMP",
            (
                PERTURBATE,
                _flag("r", "random", "Random packet sizes"),
                _int("s", "size", "Packet size in bytes", maximum=65535),
                *COMMON,
            ),
        ),
        AmpTest(
            "tcpping",
            "TCP ping",
            (
                _int("P", "port", "Port to send the SYN to", minimum=1, maximum=65535),
                PERTURBATE,
                _flag("r", "random", "Random packet sizes"),
                _int("s", "size", "Payload size in bytes", maximum=65535),
                *COMMON,
            ),
        ),
        AmpTest(
            "dns",
            "DNS",
            (
                _text("c", "class", "Query class (IN, CH, ...)"),
                _flag("n", "nsid", "Ask for the name server identifier (NSID)"),
                PERTURBATE,
                _text("q", "query", "Name to query"),
                _flag("r", "recurse", "Ask for recursion"),
                _flag("s", "dnssec", "Ask for DNSSEC records"),
                _text("t", "type", "Query type (A, AAAA, NS, ...)"),
                _int("z", "payload", "EDNS UDP payload size in bytes", maximum=65535),
                *COMMON,
            ),
            required=("query",),
        ),
        AmpTest(
            "traceroute",
            "Traceroute",
            (
                _flag("a", "asn", "Look up the AS of each hop"),
                _flag("b", "noip", "Do not report hop addresses", aliases=("no-ip",)),
                _flag("f", "probeall", "Probe every hop (ignored by current amplet2)"),
                PERTURBATE,
                _flag("r", "random", "Random packet sizes"),
                _int("s", "size", "Packet size in bytes", maximum=65535),
                _int("w", "window", "Probes in flight at once", minimum=1),
                *COMMON,
            ),
        ),
        AmpTest(
            "http",
            "HTTP",
            (
                _text("a", "user-agent", "User-Agent header", aliases=("useragent",)),
                _flag("c", "cached", "Allow cached content"),
                _flag("d", "dontparse", "Fetch the page only, not the objects it embeds"),
                _flag("k", "no-keep-alive", "Close connections after each object"),
                _int("m", "max-con", "Most connections at once", minimum=1),
                _int(
                    "o",
                    "max-persistent",
                    "Most persistent connections per server",
                    minimum=1,
                    aliases=("max-persistent-con-per-server", "max-persistent-con"),
                ),
                _flag("p", "pipeline", "Use HTTP/1.1 pipelining"),
                _text("P", "proxy", "Proxy to fetch through"),
                _int(
                    "r",
                    "max-pipelined",
                    "Most pipelined requests",
                    minimum=1,
                    aliases=("max-pipelined-requests",),
                ),
                _int(
                    "s",
                    "max-per-server",
                    "Most connections per server",
                    minimum=1,
                    aliases=("max-con-per-server",),
                ),
                _text("S", "sslversion", "SSL/TLS version to use"),
                _text("u", "url", "URL of the page to fetch"),
                _int("z", "pipe-size", "Most requests in one pipeline", minimum=1),
                *COMMON,
            ),
            has_targets=False,
            required=("url",),
        ),
        AmpTest(
            "throughput",
            "Throughput",
            (
                _text("d", "direction", "Direction of the test"),
                _int("i", "rcvbuf", "Receive buffer size in bytes", minimum=1),
                _int("M", "mss", "TCP maximum segment size in bytes", minimum=1),
                _flag("N", "nodelay", "Disable Nagle's algorithm"),
                _int("o", "sndbuf", "Send buffer size in bytes", minimum=1),
                _int("p", "port", "Control port on the server", minimum=1, maximum=65535),
                _int("P", "test-port", "Data port on the server", minimum=1, maximum=65535),
                _flag("r", "randomise", "Random data"),
                _text("S", "schedule", "Sequence of transfers, e.g. t10000,T10000"),
                _int("t", "time", "Seconds to send for", minimum=1),
                _text("u", "protocol", "Protocol to look like (default, http)"),
                _int("z", "write-size", "Bytes per write", minimum=1),
                *COMMON,
            ),
        ),
        AmpTest(
            "udpstream",
            "UDP stream",
            (
                _text("d", "direction", "Direction of the test"),
                _int("D", "delay", "Gap between packets, in microseconds"),
                _int("n", "packet-count", "Packets to send", minimum=1),
                _int("p", "port", "Control port on the server", minimum=1, maximum=65535),
                _int("P", "test-port", "Data port on the server", minimum=1, maximum=65535),
                _int("r", "rtt-samples", "Round trip time samples", minimum=1),
                _int("z", "size", "Packet size in bytes", minimum=1, aliases=("packet-size",)),
                *COMMON,
            ),
        ),
        AmpTest(
            "youtube",
            "YouTube",
            (
                _text("a", "useragent", "User-Agent of the browser", aliases=("user-agent",)),
                _text("b", "browser", "Browser to run"),
                _flag(
                    "e",
                    "use-existing-browser",
                    "Use a browser that is already running",
                    aliases=("no-browser",),
                ),
                _int("P", "port", "Port of the browser's debugging protocol", minimum=1),
                _text("q", "quality", "Video quality"),
                _int("t", "max-runtime", "Longest time to play, in seconds", minimum=1),
                _text("y", "video-id", "YouTube video id"),
                *COMMON,
            ),
            has_targets=False,
            required=("video-id",),
        ),
        AmpTest(
            "fastping",
            "Fast ping",
            (
                _int("c", "count", "Packets to send", minimum=1),
                _flag("p", "preemptive", "Send every packet on schedule, not after replies"),
                _int("r", "rate", "Packets per second", minimum=1),
                _int("s", "size", "Packet size in bytes", maximum=65535),
                *COMMON,
            ),
        ),
        AmpTest(
            "external",
            "External",
            (PERTURBATE, _text("c", "command", "Command to run"), *COMMON),
            min_targets=0,
            required=("command",),
        ),
        AmpTest(
            "sip",
            "SIP",
            (
                _text("a", "user-agent", "User-Agent header", aliases=("useragent",)),
                _text("f", "filename", "WAV file to play", aliases=("wavfile",)),
                _text("n", "username", "User name to register with"),
                _text("w", "password", "Password to register with"),
                _text("e", "registrar", "Registrar URI"),
                _text("i", "id", "Identity URI"),
                _int("P", "sip-port", "Local SIP port", minimum=1, maximum=65535),
                _int("p", "control-port", "Control port", minimum=1, maximum=65535),
                _flag("r", "disable-repeat", "Play the file once"),
                _int("t", "time", "Longest call, in seconds", minimum=1, aliases=("duration",)),
                _text("u", "uri", "SIP URI to call"),
                _text("y", "proxy", "Outbound proxy URI"),
                *COMMON,
            ),
            has_targets=False,
            required=("uri",),
        ),
    )
}


def get_test(name: Any) -> AmpTest:
    """The amplet2 test called `name`; raises `BadValue` (field ``test``) for any other."""
    test = TESTS.get(name) if isinstance(name, str) else None
    if test is None:
        raise BadValue("test", f"{name!r} is not an amplet2 test; one of {', '.join(TESTS)}")
    return test


def _value(test: AmpTest, option: Option, value: str, spelled: str) -> str:
    if option.kind != INTEGER:
        if option.kind == TEXT and not value:
            raise BadValue("args", f"option {spelled} of the {test.name} test needs a value")
        return value
    try:
        number = int(value, 10)
    except ValueError:
        raise BadValue(
            "args", f"option {spelled} of the {test.name} test needs a whole number, got {value!r}"
        ) from None
    if option.minimum is not None and number < option.minimum:
        raise BadValue("args", f"option {spelled} must be at least {option.minimum}")
    if option.maximum is not None and number > option.maximum:
        raise BadValue("args", f"option {spelled} must be at most {option.maximum}")
    return value


def _unknown(test: AmpTest, spelled: str) -> BadValue:
    known = " ".join(f"-{option.short}" for option in test.options)
    return BadValue("args", f"unknown option {spelled} for the {test.name} test (known: {known})")


def parse_args(test: AmpTest, args: str) -> list[tuple[Option, str | None]]:
    """The options `args` gives `test`, in order, each with its value (``None`` for a flag).

    Parsed as amplet2's tests parse them (``getopt_long``): ``-s 84``,
    ``-s84``, ``-rs 84``, ``--size 84``, ``--size=84``. Raises `BadValue`
    (field ``args``) for an unknown option, a missing, unwanted or malformed
    value, unbalanced quotes, or a word that is not an option.
    """
    if not isinstance(args, str):
        raise BadValue("args", "expected text")
    if len(args) > MAX_ARGS_LENGTH:
        raise BadValue("args", f"longer than {MAX_ARGS_LENGTH} characters")
    if "\x00" in args:
        raise BadValue("args", "may not hold a NUL character")
    try:
        words = shlex.split(args)
    except ValueError as error:
        raise BadValue("args", f"cannot be split into words: {error}") from None
    found: list[tuple[Option, str | None]] = []
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word.startswith("--") and len(word) > 2:
            name, has_value, value = word[2:].partition("=")
            option = test.option(name) if len(name) > 1 else None
            if option is None:
                raise _unknown(test, f"--{name}")
            spelled = f"--{name}"
            if option.kind == FLAG:
                if has_value:
                    raise BadValue("args", f"option {spelled} takes no value")
                found.append((option, None))
            elif option.kind == OPTIONAL_TEXT:
                found.append((option, value if has_value else None))
            else:
                if not has_value:
                    if index >= len(words):
                        raise BadValue("args", f"option {spelled} needs a value")
                    value = words[index]
                    index += 1
                found.append((option, _value(test, option, value, spelled)))
            continue
        if not word.startswith("-") or word == "-" or word == "--":
            raise BadValue(
                "args",
                f"unexpected word {word!r}: arguments are options only; "
                "the destinations are the item's targets",
            )
        letters = word[1:]
        position = 0
        while position < len(letters):
            letter = letters[position]
            position += 1
            option = test.option(letter)
            if option is None:
                raise _unknown(test, f"-{letter}")
            spelled = f"-{letter}"
            if option.kind == FLAG:
                found.append((option, None))
                continue
            rest = letters[position:]
            position = len(letters)
            if option.kind == OPTIONAL_TEXT:
                found.append((option, rest or None))
                continue
            if not rest:
                if index >= len(words):
                    raise BadValue("args", f"option {spelled} needs a value")
                rest = words[index]
                index += 1
            found.append((option, _value(test, option, rest, spelled)))
    return found


def check_args(test_name: str, args: Any) -> str:
    """`args` with surrounding blanks removed, if `test_name` accepts it; raises `BadValue`.

    Also refuses arguments that leave out an option the test needs (an HTTP
    test's ``--url``).
    """
    test = get_test(test_name)
    if not isinstance(args, str):
        raise BadValue("args", "expected text")
    given = {option.long for option, _ in parse_args(test, args)}
    for required in test.required:
        if required not in given:
            option = test.option(required)
            short = f"-{option.short}, " if option else ""
            raise BadValue("args", f"the {test.name} test needs option {short}--{required}")
    return args.strip()
