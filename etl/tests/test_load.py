"""The executors' partition writer against a real PostgreSQL, without Spark: a partition written
twice (a retried or speculative task) is in the staging table once; an attempt that dies mid-COPY
leaves nothing; the writer never carries the password."""
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
                         warehouse.part_lock_class("quarantine"), frozenset({"raw_record"}))
    return w, target


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
    first = load.write_partition(target, 7, 0, batches(7, 10))
    again = load.write_partition(target, 7, 1, batches(7, 10))
    assert (first["rows"], first["replaced"], again["rows"], again["replaced"]) == (10, 0, 10, 10)
    assert rows_of(w, 7) == sorted(f"7|{i}" for i in range(10))
    assert w.query("SELECT part, attempt, rows FROM flights.etl_load_part WHERE table_name = 'quarantine_next'") == \
        [(7, 1, 10)]
    # another partition of the same table is not touched by partition 7's retries
    load.write_partition(target, 8, 0, batches(8, 4))
    load.write_partition(target, 7, 2, batches(7, 10))
    assert len(rows_of(w, 7)) == 10 and len(rows_of(w, 8)) == 4


def test_an_attempt_that_dies_mid_copy_leaves_nothing_and_its_retry_writes_all(staging):
    w, target = staging

    def dying():
        yield from batches(9, 6)[:1]
        raise ConnectionError("executor lost")

    with pytest.raises(ConnectionError):
        load.write_partition(target, 9, 0, dying())
    assert rows_of(w, 9) == []
    assert load.write_partition(target, 9, 1, batches(9, 6))["rows"] == 6
    assert len(rows_of(w, 9)) == 6


def test_an_empty_partition_opens_no_connection():
    target = load.Target({"host": "/nonexistent", "dbname": "x"}, None, "flights", "t_next", 1)
    assert load.write_partition(target, 0, 0, iter([]))["rows"] == 0


def test_a_target_refuses_the_password():
    with pytest.raises(ValueError, match="must not carry the password"):
        load.Target({"host": "db", "password": WAREHOUSE_PASSWORD}, None, "flights", "t_next", 1)
