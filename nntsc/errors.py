"""Error types raised by the collector and stores.

Callers catch these by type; the web layer maps them to HTTP statuses in one
place (`ampweb.errors`). Nothing in this package returns ``None`` to mean
"something failed".
"""

#: How many characters of a name an error message quotes.
QUOTED = 60


def quoted(value: object) -> str:
    """`value` as a message quotes it: its repr, cut to a bounded prefix.

    Names come from clients; a message must not echo an arbitrarily long one.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= QUOTED:
        return repr(text)
    return repr(text[:QUOTED]) + "…"


class NntscError(Exception):
    """Base class of every error this platform raises on purpose."""


class ConfigurationError(NntscError):
    """A setting is missing or malformed."""


class UnknownCollection(NntscError):
    """A collection name that no module declares."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown collection {quoted(name)}")
        self.name = name


class UnknownStream(NntscError):
    """A stream id that is not in the database."""

    def __init__(self, stream_id: int) -> None:
        super().__init__(f"unknown stream {stream_id}")
        self.stream_id = stream_id


class BadReport(NntscError):
    """A measurement report that cannot be turned into rows; nothing was written."""


class BadQuery(NntscError):
    """A query whose parameters are out of range (e.g. too many bins)."""


class StoreUnavailable(NntscError):
    """A store (SQL or time series) could not be reached or failed to answer."""


class BadValue(NntscError):
    """An argument that is malformed or out of range; nothing was written.

    `field` names the offending argument, so a form or an API client can point at it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class AlreadyExists(NntscError):
    """Creating something under a name that is already taken."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind} {quoted(name)} already exists")
        self.kind = kind
        self.name = name


class UnknownSite(NntscError):
    """A site name that is not in the database."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown site {quoted(name)}")
        self.name = name


class UnknownMesh(NntscError):
    """A mesh name that is not in the database."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown mesh {quoted(name)}")
        self.name = name


class ImportSourceError(NntscError):
    """A deployment to import from is unreachable or not what the importer reads."""


class UnknownScheduleItem(NntscError):
    """A schedule item id that is not among the items of the site or mesh named with it."""

    def __init__(self, item_id: int, owner: str) -> None:
        super().__init__(f"no schedule item {item_id} of {quoted(owner)}")
        self.item_id = item_id
        self.owner = owner
