"""The load: one PostgreSQL transaction per batch that replaces the warehouse's snapshot.

TRUNCATE every data table, COPY the new rows into them (unindexed, COPY ... FREEZE), run the
data-quality checks in SQL, and only when all pass add the primary and foreign keys and commit.
A failed check rolls everything back: the previous snapshot stays as it was. Loading the same
batch twice therefore leaves identical tables (keys are stable hashes, every row is rebuilt from
the same landed files). The run log (etl_run, etl_dq_result) is written in its own transactions.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import psycopg
import pyarrow as pa
from psycopg import sql

from . import pgbinary
from . import quality as q
from .schemas import UNKNOWN_KEY

# Data tables in COPY order, with their primary key (the dimensions' are declared in schema.sql,
# the fact's is added by each load after its COPY).
DATA_TABLES = {
    "dim_date": "date_key", "dim_airport": "airport_key", "dim_airline": "airline_key", "dim_plane": "plane_key",
    "dim_weather": "weather_key", "fact_flight": "flight_key", "quarantine": None,
}
# fact column -> dimension it references
FOREIGN_KEYS = {
    "date_key": ("dim_date", "date_key"), "origin_airport_key": ("dim_airport", "airport_key"),
    "dest_airport_key": ("dim_airport", "airport_key"), "airline_key": ("dim_airline", "airline_key"),
    "plane_key": ("dim_plane", "plane_key"), "weather_key": ("dim_weather", "weather_key"),
}
# Source table -> the table its good rows land in (dimensions: their known members only).
LANDS_IN = {"flights": "fact_flight", "airlines": "dim_airline", "airports": "dim_airport",
            "planes": "dim_plane", "weather": "dim_weather"}
# Fact columns that must never be null.
FACT_REQUIRED = ("flight_key", "batch_id", "date_key", *[c for c in FOREIGN_KEYS if c != "date_key"],
                 "carrier_code", "flight_number", "origin_code", "sched_dep_local", "is_cancelled",
                 "is_diverted", "delay_bucket")
LOCK_ID = 0x5E71  # pg_advisory_xact_lock: one load per warehouse at a time

COPY_CHUNK_ROWS = 32768


def connect(conninfo: dict) -> psycopg.Connection:
    return psycopg.connect(**conninfo)


def ensure_schema(conn: psycopg.Connection, schema: str) -> None:
    ddl = resources.files(__package__).joinpath("sql/schema.sql").read_text(encoding="utf-8")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_ID,))
        # CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists.
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(ddl)


def start_run(conn, schema: str, run_id: str, batch_id: str | None, master: str) -> None:
    with conn.transaction():
        conn.execute(sql.SQL("INSERT INTO {}.etl_run (run_id, batch_id, started_at, status, spark_master) "
                             "VALUES (%s, %s, now(), 'running', %s)").format(sql.Identifier(schema)),
                     (run_id, batch_id, master))


def finish_run(conn, schema: str, run_id: str, batch_id: str | None, status: str, checks: list[q.Check],
               error: str | None, rows_loaded: int | None, load_seconds: float | None) -> None:
    s = sql.Identifier(schema)
    rps = (rows_loaded / load_seconds) if rows_loaded and load_seconds else None
    with conn.transaction():
        conn.execute(sql.SQL("UPDATE {}.etl_run SET batch_id = %s, finished_at = now(), status = %s, "
                             "failed_checks = %s, error = %s, rows_loaded = %s, load_seconds = %s, "
                             "load_rows_per_second = %s WHERE run_id = %s").format(s),
                     (batch_id, status, [c.name for c in q.failed(checks)], error, rows_loaded, load_seconds, rps, run_id))
        with conn.cursor() as cur:
            cur.executemany(sql.SQL("INSERT INTO {}.etl_dq_result (run_id, stage, check_name, table_name, metric, "
                                    "value, threshold, passed) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)").format(s),
                            [(run_id, c.stage, c.name, c.table, c.metric, c.value, c.threshold, c.passed) for c in checks])


def copy_arrow(cur: psycopg.Cursor, table: str, data: pa.Table, jsonb: frozenset[str] = frozenset()) -> int:
    """COPY an Arrow table into `table` (columns by name) in PostgreSQL's binary format.

    A worker thread encodes the next chunks (numpy, mostly outside the GIL) while this thread
    sends the current one, so encoding overlaps the server's work."""
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in data.column_names)
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary, FREEZE)").format(sql.Identifier(table), cols)
    with cur.copy(stmt) as copy, ThreadPoolExecutor(1, thread_name_prefix="copy-encode") as pool:
        copy.write(pgbinary.HEADER)
        pending = [pool.submit(pgbinary.encode, b, jsonb) for b in data.to_batches(max_chunksize=COPY_CHUNK_ROWS)]
        for chunk in pending:
            copy.write(chunk.result())
        copy.write(pgbinary.TRAILER)
    return data.num_rows


def _scalar(cur, query, params=()):
    return cur.execute(query, params).fetchone()


def _checks_in_sql(cur, batch_id: str, sent: dict[str, int], source_rows: dict[str, int],
                   max_quarantine_rate: float, max_unknown_rate: float) -> list[q.Check]:
    checks: list[q.Check] = []
    counts = {}
    for t in DATA_TABLES:
        n = _scalar(cur, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t)))[0]
        counts[t] = n
        checks.append(q.equals("load", f"load_count:{t}", t, "rows", n, sent[t]))
    # Exact reconciliation: every source row is loaded or quarantined with a reason.
    quarantined = dict(cur.execute("SELECT source_table, count(*) FROM quarantine GROUP BY 1").fetchall())
    for reason_row in cur.execute("SELECT source_table, reason, count(*) FROM quarantine GROUP BY 1, 2 ORDER BY 1, 2").fetchall():
        src, reason, n = reason_row
        checks.append(q.recorded("quality", f"quarantined:{src}:{reason}", src, "rows", n))
    for src, target in LANDS_IN.items():
        loaded = _scalar(cur, sql.SQL("SELECT count(*) FROM {} WHERE NOT is_unknown").format(sql.Identifier(target)))[0] \
            if target != "fact_flight" else counts["fact_flight"]
        qn = quarantined.get(src, 0)
        checks.append(q.equals("quality", f"reconciliation:{src}", src, "loaded_plus_quarantined_rows",
                               loaded + qn, source_rows[src]))
        checks.append(q.at_most("quality", f"quarantine_rate:{src}", src, "rate",
                                q.rate(qn, source_rows[src]), max_quarantine_rate))
    # One scan of the fact: null rates of key columns, referential integrity, unknown members.
    parts, labels = [], []
    for c in FACT_REQUIRED:
        parts.append(sql.SQL("count(*) FILTER (WHERE f.{} IS NULL)").format(sql.Identifier(c)))
        labels.append(("null", c))
    joins = []
    for i, (c, (dim, key)) in enumerate(FOREIGN_KEYS.items()):
        alias = sql.Identifier(f"d{i}")
        joins.append(sql.SQL("LEFT JOIN {} {} ON {}.{} = f.{}").format(sql.Identifier(dim), alias, alias,
                                                                       sql.Identifier(key), sql.Identifier(c)))
        parts.append(sql.SQL("count(*) FILTER (WHERE f.{} IS NOT NULL AND {}.{} IS NULL)").format(
            sql.Identifier(c), alias, sql.Identifier(key)))
        labels.append(("orphan", c))
        parts.append(sql.SQL("count(*) FILTER (WHERE f.{} = %s)" % UNKNOWN_KEY).format(sql.Identifier(c)))
        labels.append(("unknown", c))
    for c in ("sched_dep_utc", "arr_utc"):
        parts.append(sql.SQL("count(*) FILTER (WHERE f.{} IS NULL AND NOT f.is_cancelled AND NOT f.is_diverted)")
                     .format(sql.Identifier(c)))
        labels.append(("null_completed", c))
    parts.append(sql.SQL("count(*) - count(DISTINCT f.flight_key)"))
    labels.append(("dupkey", "flight_key"))
    parts.append(sql.SQL("count(*) FILTER (WHERE f.batch_id IS DISTINCT FROM %s)"))
    labels.append(("batch", "batch_id"))
    query = sql.SQL("SELECT {} FROM fact_flight f {}").format(sql.SQL(", ").join(parts), sql.SQL(" ").join(joins))
    row = _scalar(cur, query, (batch_id,))
    total = counts["fact_flight"]
    for (kind, c), v in zip(labels, row):
        if kind == "null":
            checks.append(q.at_most("quality", f"null_rate:fact_flight.{c}", "fact_flight", "null_rate", q.rate(v, total), 0))
        elif kind == "orphan":
            checks.append(q.equals("quality", f"referential_integrity:fact_flight.{c}", "fact_flight", "orphans", v, 0))
        elif kind == "unknown":
            checks.append(q.at_most("quality", f"unknown_rate:fact_flight.{c}", "fact_flight", "rate",
                                    q.rate(v, total), max_unknown_rate))
        elif kind == "null_completed":
            checks.append(q.recorded("quality", f"null_rate_completed:fact_flight.{c}", "fact_flight", "null_rate",
                                     q.rate(v, total)))
        elif kind == "dupkey":
            checks.append(q.equals("quality", "unique:fact_flight.flight_key", "fact_flight", "duplicates", v, 0))
        elif kind == "batch":
            checks.append(q.equals("quality", "batch:fact_flight.batch_id", "fact_flight", "other_batch_rows", v, 0))
    # Dimensions: unique keys, exactly one unknown member, no null natural key on known members.
    for dim, key in DATA_TABLES.items():
        if key is None or dim == "fact_flight":
            continue
        dup, unknown = _scalar(cur, sql.SQL("SELECT count(*) - count(DISTINCT {k}), count(*) FILTER (WHERE {k} = %s) "
                                            "FROM {t}").format(k=sql.Identifier(key), t=sql.Identifier(dim)),
                               (UNKNOWN_KEY,))
        checks.append(q.equals("quality", f"unique:{dim}.{key}", dim, "duplicates", dup, 0))
        checks.append(q.equals("quality", f"unknown_member:{dim}", dim, "rows", unknown, 1))
    return checks


def _fact_constraints(cur, add: bool) -> None:
    """The fact's primary key and foreign keys, dropped before the COPY and added after the checks,
    each in one ALTER TABLE. The dimensions keep their primary keys (small tables: cheaper to COPY
    into indexed than to rebuild)."""
    names = ["fact_flight_pkey"] + [f"fact_flight_{c}_fkey" for c in FOREIGN_KEYS]
    if not add:
        actions = [sql.SQL("DROP CONSTRAINT IF EXISTS {}").format(sql.Identifier(n)) for n in names]
    else:
        actions = [sql.SQL("ADD CONSTRAINT {} PRIMARY KEY (flight_key)").format(sql.Identifier(names[0]))]
        actions += [sql.SQL("ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) NOT VALID").format(
            sql.Identifier(f"fact_flight_{c}_fkey"), sql.Identifier(c), sql.Identifier(dim), sql.Identifier(key))
            for c, (dim, key) in FOREIGN_KEYS.items()]
    cur.execute(sql.SQL("ALTER TABLE fact_flight {}").format(sql.SQL(", ").join(actions)))


def load_snapshot(conn: psycopg.Connection, schema: str, batch_id: str, tables: dict[str, pa.Table],
                  source_files: list[dict], source_rows: dict[str, int], max_quarantine_rate: float,
                  max_unknown_rate: float, extra_checks: list[q.Check], log) -> tuple[list[q.Check], float]:
    """Replaces the snapshot with `tables` in one transaction. Returns (checks, seconds spent
    writing: truncate + COPY + primary keys + foreign keys (NOT VALID) + commit; the data-quality
    queries are not counted). Raises DQError (after rolling back) when a check fails."""
    sent = {t: tables[t].num_rows for t in DATA_TABLES}
    write_seconds = 0.0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_ID,))
        t0 = time.monotonic()
        _fact_constraints(cur, add=False)
        cur.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier(t) for t in DATA_TABLES)))
        log.info("load: constraints dropped, tables truncated in %.2f s", time.monotonic() - t0)
        cur.execute("DELETE FROM etl_source_file WHERE batch_id = %s", (batch_id,))
        cur.executemany("INSERT INTO etl_source_file (batch_id, table_name, source_file, source_sha256, landed_file, "
                        "landed_sha256, bytes, rows) VALUES (%(batch_id)s, %(table)s, %(source_file)s, "
                        "%(source_sha256)s, %(landed_file)s, %(landed_sha256)s, %(bytes)s, %(rows)s)",
                        [dict(f, batch_id=batch_id) for f in source_files])
        for t in DATA_TABLES:
            t1 = time.monotonic()
            copy_arrow(cur, t, tables[t], frozenset({"raw_record"}) if t == "quarantine" else frozenset())
            log.info("load: COPY %s: %d rows in %.2f s", t, sent[t], time.monotonic() - t1)
        write_seconds += time.monotonic() - t0
        checks = _checks_in_sql(cur, batch_id, sent, source_rows, max_quarantine_rate, max_unknown_rate)
        checks = extra_checks + checks
        bad = q.failed(checks)
        if bad:
            raise q.DQError(bad, checks)   # leaving the block with an exception rolls back
        t0 = time.monotonic()
        _fact_constraints(cur, add=True)
    write_seconds += time.monotonic() - t0   # keys and the commit
    log.info("load: fact keys added and committed in %.2f s", time.monotonic() - t0)
    return checks, write_seconds


def finalize(conn: psycopg.Connection, schema: str) -> None:
    """After the commit: validate the foreign keys (added NOT VALID in the load; the
    referential-integrity checks already proved them in that transaction) and refresh the
    planner's statistics. Readers are not blocked (SHARE UPDATE EXCLUSIVE locks)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        for c in FOREIGN_KEYS:
            cur.execute(sql.SQL("ALTER TABLE fact_flight VALIDATE CONSTRAINT {}").format(
                sql.Identifier(f"fact_flight_{c}_fkey")))
    conn.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(sql.Identifier(schema, t) for t in DATA_TABLES)))
