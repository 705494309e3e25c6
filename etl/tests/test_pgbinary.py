"""The binary COPY encoder against a real PostgreSQL: every type the load uses, NULLs included."""
from __future__ import annotations

import datetime as dt

import psycopg
import pyarrow as pa
import pytest

from flights_etl import pgbinary, warehouse


@pytest.fixture(scope="module")
def db(pg):
    return pg.create_database("binary_test", "binary_etl", "binary-pw")


def test_every_type_round_trips_through_binary_copy(db):
    utc = dt.timezone.utc
    data = pa.table({
        "i4": pa.array([1, None, -2147483648, 2147483647], pa.int32()),
        "i8": pa.array([-1, 2**62, None, 0], pa.int64()),
        "f8": pa.array([0.1, None, -1e300, 10.357019999999999], pa.float64()),
        "b": pa.array([True, False, None, True]),
        "t": pa.array(["UA", "", None, "Zürich \"quoted\", comma\nnewline"], pa.string()),
        "ts": pa.array([dt.datetime(2013, 1, 1, 5, 15), None, dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
                        dt.datetime(2000, 1, 1)], pa.timestamp("us")),
        "tstz": pa.array([dt.datetime(2013, 1, 1, 10, 15), dt.datetime(1999, 12, 31, 23, 0), None,
                          dt.datetime(2038, 1, 19, 3, 14, 8)], pa.timestamp("us", tz="UTC")),
        "d": pa.array([dt.date(2013, 1, 1), None, dt.date(1900, 3, 1), dt.date(2000, 1, 1)], pa.date32()),
        "j": pa.array(['{"a": "NA", "b": null}', '{}', '{"x": [1, 2]}', '{"é": "ü"}'], pa.string()),
    })
    with psycopg.connect(**db) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("CREATE TABLE t (i4 integer, i8 bigint, f8 double precision, b boolean, t text, ts timestamp, "
                    "tstz timestamptz, d date, j jsonb)")
        assert warehouse.copy_arrow(cur, "t", data, frozenset({"j"})) == 4
        cur.execute("SET LOCAL TIME ZONE 'UTC'")
        rows = cur.execute("SELECT i4, i8, f8, b, t, ts, tstz, d, j FROM t ORDER BY coalesce(i8, 1)").fetchall()
    assert rows == [
        (1, -1, 0.1, True, "UA", dt.datetime(2013, 1, 1, 5, 15), dt.datetime(2013, 1, 1, 10, 15, tzinfo=utc),
         dt.date(2013, 1, 1), {"a": "NA", "b": None}),
        (2147483647, 0, 10.357019999999999, True, "Zürich \"quoted\", comma\nnewline", dt.datetime(2000, 1, 1),
         dt.datetime(2038, 1, 19, 3, 14, 8, tzinfo=utc), dt.date(2000, 1, 1), {"é": "ü"}),
        (-2147483648, None, -1e300, None, None, dt.datetime(1969, 12, 31, 23, 59, 59, 999999), None,
         dt.date(1900, 3, 1), {"x": [1, 2]}),
        (None, 2**62, None, False, "", None, dt.datetime(1999, 12, 31, 23, 0, tzinfo=utc), None, {}),
    ]


def test_sliced_batches_encode_only_their_rows(db):
    n = 21   # bit-packed validity and booleans sliced at offsets that are not multiples of 8
    data = pa.table({"n": pa.array(range(n), pa.int32()),
                     "s": pa.array([None if i % 4 == 0 else str(i) * (i % 5) for i in range(n)]),
                     "b": pa.array([None if i % 3 == 0 else i % 2 == 0 for i in range(n)]),
                     "x": pa.array([None if i % 5 == 0 else i * 10 for i in range(n)], pa.int64())})
    part = data.slice(3, 13)
    with psycopg.connect(**db) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("CREATE TABLE s (n integer, s text, b boolean, x bigint)")
        warehouse.copy_arrow(cur, "s", part)
        got = cur.execute("SELECT n, s, b, x FROM s ORDER BY n").fetchall()
    assert got == [(i, None if i % 4 == 0 else str(i) * (i % 5), None if i % 3 == 0 else i % 2 == 0,
                    None if i % 5 == 0 else i * 10) for i in range(3, 16)]


def test_an_unsupported_type_is_refused_by_name():
    with pytest.raises(pgbinary.UnsupportedType, match="decimal128"):
        pgbinary.encode(pa.record_batch({"x": pa.array([1], pa.decimal128(5, 2))}))
