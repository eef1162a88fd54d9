"""A thin client of InfluxDB's v1 HTTP API (``/write``, ``/query``, ``/ping``).

The v1 API is what InfluxDB 1.x serves, and 2.x and 3.x through their v1
compatibility endpoints. The ``influxdb`` package (influxdb-python), which
spoke it for us before, is archived upstream; what the store needs of it is
this much: one `requests.Session` per client (keep-alive connections,
reused by every request and shared by the writer threads), line protocol
posted as one body, and query answers read as MessagePack (InfluxDB 1.4 and
later; JSON otherwise), which is faster to decode than JSON for the numbers
a graph reads. ``gzip`` compresses write bodies and asks for compressed
answers, at level 1: over a slow link it saves time, on loopback it costs
CPU on both sides (influxdb-python compressed at level 9).

Errors are typed: `InfluxClientError` for a 4xx answer (our request, or a
partial write; ``content`` holds InfluxDB's message), `InfluxServerError`
for a 5xx, and `requests.RequestException` for the transport.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from typing import Any

import msgpack
import requests
from requests.adapters import HTTPAdapter

#: Keep-alive connections kept per client: the writer threads and a reader.
POOL_SIZE = 8
#: gzip level of write bodies: level 1 compresses line protocol about 6x, fast.
GZIP_LEVEL = 1


class InfluxClientError(Exception):
    """InfluxDB refused the request (4xx), e.g. a partial write or a bad query."""

    def __init__(self, status: int, content: str) -> None:
        super().__init__(f"{status}: {content}")
        self.status = status
        self.content = content


class InfluxServerError(Exception):
    """InfluxDB failed to answer (5xx)."""

    def __init__(self, status: int, content: str) -> None:
        super().__init__(f"{status}: {content}")
        self.status = status
        self.content = content


class InfluxClient:
    """Requests to one InfluxDB server over reused HTTP connections."""

    def __init__(
        self,
        host: str,
        port: int = 8086,
        username: str = "",
        password: str = "",
        ssl: bool = False,
        timeout: float = 60,
        gzip: bool = False,
        database: str | None = None,
    ) -> None:
        """A client of the server at `host`; `database` is the default of `query` and `write`."""
        self.database = database
        self.base_url = f"{'https' if ssl else 'http'}://{host}:{port}"
        self.timeout = timeout
        self.gzip = gzip
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=POOL_SIZE)
        self.session.mount(self.base_url, adapter)
        self.session.trust_env = False
        if username or password:
            self.session.auth = (username, password)
        self.session.headers.update({"Accept": "application/x-msgpack"})
        if gzip:
            self.session.headers["Accept-Encoding"] = "gzip"

    def _check(self, response: requests.Response) -> requests.Response:
        if response.status_code >= 500:
            raise InfluxServerError(response.status_code, _error_text(response))
        if response.status_code >= 300:
            raise InfluxClientError(response.status_code, _error_text(response))
        return response

    def ping(self) -> str:
        """The server's version; raises unless it answers."""
        response = self._check(self.session.get(f"{self.base_url}/ping", timeout=self.timeout))
        return response.headers.get("X-Influxdb-Version", "")

    def write(
        self,
        lines: Sequence[str],
        database: str | None = None,
        retention_policy: str | None = None,
        precision: str = "s",
    ) -> None:
        """Write line-protocol `lines` in one request (InfluxDB answers 204 when all are stored)."""
        body = ("\n".join(lines) + "\n").encode()
        headers = {"Content-Type": "application/octet-stream"}
        if self.gzip:
            body = gzip.compress(body, compresslevel=GZIP_LEVEL)
            headers["Content-Encoding"] = "gzip"
        params = {"db": database or self.database or "", "precision": precision}
        if retention_policy:
            params["rp"] = retention_policy
        self._check(
            self.session.post(
                f"{self.base_url}/write",
                params=params,
                data=body,
                headers=headers,
                timeout=self.timeout,
            )
        )

    def query(
        self, statement: str, database: str | None = None, epoch: str | None = "s"
    ) -> dict[str, Any]:
        """InfluxDB's answer to `statement` (several may be joined by ``;``), decoded.

        ``{"results": [{"statement_id": 0, "series": [{"name", "tags",
        "columns", "values"}]}, ...]}``. SELECT and SHOW go by GET, the
        others by POST (InfluxDB 1.x refuses them over GET). An error of one
        statement is left in its result (``"error"``) for the caller.
        """
        params = {"q": statement}
        database = database or self.database
        if database:
            params["db"] = database
        if epoch:
            params["epoch"] = epoch
        method = "GET" if statement.lstrip().upper().startswith(("SELECT", "SHOW")) else "POST"
        response = self._check(
            self.session.request(
                method, f"{self.base_url}/query", params=params, timeout=self.timeout
            )
        )
        if response.headers.get("Content-Type", "").startswith("application/x-msgpack"):
            return msgpack.unpackb(response.content, raw=False, ext_hook=_ext)
        return response.json()

    def points(self, statement: str, database: str | None = None) -> list[dict[str, Any]]:
        """The points of the first statement's series as dicts (time and columns), tags added."""
        answer = self.query(statement, database)
        found: list[dict[str, Any]] = []
        for result in answer.get("results", ()):
            if "error" in result:
                raise InfluxClientError(400, result["error"])
            for series in result.get("series", ()):
                tags = series.get("tags") or {}
                columns = series["columns"]
                found.extend(
                    {**tags, **dict(zip(columns, values, strict=True))}
                    for values in series["values"]
                )
        return found

    def close(self) -> None:
        self.session.close()


def _error_text(response: requests.Response) -> str:
    """InfluxDB's error message of a refused request (JSON ``{"error": ...}`` or text)."""
    try:
        if response.headers.get("Content-Type", "").startswith("application/x-msgpack"):
            answer = msgpack.unpackb(response.content, raw=False)
        else:
            answer = json.loads(response.text)
    except ValueError:
        return response.text
    if isinstance(answer, dict) and "error" in answer:
        return str(answer["error"])
    return response.text


def _ext(code: int, data: bytes) -> Any:
    """InfluxDB's MessagePack extension 5 is a timestamp (only with ``epoch`` unset)."""
    if code == 5 and len(data) == 12:
        seconds = int.from_bytes(data[:8], "big", signed=True)
        nanoseconds = int.from_bytes(data[8:], "big")
        return seconds + nanoseconds / 1e9
    return msgpack.ExtType(code, data)
