"""An NNTSC 2.x deployment to import from, built on the real services for a test or a bench.

The schema follows what NNTSC's ``build_nntsc_db`` made (see
``docs/operations.md``, "Moving from NNTSC"): a ``collections`` table, one
``streams_<collection>`` table per collection drawing ids from the shared
sequence ``streams_id_seq``, traceroute rows in per-stream PostgreSQL
tables with per-stream path dictionaries, and every other collection's rows
in InfluxDB measurement ``data_<collection>`` tagged ``stream``, arrays
written as their Python text. Both databases are new and dropped by `drop`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import requests
from sqlalchemy import create_engine, text

from nntsc.store.influx_client import InfluxClient

POSTGRES_ADMIN_URL = os.environ.get(
    "NNTSC_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
INFLUX_HOST = os.environ.get("NNTSC_TEST_INFLUX", "127.0.0.1:8086")

#: Per collection: (module, modsubtype, stream table, data table, stream columns).
COLLECTIONS: dict[str, tuple[str, str, str, str, str]] = {
    "amp_icmp": (
        "amp",
        "icmp",
        "streams_amp_icmp",
        "data_amp_icmp",
        "source varchar NOT NULL, destination varchar NOT NULL, family varchar NOT NULL, "
        "packet_size varchar NOT NULL",
    ),
    "amp_tcpping": (
        "amp",
        "tcpping",
        "streams_amp_tcpping",
        "data_amp_tcpping",
        "source varchar NOT NULL, destination varchar NOT NULL, port integer NOT NULL, "
        "family varchar NOT NULL, packet_size varchar NOT NULL",
    ),
    "amp_dns": (
        "amp",
        "dns",
        "streams_amp_dns",
        "data_amp_dns",
        "source varchar NOT NULL, destination varchar NOT NULL, instance varchar NOT NULL, "
        "address inet NOT NULL, query varchar NOT NULL, query_type varchar NOT NULL, "
        "query_class varchar NOT NULL, udp_payload_size integer NOT NULL, "
        "recurse boolean NOT NULL, dnssec boolean NOT NULL, nsid boolean NOT NULL",
    ),
    "amp_http": (
        "amp",
        "http",
        "streams_amp_http",
        "data_amp_http",
        "source varchar NOT NULL, destination varchar NOT NULL, max_connections integer, "
        "max_connections_per_server smallint, max_persistent_connections_per_server smallint, "
        "pipelining_max_requests smallint, persist boolean, pipelining boolean, caching boolean",
    ),
    "amp_throughput": (
        "amp",
        "throughput",
        "streams_amp_throughput",
        "data_amp_throughput",
        "source varchar NOT NULL, destination varchar NOT NULL, direction varchar NOT NULL, "
        "address inet NOT NULL, duration integer NOT NULL, writesize integer NOT NULL, "
        "tcpreused boolean NOT NULL, protocol varchar NOT NULL",
    ),
    "amp_udpstream": (
        "amp",
        "udpstream",
        "streams_amp_udpstream",
        "data_amp_udpstream",
        "source varchar NOT NULL, destination varchar NOT NULL, address inet NOT NULL, "
        "direction varchar NOT NULL, packet_size integer NOT NULL, "
        "packet_spacing integer NOT NULL, packet_count integer NOT NULL, dscp varchar NOT NULL",
    ),
    "amp_traceroute": (
        "amp",
        "traceroute",
        "streams_amp_traceroute",
        "data_amp_traceroute",
        "source varchar NOT NULL, destination varchar NOT NULL, family varchar NOT NULL, "
        "packet_size varchar NOT NULL",
    ),
    "amp_youtube": (
        "amp",
        "youtube",
        "streams_amp_youtube",
        "data_amp_youtube",
        "source varchar NOT NULL, destination varchar NOT NULL, quality integer NOT NULL",
    ),
    "amp_fastping": (
        "amp",
        "fastping",
        "streams_amp_fastping",
        "data_amp_fastping",
        "source varchar NOT NULL, destination varchar NOT NULL, family varchar NOT NULL, "
        "packet_size integer NOT NULL, packet_rate bigint NOT NULL, "
        "packet_count bigint NOT NULL, preprobe boolean NOT NULL",
    ),
    "amp_external": (
        "amp",
        "external",
        "streams_amp_external",
        "data_amp_external",
        "source varchar NOT NULL, destination varchar NOT NULL, command varchar NOT NULL",
    ),
    "amp_sip": (
        "amp",
        "sip",
        "streams_amp_sip",
        "data_amp_sip",
        "source varchar NOT NULL, destination varchar NOT NULL, proxy varchar NOT NULL, "
        "address inet NOT NULL, direction varchar NOT NULL, filename varchar NOT NULL, "
        "repeat boolean NOT NULL, max_duration integer NOT NULL, dscp varchar NOT NULL",
    ),
}
#: Collections sharing another's stream table.
SHARED = {
    "amp_astraceroute": ("amp", "astraceroute", "streams_amp_traceroute", "data_amp_astraceroute"),
    "amp_traceroute_pathlen": (
        "amp",
        "traceroute_pathlen",
        "streams_amp_traceroute",
        "data_amp_traceroute_pathlen",
    ),
    # Smokeping RRDs: NNTSC's one collection we have nothing for.
    "rrd_smokeping": ("rrd", "smokeping", "streams_rrd_smokeping", "data_rrd_smokeping"),
}


def _python_text(value: Any) -> str:
    """How NNTSC wrote a list into InfluxDB: its Python text."""
    return str(list(value))


def _field(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"{name}={'true' if value else 'false'}"
    if isinstance(value, int):
        return f"{name}={value}i"
    if isinstance(value, float):
        return f"{name}={value!r}"
    if isinstance(value, (list, tuple)):
        value = _python_text(value)
    return f'{name}="{value}"'


class LegacyDeployment:
    """A throwaway NNTSC PostgreSQL database and InfluxDB database."""

    def __init__(self) -> None:
        self.name = f"nntsc_legacy_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.sql_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"
        self.influx_url = f"influxdb://{INFLUX_HOST}/{self.name}"
        self.engine = create_engine(self.sql_url, isolation_level="AUTOCOMMIT")
        host, port = INFLUX_HOST.split(":")
        self.influx = InfluxClient(host, int(port), database=self.name)
        self.influx.query(f'CREATE DATABASE "{self.name}"', database=None)
        self._create_schema()

    def _create_schema(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(
                text(
                    "CREATE TABLE collections (id serial PRIMARY KEY, module varchar NOT NULL, "
                    "modsubtype varchar NOT NULL, streamtable varchar NOT NULL, "
                    "datatable varchar NOT NULL, UNIQUE (module, modsubtype))"
                )
            )
            connection.execute(text("CREATE SEQUENCE streams_id_seq"))
            for _module, _subtype, streams, _data, columns in COLLECTIONS.values():
                names = ", ".join(c.split()[0] for c in columns.split(", "))
                connection.execute(
                    text(
                        f"CREATE TABLE {streams} (stream_id integer PRIMARY KEY "
                        f"DEFAULT nextval('streams_id_seq'), {columns}, UNIQUE ({names}))"
                    )
                )
            for module, subtype, streams, data, _ in (*COLLECTIONS.values(),):
                self._register(connection, module, subtype, streams, data)
            for module, subtype, streams, data in SHARED.values():
                self._register(connection, module, subtype, streams, data)

    @staticmethod
    def _register(connection: Any, module: str, subtype: str, streams: str, data: str) -> None:
        connection.execute(
            text(
                "INSERT INTO collections (module, modsubtype, streamtable, datatable) "
                "VALUES (:m, :s, :st, :dt)"
            ),
            {"m": module, "s": subtype, "st": streams, "dt": data},
        )

    def add_stream(self, collection: str, **properties: Any) -> int:
        """Insert a stream of `collection` (``amp_icmp``); its NNTSC stream id."""
        table = COLLECTIONS[collection][2]
        names = ", ".join(properties)
        values = ", ".join(f":{name}" for name in properties)
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    text(f"INSERT INTO {table} ({names}) VALUES ({values}) RETURNING stream_id"),
                    properties,
                ).scalar_one()
            )

    def add_points(
        self, collection: str, points: Iterable[tuple[int, int, Mapping[str, Any]]]
    ) -> int:
        """Write (stream id, time, fields) points as NNTSC did; how many."""
        measurement = COLLECTIONS[collection][3]
        lines = []
        for stream_id, timestamp, fields in points:
            body = ",".join(_field(k, v) for k, v in fields.items() if v is not None)
            lines.append(f"{measurement},stream={stream_id} {body} {timestamp}")
        for offset in range(0, len(lines), 20_000):
            self.influx.write(lines[offset : offset + 20_000], precision="s")
        return len(lines)

    def add_icmp_sql_rows(
        self, stream_id: int, rows: Iterable[tuple[int, Mapping[str, Any]]]
    ) -> None:
        """ICMP rows in a per-stream PostgreSQL table, as NNTSC kept them before InfluxDB."""
        table = f"data_amp_icmp_{int(stream_id)}"
        with self.engine.connect() as connection:
            connection.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {table} (stream_id integer NOT NULL, "
                    "timestamp integer NOT NULL, median integer, packet_size smallint, "
                    "loss smallint, results smallint, lossrate float, rtts integer[])"
                )
            )
            for timestamp, values in rows:
                connection.execute(
                    text(
                        f"INSERT INTO {table} (stream_id, timestamp, median, packet_size, loss, "
                        "results, lossrate, rtts) VALUES (:sid, :ts, :median, :packet_size, "
                        ":loss, :results, :lossrate, :rtts)"
                    ),
                    {"sid": stream_id, "ts": timestamp, **values},
                )

    def _traceroute_tables(self, connection: Any, stream_id: int) -> None:
        sid = int(stream_id)
        connection.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS data_amp_traceroute_paths_{sid} (path_id serial "
                "PRIMARY KEY, path inet[] NOT NULL UNIQUE, length smallint NOT NULL)"
            )
        )
        connection.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS data_amp_traceroute_aspaths_{sid} (aspath_id serial "
                "PRIMARY KEY, aspath varchar[] NOT NULL UNIQUE, aspath_length smallint, "
                "uniqueas smallint, responses smallint)"
            )
        )
        connection.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS data_amp_traceroute_{sid} (stream_id integer NOT "
                "NULL, timestamp integer NOT NULL, "
                f"path_id integer REFERENCES data_amp_traceroute_paths_{sid} ON DELETE CASCADE, "
                f"aspath_id integer REFERENCES data_amp_traceroute_aspaths_{sid} "
                "ON DELETE CASCADE, packet_size smallint, error_type smallint, "
                "error_code smallint, hop_rtt integer[])"
            )
        )
        connection.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS data_amp_astraceroute_{sid} (stream_id integer NOT "
                "NULL, timestamp integer NOT NULL, "
                f"aspath_id integer REFERENCES data_amp_traceroute_aspaths_{sid} "
                "ON DELETE CASCADE, packet_size smallint, errors smallint, addresses smallint)"
            )
        )

    @staticmethod
    def _path_id(connection: Any, table: str, column: str, value: Sequence[Any], cast: str) -> int:
        found = connection.execute(
            text(f"SELECT {column}_id FROM {table} WHERE {column} = CAST(:v AS {cast})"),
            {"v": list(value)},
        ).scalar()
        if found is not None:
            return int(found)
        extra = ", length" if column == "path" else ""
        extra_value = ", :n" if column == "path" else ""
        return int(
            connection.execute(
                text(
                    f"INSERT INTO {table} ({column}{extra}) "
                    f"VALUES (CAST(:v AS {cast}){extra_value}) RETURNING {column}_id"
                ),
                {"v": list(value), "n": len(value)},
            ).scalar_one()
        )

    def add_traceroute(
        self,
        stream_id: int,
        timestamp: int,
        path: Sequence[str | None],
        hop_rtt: Sequence[int | None],
        aspath: Sequence[str] | None = None,
        packet_size: int = 60,
    ) -> None:
        """One IP traceroute row (path as addresses, None for silent hops; AS path ``"n.asn"``)."""
        with self.engine.connect() as connection:
            self._traceroute_tables(connection, stream_id)
            path_id = self._path_id(
                connection, f"data_amp_traceroute_paths_{stream_id}", "path", path, "inet[]"
            )
            aspath_id = None
            if aspath is not None:
                aspath_id = self._path_id(
                    connection,
                    f"data_amp_traceroute_aspaths_{stream_id}",
                    "aspath",
                    aspath,
                    "varchar[]",
                )
            connection.execute(
                text(
                    f"INSERT INTO data_amp_traceroute_{stream_id} (stream_id, timestamp, path_id, "
                    "aspath_id, packet_size, error_type, error_code, hop_rtt) VALUES "
                    "(:sid, :ts, :p, :a, :size, NULL, NULL, :rtts)"
                ),
                {
                    "sid": stream_id,
                    "ts": timestamp,
                    "p": path_id,
                    "a": aspath_id,
                    "size": packet_size,
                    "rtts": list(hop_rtt),
                },
            )

    def add_astraceroute(
        self, stream_id: int, timestamp: int, aspath: Sequence[str], packet_size: int = 60
    ) -> None:
        """One AS traceroute row (a test run recording AS numbers only)."""
        with self.engine.connect() as connection:
            self._traceroute_tables(connection, stream_id)
            aspath_id = self._path_id(
                connection,
                f"data_amp_traceroute_aspaths_{stream_id}",
                "aspath",
                aspath,
                "varchar[]",
            )
            connection.execute(
                text(
                    f"INSERT INTO data_amp_astraceroute_{stream_id} (stream_id, timestamp, "
                    "aspath_id, packet_size, errors, addresses) VALUES (:sid, :ts, :a, :size, 0, 1)"
                ),
                {"sid": stream_id, "ts": timestamp, "a": aspath_id, "size": packet_size},
            )

    def drop(self) -> None:
        self.engine.dispose()
        self.influx.close()
        requests.post(
            f"http://{INFLUX_HOST}/query", data={"q": f'DROP DATABASE "{self.name}"'}, timeout=60
        )
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()
