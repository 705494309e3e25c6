"""The warehouse side of the load: staging tables, the data-quality SQL, the swap, the run log.

One run builds the new snapshot beside the live one and swaps it in:

1. `prepare_staging`: drop any staging left by a crashed run, create `<table>_next` for every
   data table (sql/tables.sql, plus the column `_part`), empty `etl_load_part`.
2. The executors COPY their partitions into the staging tables (load.py, idempotent per partition).
3. `seal_staging`: every partition accounted for, `_part` dropped.
4. `check_staging`: the data-quality checks in SQL on the staging tables; any failure raises
   DQError and the live tables were never touched. Then the primary keys, the fact's foreign keys
   to the staging dimensions (validated) and ANALYZE.
5. `swap`: one short transaction: lock the live tables, drop them and their views, rename the
   staging tables and their primary keys to the live names, recreate the views, give every table
   and view the grants its predecessor had, record the batch's source files.
6. `drop_staging` on any failure (and at the start of the next run).

A session-level advisory lock (`acquire_run_lock`) keeps one run at a time for the whole of it.
The run log (etl_run, etl_dq_result) is written in its own transactions.
"""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import psycopg
import pyarrow as pa
from psycopg import errors, sql

from . import pgbinary
from . import quality as q
from .load import LOAD_PART_TABLE, PART_COLUMN
from .schemas import NULL_TOKENS, UNKNOWN_KEY

# Data tables in write order, with their primary key (added after the checks).
DATA_TABLES = {
    "dim_date": "date_key", "dim_airport": "airport_key", "dim_airline": "airline_key", "dim_plane": "plane_key",
    "dim_weather": "weather_key", "fact_flight": "flight_key", "quarantine": None,
}
VIEWS = ("v_ontime_by_carrier_month", "v_delay_by_route", "v_weather_impact")
# fact column -> dimension it references
FOREIGN_KEYS = {
    "date_key": ("dim_date", "date_key"), "origin_airport_key": ("dim_airport", "airport_key"),
    "dest_airport_key": ("dim_airport", "airport_key"), "airline_key": ("dim_airline", "airline_key"),
    "plane_key": ("dim_plane", "plane_key"), "weather_key": ("dim_weather", "weather_key"),
}
# Source table -> the table its good rows land in (dimensions: their known members only).
LANDS_IN = {"flights": "fact_flight", "airlines": "dim_airline", "airports": "dim_airport",
            "planes": "dim_plane", "weather": "dim_weather"}
# source table.column counted at extract -> the fact column that keeps its value
KEPT_VALUES = {"flights.arr_time": "arr_hhmm"}
# Fact columns that must never be null.
FACT_REQUIRED = ("flight_key", "batch_id", "date_key", *[c for c in FOREIGN_KEYS if c != "date_key"],
                 "carrier_code", "flight_number", "origin_code", "sched_dep_local", "is_cancelled",
                 "is_diverted", "delay_bucket")
LOCK_ID = 0x5E71  # pg_advisory_lock: one run per warehouse at a time
PART_LOCK_BASE = 0x5E72  # pg_advisory_xact_lock(PART_LOCK_BASE + table index, partition id)
SWAP_LOCK_TIMEOUT = "5s"
SWAP_ATTEMPTS = 3

COPY_CHUNK_ROWS = 32768


class SchemaError(Exception):
    pass


def staged(table: str) -> str:
    return table + "_next"


def part_lock_class(table: str) -> int:
    return PART_LOCK_BASE + list(DATA_TABLES).index(table)


def connect(conninfo: dict) -> psycopg.Connection:
    return psycopg.connect(**conninfo)


def acquire_run_lock(conn: psycopg.Connection) -> bool:
    """Session-level, held until the driver's connection closes: one run at a time. False when
    another run holds it (the caller refuses to run; it never waits behind it)."""
    return bool(conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_ID,)).fetchone()[0])


def record_refused(conn, schema: str, run_id: str, master: str, trigger: str | None) -> None:
    """A run refused because another one holds the run lock: one row, status `refused`."""
    with conn.transaction():
        conn.execute(sql.SQL("INSERT INTO {}.etl_run (run_id, started_at, finished_at, status, spark_master, error) "
                             "VALUES (%s, now(), now(), 'refused', %s, %s)").format(sql.Identifier(schema)),
                     (run_id, master, f"another run holds the warehouse's run lock (trigger {trigger or 'none'})"))


def reconnect(conninfo: dict, log, seconds: float = 90) -> psycopg.Connection:
    """A new connection, retried for `seconds` (a failover of the primary takes a few)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return connect(dict(conninfo, autocommit=True))
        except psycopg.OperationalError as e:
            if time.monotonic() > deadline:
                raise
            log.info("warehouse not reachable yet (%s); retrying", str(e).splitlines()[0])
            time.sleep(3)


def ensure_schema(conn: psycopg.Connection, schema: str) -> None:
    """The schema (created only when missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the
    database even when the schema exists) and the run-log tables."""
    s = sql.Identifier(schema)
    who, db = conn.execute("SELECT current_user, current_database()").fetchone()
    if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None:
        try:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(s))
        except errors.InsufficientPrivilege:
            raise SchemaError(
                f"schema {schema} does not exist in database {db} and role {who} may not create it (no CREATE on the "
                f"database); create it as its owner: CREATE SCHEMA {schema}; GRANT USAGE, CREATE ON SCHEMA {schema} "
                f"TO {who}; (or set WAREHOUSE_SCHEMA to an existing schema)") from None
    missing = [p for p in ("USAGE", "CREATE")
               if not conn.execute("SELECT has_schema_privilege(%s, %s)", (schema, p)).fetchone()[0]]
    if missing:
        raise SchemaError(f"role {who} lacks {' and '.join(missing)} on schema {schema} (database {db}); "
                          f"grant it: GRANT USAGE, CREATE ON SCHEMA {schema} TO {who}")
    ddl = resources.files(__package__).joinpath("sql/schema.sql").read_text(encoding="utf-8")
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(s))
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
    """COPY an Arrow table into `table` (columns by name) in PostgreSQL's binary format, from
    this process (the tests' helper; the job's load runs on the executors, see load.py)."""
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in data.column_names)
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(sql.Identifier(table), cols)
    with cur.copy(stmt) as copy, ThreadPoolExecutor(1, thread_name_prefix="copy-encode") as pool:
        copy.write(pgbinary.HEADER)
        pending = [pool.submit(pgbinary.encode, b, jsonb) for b in data.to_batches(max_chunksize=COPY_CHUNK_ROWS)]
        for chunk in pending:
            copy.write(chunk.result())
        copy.write(pgbinary.TRAILER)
    return data.num_rows


# ---------------------------------------------------------------- staging

def _table_ddl(schema: str) -> str:
    text = resources.files(__package__).joinpath("sql/tables.sql").read_text(encoding="utf-8")
    return re.sub(r"\{(\w+)\}", lambda m: sql.Identifier(schema, staged(m.group(1))).as_string(None), text)


def drop_staging(conn: psycopg.Connection, schema: str) -> None:
    with conn.transaction():
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
            sql.SQL(", ").join(sql.Identifier(schema, staged(t)) for t in DATA_TABLES)))
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(schema, LOAD_PART_TABLE)))


def prepare_staging(conn: psycopg.Connection, schema: str) -> None:
    """Empty staging tables, committed (the executors write into them over their own connections).
    Ordinary (logged) tables: measured at 10x, UNLOGGED staging plus SET LOGGED before the keys
    cost more (a rewrite of every table) than the WAL the executors' COPY writes."""
    drop_staging(conn, schema)
    with conn.transaction():
        conn.execute(_table_ddl(schema))
        for t in DATA_TABLES:
            conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} integer NOT NULL").format(
                sql.Identifier(schema, staged(t)), sql.Identifier(PART_COLUMN)))


def seal_staging(conn: psycopg.Connection, schema: str, written: dict[str, list[dict]]) -> None:
    """Checks that every partition the tasks reported is in etl_load_part with its rows (and no
    other), then drops the `_part` column of every staging table."""
    with conn.transaction():
        for t, results in written.items():
            want = {r["part"]: r["rows"] for r in results if r["rows"]}
            got = dict(conn.execute(sql.SQL("SELECT part, rows FROM {} WHERE table_name = %s").format(
                sql.Identifier(schema, LOAD_PART_TABLE)), (staged(t),)).fetchall())
            if got != want:
                raise RuntimeError(f"load of {t}: the partitions in {LOAD_PART_TABLE} ({len(got)} partitions, "
                                   f"{sum(got.values())} rows) differ from what the tasks reported ({len(want)}, "
                                   f"{sum(want.values())})")
        for t in DATA_TABLES:
            conn.execute(sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(
                sql.Identifier(schema, staged(t)), sql.Identifier(PART_COLUMN)))
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(schema, LOAD_PART_TABLE)))


KEY_BUILD_MEMORY_MB = 256


def add_keys(conn: psycopg.Connection, schema: str) -> None:
    """Primary keys of the staging tables (their index names get the live names in the swap).
    Sorted in memory (the fact's key at 10x spills to disk with the default 64MB) and committed
    without waiting for the replicas, as the executors' COPY (load.py): the swap's synchronous
    commit covers them."""
    with conn.transaction():
        conn.execute("SET LOCAL maintenance_work_mem TO '%sMB'" % KEY_BUILD_MEMORY_MB)
        conn.execute("SET LOCAL synchronous_commit TO local")
        for t, key in DATA_TABLES.items():
            if key:
                conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
                    sql.Identifier(schema, staged(t)), sql.Identifier(staged(t) + "_pkey"), sql.Identifier(key)))


def add_foreign_keys_and_analyze(conn: psycopg.Connection, schema: str) -> None:
    """The fact's foreign keys (validated, under their live names: constraint names are per
    table) to the staging dimensions, then planner statistics: the swapped-in tables come with both."""
    with conn.transaction():
        conn.execute(sql.SQL("ALTER TABLE {} {}").format(sql.Identifier(schema, staged("fact_flight")), sql.SQL(", ").join(
            sql.SQL("ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})").format(
                sql.Identifier(f"fact_flight_{c}_fkey"), sql.Identifier(c), sql.Identifier(schema, staged(dim)),
                sql.Identifier(key)) for c, (dim, key) in FOREIGN_KEYS.items())))
    conn.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(sql.Identifier(schema, staged(t)) for t in DATA_TABLES)))


def check_staging(conn: psycopg.Connection, schema: str, batch_id: str, sent: dict[str, int],
                  source_rows: dict[str, int], source_values: dict[str, int], max_quarantine_rate: float,
                  max_unknown_rate: float, extra_checks: list[q.Check]) -> list[q.Check]:
    """All checks of the run; raises DQError when one fails (the live tables are untouched)."""
    with conn.transaction(), conn.cursor() as cur:
        checks = extra_checks + _checks_in_sql(cur, schema, batch_id, sent, source_rows, source_values,
                                               max_quarantine_rate, max_unknown_rate)
    bad = q.failed(checks)
    if bad:
        raise q.DQError(bad, checks)
    return checks


def _scalar(cur, query, params=()):
    return cur.execute(query, params).fetchone()


def _checks_in_sql(cur, schema: str, batch_id: str, sent: dict[str, int], source_rows: dict[str, int],
                   source_values: dict[str, int], max_quarantine_rate: float, max_unknown_rate: float) -> list[q.Check]:
    """The data-quality checks, in SQL on the staging tables (check names use the live names)."""
    def T(t):   # noqa: N802 - the staging table of `t`
        return sql.Identifier(schema, staged(t))
    checks: list[q.Check] = []
    counts = {}
    for t in DATA_TABLES:
        n = _scalar(cur, sql.SQL("SELECT count(*) FROM {}").format(T(t)))[0]
        counts[t] = n
        checks.append(q.equals("load", f"load_count:{t}", t, "rows", n, sent[t]))
    # Exact reconciliation: every source row is loaded or quarantined with a reason.
    quarantined = dict(cur.execute(sql.SQL("SELECT source_table, count(*) FROM {} GROUP BY 1").format(
        T("quarantine"))).fetchall())
    for reason_row in cur.execute(sql.SQL("SELECT source_table, reason, count(*) FROM {} GROUP BY 1, 2 ORDER BY 1, 2")
                                  .format(T("quarantine"))).fetchall():
        src, reason, n = reason_row
        checks.append(q.recorded("quality", f"quarantined:{src}:{reason}", src, "rows", n))
    for src in LANDS_IN:
        checks.append(q.recorded("load", f"count:quarantine:{src}", src, "quarantined_rows", quarantined.get(src, 0)))
    for src, target in LANDS_IN.items():
        loaded = _scalar(cur, sql.SQL("SELECT count(*) FROM {} WHERE NOT is_unknown").format(T(target)))[0] \
            if target != "fact_flight" else counts["fact_flight"]
        qn = quarantined.get(src, 0)
        checks.append(q.equals("quality", f"reconciliation:{src}", src, "loaded_plus_quarantined_rows",
                               loaded + qn, source_rows[src]))
        checks.append(q.at_most("quality", f"quarantine_rate:{src}", src, "rate",
                                q.rate(qn, source_rows[src]), max_quarantine_rate))
    # Exact, per source value: a value the source has is kept in the fact or in a quarantined raw record.
    for name, expected in source_values.items():
        src, col = name.split(".")
        kept_col = KEPT_VALUES[name]
        kept = _scalar(cur, sql.SQL("SELECT count(*) FROM {} WHERE {} IS NOT NULL").format(
            T(LANDS_IN[src]), sql.Identifier(kept_col)))[0]
        raw = _scalar(cur, sql.SQL("SELECT count(*) FROM {} WHERE source_table = %s AND raw_record ->> %s IS NOT NULL "
                                   "AND raw_record ->> %s <> ALL(%s)").format(T("quarantine")),
                      (src, col, col, list(NULL_TOKENS)))[0]
        checks.append(q.recorded("quality", f"kept:{LANDS_IN[src]}.{kept_col}", LANDS_IN[src], "rows", kept))
        checks.append(q.equals("quality", f"reconciliation:{name}", src, "kept_plus_quarantined_values",
                               kept + raw, expected))
    # One scan of the fact: null rates of key columns, referential integrity, unknown members.
    parts, labels = [], []
    for c in FACT_REQUIRED:
        parts.append(sql.SQL("count(*) FILTER (WHERE f.{} IS NULL)").format(sql.Identifier(c)))
        labels.append(("null", c))
    joins = []
    for i, (c, (dim, key)) in enumerate(FOREIGN_KEYS.items()):
        alias = sql.Identifier(f"d{i}")
        joins.append(sql.SQL("LEFT JOIN {} {} ON {}.{} = f.{}").format(T(dim), alias, alias,
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
    query = sql.SQL("SELECT {} FROM {} f {}").format(sql.SQL(", ").join(parts), T("fact_flight"), sql.SQL(" ").join(joins))
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
                                            "FROM {t}").format(k=sql.Identifier(key), t=T(dim)),
                               (UNKNOWN_KEY,))
        checks.append(q.equals("quality", f"unique:{dim}.{key}", dim, "duplicates", dup, 0))
        checks.append(q.equals("quality", f"unknown_member:{dim}", dim, "rows", unknown, 1))
    return checks


# ---------------------------------------------------------------- the swap

def _acls(cur, schema: str, names: list[str]) -> dict[str, list[tuple[str, str, bool]]]:
    """Grants on each relation other than its owner's own: (grantee or PUBLIC, privilege, grantable)."""
    rows = cur.execute("SELECT c.relname, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, "
                       "a.privilege_type, a.is_grantable FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "CROSS JOIN LATERAL aclexplode(c.relacl) a WHERE n.nspname = %s AND c.relname = ANY(%s) "
                       "AND a.grantee <> c.relowner ORDER BY 1, 2, 3", (schema, names)).fetchall()
    out: dict[str, list] = {}
    for rel, grantee, priv, grantable in rows:
        out.setdefault(rel, []).append((grantee, priv, grantable))
    return out


def _grantee(name: str) -> sql.Composable:
    return sql.SQL("PUBLIC") if name == "PUBLIC" else sql.Identifier(name)


def _set_acl(cur, schema: str, rel: str, now: list, wanted: list) -> None:
    target = sql.Identifier(schema, rel)
    for grantee in sorted({g for g, _, _ in now}):
        cur.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(target, _grantee(grantee)))
    for grantee, priv, grantable in wanted:
        cur.execute(sql.SQL("GRANT {} ON {} TO {}{}").format(sql.SQL(priv), target, _grantee(grantee),
                                                           sql.SQL(" WITH GRANT OPTION" if grantable else "")))


def _swap_once(conn, schema: str, batch_id: str, source_files: list[dict]) -> tuple[float, float]:
    s = sql.Identifier(schema)
    views = resources.files(__package__).joinpath("sql/views.sql").read_text(encoding="utf-8")
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(s))
        cur.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(SWAP_LOCK_TIMEOUT)))
        live = [r for (r,) in cur.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                          "WHERE n.nspname = %s AND c.relname = ANY(%s) ORDER BY 1",
                                          (schema, [*DATA_TABLES, *VIEWS])).fetchall()]
        t_wait = time.monotonic()
        if live:
            cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                sql.SQL(", ").join(sql.Identifier(schema, r) for r in live)))
        t_locked = time.monotonic()
        old_acls = _acls(cur, schema, live)
        cur.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(sql.SQL(", ").join(sql.Identifier(schema, v) for v in VIEWS)))
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
            sql.SQL(", ").join(sql.Identifier(schema, t) for t in DATA_TABLES)))
        for t, key in DATA_TABLES.items():
            cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(schema, staged(t)), sql.Identifier(t)))
            if key:
                cur.execute(sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                    sql.Identifier(schema, t), sql.Identifier(staged(t) + "_pkey"), sql.Identifier(t + "_pkey")))
        cur.execute(views)
        if live:   # the first swap keeps the default privileges the new relations got
            new_acls = _acls(cur, schema, [*DATA_TABLES, *VIEWS])
            for rel in [*DATA_TABLES, *VIEWS]:
                if rel in live and new_acls.get(rel, []) != old_acls.get(rel, []):
                    _set_acl(cur, schema, rel, new_acls.get(rel, []), old_acls.get(rel, []))
        cur.execute("DELETE FROM etl_source_file WHERE batch_id = %s", (batch_id,))
        cur.executemany("INSERT INTO etl_source_file (batch_id, table_name, source_file, source_sha256, landed_file, "
                        "landed_sha256, bytes, rows) VALUES (%(batch_id)s, %(table)s, %(source_file)s, "
                        "%(source_sha256)s, %(landed_file)s, %(landed_sha256)s, %(bytes)s, %(rows)s)",
                        [dict(f, batch_id=batch_id) for f in source_files])
    t_done = time.monotonic()
    return t_locked - t_wait, t_done - t_locked


def swap(conn: psycopg.Connection, schema: str, batch_id: str, source_files: list[dict], log) -> float:
    """Replaces the live tables and views with the staging ones in one transaction; returns the
    seconds the ACCESS EXCLUSIVE locks on the live relations were held (lock to commit). Waits at
    most SWAP_LOCK_TIMEOUT for readers per attempt (a queued exclusive lock would block new readers
    meanwhile), SWAP_ATTEMPTS times."""
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        try:
            waited, held = _swap_once(conn, schema, batch_id, source_files)
        except errors.LockNotAvailable:
            if attempt == SWAP_ATTEMPTS:
                raise
            log.warning("swap: the live tables stayed busy for %s (attempt %d of %d); retrying", SWAP_LOCK_TIMEOUT,
                        attempt, SWAP_ATTEMPTS)
            continue
        log.info("swap: %d tables and %d views replaced; locks waited for %.3f s, held %.3f s (lock to commit)",
                 len(DATA_TABLES), len(VIEWS), waited, held)
        return held
    raise AssertionError("unreachable")
