"""The executors' side of the load. In the transform stage every Spark partition of an output
table is encoded, batch by batch, into PostgreSQL's binary COPY format (pgbinary, from the
partition's Arrow batches via mapInArrow) and the chunks are persisted on the executors. In the
load stage each partition's chunks are sent by one task, over its own connection, into the
table's staging table: the data crosses the JVM-Python boundary once, and a retried task resends
the same bytes.

A partition's write is idempotent, so a retried or speculative task neither duplicates nor loses
rows. The task's transaction takes the advisory lock (table, partition id), deletes the marker
row of that partition in `etl_load_part` and, if an earlier attempt had committed one, that
attempt's rows (tagged with the partition id in the column `_part`); then it COPYs its rows and
inserts the marker in the same transaction. An attempt that dies mid-write commits nothing; two
attempts of one partition run one after the other and the last one's rows are the ones kept.

The task's transaction commits with synchronous_commit = local: staging rows are never read by
anyone but this job, and the swap's commit (synchronous, as every other) waits until the replicas
hold every WAL record before it, the staging tables' included, so what a reader can see is on the
replicas exactly as before. The COPY goes through psycopg's QueuedLibpqWriter: a thread sends
to the server while the task reads its next chunks from Spark.

The connection keywords never hold the password: an executor reads WAREHOUSE_PASSWORD_FILE itself
(on the swarm every Spark worker mounts the same secret at the same path); with a local master the
executors are children of the driver and libpq finds PGPASSWORD in their environment.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa

from . import pgbinary

PART_COLUMN = "_part"
LOAD_PART_TABLE = "etl_load_part"
# One row per encoded chunk (an Arrow batch of the table): its partition, rows and the figures the
# checks need, and the COPY bytes (no header or trailer).
ENCODED_DDL = "part int, rows long, mismatches long, min_date_key int, max_date_key int, chunk binary"
ENCODED_SCHEMA = pa.schema([("part", pa.int32()), ("rows", pa.int64()), ("mismatches", pa.int64()),
                            ("min_date_key", pa.int32()), ("max_date_key", pa.int32()), ("chunk", pa.binary())])
TIME_HOUR = "_source_time_hour"


@dataclass(frozen=True)
class Target:
    """Where one table's partitions go. Travels to the executors in the task closure: nothing
    secret in it."""
    conninfo: dict                 # libpq keywords, without the password
    password_file: str | None      # read by each executor
    schema: str
    table: str                     # the staging table
    lock_class: int                # pg_advisory_xact_lock(lock_class, partition id)
    columns: tuple[str, ...]       # the COPY's columns, in the encoded order, PART_COLUMN last

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


def encode_batch(batch: pa.RecordBatch, part: int, jsonb: frozenset) -> dict:
    """One Arrow batch of a table -> its COPY chunk, tagged with the partition id, and its figures:
    rows; for the fact the time-consistency mismatches (then `_source_time_hour` is dropped) and the
    date keys' range."""
    from .quality import time_mismatches

    mismatches = 0
    if TIME_HOUR in batch.schema.names:
        mismatches = time_mismatches(batch)
        batch = batch.drop_columns([TIME_HOUR])
    lo = hi = None
    if "date_key" in batch.schema.names and batch.num_rows:
        import pyarrow.compute as pc
        mm = pc.min_max(batch.column("date_key"))
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
    tag = pa.array(np.full(batch.num_rows, part, np.int32))
    tagged = pa.RecordBatch.from_arrays([*batch.columns, tag], names=[*batch.schema.names, PART_COLUMN])
    return {"part": part, "rows": batch.num_rows, "mismatches": mismatches, "min_date_key": lo, "max_date_key": hi,
            "chunk": pgbinary.encode(tagged, jsonb)}


def encoder(jsonb: frozenset = frozenset()):
    """The function for DataFrame.mapInArrow in the transform stage: one encoded row per batch."""
    def encode(batches):
        from pyspark import TaskContext

        part = TaskContext.get().partitionId()
        for b in batches:
            if b.num_rows:
                yield pa.RecordBatch.from_pylist([encode_batch(b, part, jsonb)], schema=ENCODED_SCHEMA)
    return encode


def chunk_stats(rows) -> Iterator[tuple]:
    """mapPartitions over the persisted chunks: (rows, mismatches, min date key, max date key) of
    the partition, without the bytes."""
    n = bad = 0
    lo = hi = None
    for r in rows:
        n += r.rows
        bad += r.mismatches
        if r.min_date_key is not None:
            lo = r.min_date_key if lo is None else min(lo, r.min_date_key)
            hi = r.max_date_key if hi is None else max(hi, r.max_date_key)
    yield n, bad, lo, hi


def write_chunks(target: Target, part: int, attempt: int, chunks: Iterable[tuple[int, bytes]]) -> dict:
    """Writes one partition's encoded chunks ((rows, bytes), tagged with `part`) into the staging
    table, replacing what an earlier attempt of the same partition committed. Returns what was
    written. An empty partition opens no connection."""
    from psycopg import sql
    from psycopg.copy import QueuedLibpqWriter

    t0 = time.monotonic()
    it = iter(chunks)
    first = next((c for c in it if c[0]), None)
    result = {"part": part, "attempt": attempt, "rows": 0, "replaced": 0, "seconds": 0.0, "wait_seconds": 0.0,
              "commit_seconds": 0.0}
    if first is None:
        return result
    table = sql.Identifier(target.schema, target.table)
    marker = sql.Identifier(target.schema, LOAD_PART_TABLE)
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in target.columns)
    rows, wait_s = 0, 0.0
    with connect(target) as conn:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit TO local")
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (target.lock_class, part))
            earlier = cur.execute(sql.SQL("DELETE FROM {} WHERE table_name = %s AND part = %s RETURNING rows").format(
                marker), (target.table, part)).fetchone()
            if earlier is not None:
                result["replaced"] = cur.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(
                    table, sql.Identifier(PART_COLUMN)), (part,)).rowcount
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(table, cols),
                          writer=QueuedLibpqWriter(cur)) as copy:
                copy.write(pgbinary.HEADER)
                for n, chunk in itertools.chain([first], it):
                    t1 = time.monotonic()
                    copy.write(chunk)          # blocks only while the queue to the server is full
                    wait_s += time.monotonic() - t1
                    rows += n
                copy.write(pgbinary.TRAILER)
                t_end = time.monotonic()
            cur.execute(sql.SQL("INSERT INTO {} (table_name, part, attempt, rows) VALUES (%s, %s, %s, %s)").format(
                marker), (target.table, part, attempt, rows))
        t_done = time.monotonic()
    result.update(rows=rows, seconds=t_done - t0, wait_seconds=wait_s, commit_seconds=t_done - t_end)
    return result


def write_partition(target: Target, part: int, attempt: int, batches: Iterable[pa.RecordBatch],
                    jsonb: frozenset = frozenset()) -> dict:
    """Encodes and writes one partition given as Arrow batches (write_chunks on encode_batch)."""
    chunks = ((e["rows"], e["chunk"]) for e in (encode_batch(b, part, jsonb) for b in batches if b.num_rows))
    return write_chunks(target, part, attempt, chunks)


def chunk_writer(target: Target):
    """The function for RDD.mapPartitions over a table's persisted chunks: writes the task's
    partition, yields one result. The chunks carry the partition id they were encoded in (the
    encoding is narrow: the same partition as the writing task's)."""
    def write(rows):
        from pyspark import TaskContext

        ctx = TaskContext.get()
        part = ctx.partitionId()

        def chunks():
            for r in rows:
                if r.part != part:
                    raise RuntimeError(f"{target.table}: a chunk of partition {r.part} in partition {part}")
                yield r.rows, r.chunk
        yield write_chunks(target, part, ctx.attemptNumber(), chunks())
    return write


def write_table(encoded, target: Target) -> list[dict]:
    """Writes every partition of a table's persisted chunks (an RDD) from the executors; one
    result per partition."""
    return encoded.mapPartitions(chunk_writer(target)).collect()
