"""The executors' partition writer against a real PostgreSQL, without Spark: a partition written
twice (a retried or speculative task) is in the staging table once; an attempt that dies mid-COPY
leaves nothing; the writer never carries the password; the encoder's figures."""
from __future__ import annotations

import pyarrow as pa
import pytest

from conftest import WAREHOUSE_PASSWORD
from flights_etl import load, warehouse


@pytest.fixture(scope="module")
def staging(warehouse_factory):
    w = warehouse_factory("partwrite")
    import psycopg

    with psycopg.connect(**w.conninfo, autocommit=True) as conn:
        warehouse.ensure_schema(conn, "flights")
        warehouse.prepare_staging(conn, "flights")
    conninfo = {k: v for k, v in w.conninfo.items() if k != "password"}
    target = load.Target(conninfo, str(w.password_file), "flights", warehouse.staged("quarantine"),
                         warehouse.part_lock_class("quarantine"), COLUMNS)
    return w, target


COLUMNS = ("batch_id", "source_table", "reason", "natural_key", "raw_record", load.PART_COLUMN)
JSONB = frozenset({"raw_record"})


def batches(part: int, n: int, size: int = 3) -> list[pa.RecordBatch]:
    rows = [{"batch_id": "b", "source_table": "flights", "reason": "malformed_row", "natural_key": f"{part}|{i}",
             "raw_record": f'{{"i": "{i}"}}'} for i in range(n)]
    table = pa.Table.from_pylist(rows)
    return table.to_batches(max_chunksize=size)


def rows_of(w, part: int) -> list[str]:
    return [k for (k,) in w.query("SELECT natural_key FROM flights.quarantine_next WHERE natural_key LIKE %s "
                                  "ORDER BY natural_key", (f"{part}|%",))]


def test_a_partition_written_twice_is_there_once(staging):
    w, target = staging
    first = load.write_partition(target, 7, 0, batches(7, 10), JSONB)
    again = load.write_partition(target, 7, 1, batches(7, 10), JSONB)
    assert (first["rows"], first["replaced"], again["rows"], again["replaced"]) == (10, 0, 10, 10)
    assert rows_of(w, 7) == sorted(f"7|{i}" for i in range(10))
    assert w.query("SELECT part, attempt, rows FROM flights.etl_load_part WHERE table_name = 'quarantine_next'") == \
        [(7, 1, 10)]
    # another partition of the same table is not touched by partition 7's retries
    load.write_partition(target, 8, 0, batches(8, 4), JSONB)
    load.write_partition(target, 7, 2, batches(7, 10), JSONB)
    assert len(rows_of(w, 7)) == 10 and len(rows_of(w, 8)) == 4


def test_an_attempt_that_dies_mid_copy_leaves_nothing_and_its_retry_writes_all(staging):
    w, target = staging

    def dying():
        yield from batches(9, 6)[:1]
        raise ConnectionError("executor lost")

    with pytest.raises(ConnectionError):
        load.write_partition(target, 9, 0, dying(), JSONB)
    assert rows_of(w, 9) == []
    assert load.write_partition(target, 9, 1, batches(9, 6), JSONB)["rows"] == 6
    assert len(rows_of(w, 9)) == 6


def test_an_empty_partition_opens_no_connection():
    target = load.Target({"host": "/nonexistent", "dbname": "x"}, None, "flights", "t_next", 1, ("a", load.PART_COLUMN))
    assert load.write_partition(target, 0, 0, iter([]))["rows"] == 0


def test_a_target_refuses_the_password():
    with pytest.raises(ValueError, match="must not carry the password"):
        load.Target({"host": "db", "password": WAREHOUSE_PASSWORD}, None, "flights", "t_next", 1, ("a",))


def test_the_encoder_counts_rows_time_mismatches_and_date_keys_and_drops_the_source_hour():
    import datetime as dt

    hour = pa.array([dt.datetime(2013, 1, 1, 10), dt.datetime(2013, 1, 1, 11), None], pa.timestamp("us", "UTC"))
    sched = pa.array([dt.datetime(2013, 1, 1, 10, 15), dt.datetime(2013, 1, 1, 12, 5), dt.datetime(2013, 1, 2, 1)],
                     pa.timestamp("us", "UTC"))
    batch = pa.record_batch({"date_key": pa.array([20130101, 20130101, 20130102], pa.int32()), "sched_dep_utc": sched,
                             load.TIME_HOUR: hour})
    e = load.encode_batch(batch, 3, frozenset())
    plain = pa.record_batch({"date_key": batch.column(0), "sched_dep_utc": sched,
                             load.PART_COLUMN: pa.array([3, 3, 3], pa.int32())})
    assert (e["part"], e["rows"], e["mismatches"], e["min_date_key"], e["max_date_key"]) == (3, 3, 1, 20130101, 20130102)
    assert e["chunk"] == load.pgbinary.encode(plain)

