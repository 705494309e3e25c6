"""The executors' side of the load: every Spark partition of an output table is written by the
task that computed it, over its own connection, into the table's staging table (binary COPY,
encoded from the partition's Arrow batches by pgbinary).

A partition's write is idempotent, so a retried or speculative task neither duplicates nor loses
rows. The task's transaction takes the advisory lock (table, partition id), deletes the marker
row of that partition in `etl_load_part` and, if an earlier attempt had committed one, that
attempt's rows (tagged with the partition id in the column `_part`); then it COPYs its rows and
inserts the marker in the same transaction. An attempt that dies mid-write commits nothing; two
attempts of one partition run one after the other and the last one's rows are the ones kept.

The connection keywords never hold the password: an executor reads WAREHOUSE_PASSWORD_FILE itself
(on the swarm every Spark worker mounts the same secret at the same path); with a local master the
executors are children of the driver and libpq finds PGPASSWORD in their environment.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa

from . import pgbinary

PART_COLUMN = "_part"
LOAD_PART_TABLE = "etl_load_part"
# One row per task: what it wrote (Spark DDL for mapInArrow, and the Arrow schema it yields).
RESULT_DDL = "part int, attempt int, rows long, replaced long, seconds double"
RESULT_SCHEMA = pa.schema([("part", pa.int32()), ("attempt", pa.int32()), ("rows", pa.int64()),
                           ("replaced", pa.int64()), ("seconds", pa.float64())])


@dataclass(frozen=True)
class Target:
    """Where one table's partitions go. Travels to the executors in the task closure: nothing
    secret in it."""
    conninfo: dict                 # libpq keywords, without the password
    password_file: str | None      # read by each executor
    schema: str
    table: str                     # the staging table
    lock_class: int                # pg_advisory_xact_lock(lock_class, partition id)
    jsonb: frozenset = field(default_factory=frozenset)

    def __post_init__(self):
        if "password" in self.conninfo:
            raise ValueError("a load target must not carry the password; pass WAREHOUSE_PASSWORD_FILE's path")


def connect(target: Target):
    import psycopg

    kw = dict(target.conninfo)
    if target.password_file:
        with open(target.password_file, encoding="utf-8") as f:
            kw["password"] = f.read().rstrip("\r\n")
    # A TCP connection through the router: notice a dead peer within about a minute.
    kw.setdefault("keepalives", "1")
    kw.setdefault("keepalives_idle", "30")
    kw.setdefault("keepalives_interval", "10")
    kw.setdefault("keepalives_count", "3")
    return psycopg.connect(**kw)


def _tagged(batch: pa.RecordBatch, part: int, jsonb: frozenset) -> bytes:
    tag = pa.array(np.full(batch.num_rows, part, np.int32))
    return pgbinary.encode(pa.RecordBatch.from_arrays([*batch.columns, tag], names=[*batch.schema.names, PART_COLUMN]),
                           jsonb)


def write_partition(target: Target, part: int, attempt: int, batches: Iterable[pa.RecordBatch]) -> dict:
    """Writes one partition (its Arrow batches) into the staging table, replacing what an earlier
    attempt of the same partition committed. Returns what was written. An empty partition opens
    no connection."""
    from psycopg import sql

    t0 = time.monotonic()
    it: Iterator[pa.RecordBatch] = iter(batches)
    first = next((b for b in it if b.num_rows), None)
    result = {"part": part, "attempt": attempt, "rows": 0, "replaced": 0, "seconds": 0.0}
    if first is None:
        return result
    table = sql.Identifier(target.schema, target.table)
    marker = sql.Identifier(target.schema, LOAD_PART_TABLE)
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in [*first.schema.names, PART_COLUMN])
    rows = 0
    with connect(target) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (target.lock_class, part))
        earlier = cur.execute(sql.SQL("DELETE FROM {} WHERE table_name = %s AND part = %s RETURNING rows").format(marker),
                              (target.table, part)).fetchone()
        if earlier is not None:
            result["replaced"] = cur.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(
                table, sql.Identifier(PART_COLUMN)), (part,)).rowcount
        stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(table, cols)
        # The next batch is read from Spark and encoded while the current one is sent.
        with cur.copy(stmt) as copy, ThreadPoolExecutor(1, thread_name_prefix="copy-encode") as pool:
            copy.write(pgbinary.HEADER)
            pending = pool.submit(_tagged, first, part, target.jsonb)
            rows += first.num_rows
            for b in it:
                if not b.num_rows:
                    continue
                nxt = pool.submit(_tagged, b, part, target.jsonb)
                rows += b.num_rows
                copy.write(pending.result())
                pending = nxt
            copy.write(pending.result())
            copy.write(pgbinary.TRAILER)
        cur.execute(sql.SQL("INSERT INTO {} (table_name, part, attempt, rows) VALUES (%s, %s, %s, %s)").format(marker),
                    (target.table, part, attempt, rows))
    result.update(rows=rows, seconds=time.monotonic() - t0)
    return result


def partition_writer(target: Target):
    """The function for DataFrame.mapInArrow: writes the task's partition, yields one result row."""
    def write(batches):
        from pyspark import TaskContext

        ctx = TaskContext.get()
        r = write_partition(target, ctx.partitionId(), ctx.attemptNumber(), batches)
        yield pa.RecordBatch.from_pylist([r], schema=RESULT_SCHEMA)
    return write


def write_table(df, target: Target) -> list[dict]:
    """Writes every partition of `df` from the executors; one result per partition."""
    return [r.asDict() for r in df.mapInArrow(partition_writer(target), RESULT_DDL).collect()]
