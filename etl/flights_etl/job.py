"""One run of the job: extract -> transform (persisted on the executors) -> load (the executors
COPY into staging tables) -> check (data quality in SQL, keys) -> swap, observed by logs, metrics
and a trace. See etl/README.md."""
from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from importlib import resources

from . import quality as q
from . import load, source, transform, warehouse
from .config import Config
from .observe import Metrics, log, setup_logging, setup_tracing, stage
from .schemas import TABLES

class Refused(Exception):
    """Another run holds the warehouse's run lock."""


EXIT = {"succeeded": 0, "error": 1, "dq_failed": 3, "refused": 4}
# Markers of runs that failed their data-quality checks are kept this long, then removed.
MARKER_DAYS = 7


def failed_before(marker: str | None) -> dict | None:
    """The earlier attempt's data-quality failure, when this is a retry of the same run.

    Swarm retries a failed task (a failover of the warehouse in the middle of a load is worth a
    second attempt), but the same input under the same settings fails the same checks again: the
    first attempt leaves a marker (its path names the Swarm service and a hash of the run's
    settings and image) and a retry that finds it ends at once with the same outcome."""
    if not marker or not os.path.exists(marker):
        return None
    try:
        with open(marker, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def remember_failure(marker: str, run_id: str, batch_id: str | None, error: str | None) -> None:
    folder = os.path.dirname(marker)
    os.makedirs(folder, exist_ok=True)
    cutoff = time.time() - MARKER_DAYS * 86400
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        try:
            if os.path.getmtime(path) < cutoff:
                os.remove(path)
        except OSError:
            pass
    tmp = f"{marker}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"run_id": run_id, "batch_id": batch_id, "error": error, "at": time.time()}, f)
    os.replace(tmp, marker)


def spark_session(cfg: Config):
    from pyspark.sql import SparkSession

    log4j = resources.files(__package__).joinpath("log4j2.properties")
    return (SparkSession.builder.master(cfg.spark_master).appName("swarm-etl-flights")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", cfg.driver_memory)
            .config("spark.sql.shuffle.partitions", str(cfg.shuffle_partitions))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.debug.maxToStringFields", "200")
            # One Arrow batch = one COPY chunk (about 10 MB for the fact).
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(warehouse.COPY_CHUNK_ROWS))
            # Constraint propagation grows exponentially with the wide CASE expressions of the
            # validation (an optimizer OutOfMemoryError on the duplicate frames); it buys nothing here.
            .config("spark.sql.constraintPropagation.enabled", "false")
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j} -XX:-DontCompileHugeMethods")
            .getOrCreate())


def package_zip(directory: str) -> str:
    """This package as a zip for SparkContext.addPyFile: the executors import the partition writer
    from it (on a cluster their image has the Python dependencies, pyarrow, numpy, psycopg)."""
    import zipfile

    pkg = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(directory, "flights_etl.zip")
    with zipfile.ZipFile(path, "w") as z:
        for root, _, files in os.walk(pkg):
            for f in files:
                if f.endswith((".py", ".sql", ".properties")):
                    full = os.path.join(root, f)
                    z.write(full, os.path.join("flights_etl", os.path.relpath(full, pkg)))
    return path


# Partitioning key of each table when LOAD_PARTITIONS asks for a number of partitions (a hash of
# it: the same rows in the same partition on every attempt). The dimensions (at most some ten
# thousand rows at 10x) go in one partition each: one COPY stream, one staging transaction; the
# fact and the quarantine in LOAD_PARTITIONS (the platform sets it to the executors' cores: one
# stream per core, measured faster than more, smaller streams on the lab).
PARTITION_BY = {"dim_date": ("date_key",), "dim_airport": ("airport_key",), "dim_airline": ("airline_key",),
                "dim_plane": ("plane_key",), "dim_weather": ("weather_key",), "fact_flight": ("flight_key",),
                "quarantine": ("source_table", "natural_key", "raw_record")}


def build(spark, landed: source.Landed, load_partitions: int | None) -> dict:
    """The transform stage's plan: every output table as a DataFrame (the fact with
    `_source_time_hour`), nothing computed yet.

    Each source is read and typed once for the duplicate check, once for the star schema and once
    for the quarantine; `materialize` then computes, encodes and persists them on the executors."""
    from pyspark.sql import functions as F

    batch = landed.batch_id
    zones = sorted(spark._jvm.java.time.ZoneId.getAvailableZoneIds())
    checked = {t: transform.check(transform.read_raw(spark, landed.path(t), t), t, zones) for t in TABLES}
    good = {t: transform.good(checked[t]) for t in TABLES}
    weather = transform.dim_weather(good["weather"])
    frames = {
        "dim_airline": transform.dim_airline(good["airlines"]),
        "dim_airport": transform.dim_airport(good["airports"]),
        "dim_plane": transform.dim_plane(good["planes"]),
        "dim_weather": weather,
        "fact_flight": transform.fact_flight(good["flights"], good["airports"], good["airlines"], good["planes"],
                                             weather, batch),
        "quarantine": transform.union_all([transform.quarantine(checked[t], t, batch) for t in TABLES]),
    }
    if load_partitions:
        frames = {t: df.repartition(partitions(t, load_partitions), *[F.col(c) for c in PARTITION_BY[t]])
                  for t, df in frames.items()}
    return frames


def partitions(table: str, load_partitions: int) -> int:
    return 1 if table.startswith("dim_") else load_partitions


JSONB = {"quarantine": frozenset({"raw_record"})}


def materialize(spark, frames: dict, load_partitions: int | None, metrics: Metrics) -> tuple[dict, dict, list[q.Check]]:
    """Computes every output table on the executors, encodes each batch into COPY chunks there
    and persists the chunks (memory, spilling to disk: the driver holds none of it); the counts
    come from a Spark aggregation over the chunks. Adds dim_date, which covers the years of the
    flights. Returns (chunks per table as RDDs, COPY columns per table, checks)."""
    from pyspark import StorageLevel

    def encode(t, df):
        columns = tuple(c for c in df.columns if c != load.TIME_HOUR) + (load.PART_COLUMN,)
        chunks = df.mapInArrow(load.encoder(JSONB.get(t, frozenset())), load.ENCODED_DDL).rdd
        chunks.persist(StorageLevel.MEMORY_AND_DISK)
        stats = chunks.mapPartitions(load.chunk_stats).collect()
        lows = [lo for _, _, lo, _ in stats if lo is not None]
        highs = [hi for _, _, _, hi in stats if hi is not None]
        return chunks, columns, (sum(s[0] for s in stats), sum(s[1] for s in stats),
                                 min(lows) if lows else None, max(highs) if highs else None)

    encoded, columns, counts = {}, {}, {}
    mismatches = 0
    first = last = None
    for t, df in frames.items():
        encoded[t], columns[t], (counts[t], bad, lo, hi) = encode(t, df)
        if t == "fact_flight":
            mismatches, first, last = bad, lo, hi
    if first is None:
        first = last = datetime.now(timezone.utc).year * 10000
    dates = transform.dim_date(spark, first // 10000, last // 10000)
    if load_partitions:
        dates = dates.repartition(partitions("dim_date", load_partitions), "date_key")
    encoded["dim_date"], columns["dim_date"], (counts["dim_date"], *_) = encode("dim_date", dates)

    checks = [q.equals("transform", "time_consistency:fact_flight.sched_dep_utc", "fact_flight",
                       "rows_hour_differs_from_source_time_hour", mismatches, 0)]
    for t in TABLES:
        target = warehouse.LANDS_IN[t]
        good_rows = counts[target] - (0 if target == "fact_flight" else 1)
        checks.append(q.recorded("transform", f"count:transform:{t}", t, "good_rows", good_rows))
        metrics.rows.labels("transform", t).set(good_rows)
    return encoded, columns, checks


def write_staging(cfg: Config, encoded: dict, columns: dict, log) -> dict[str, list[dict]]:
    """Every table's chunks sent by the executors into its staging table, each in parallel over
    its partitions; the tables' Spark jobs are submitted together (their scheduling overheads
    overlap; the fact's job is queued last)."""
    def one(t: str) -> list[dict]:
        target = load.Target(cfg.executor_conninfo(), cfg.password_file, cfg.schema, warehouse.staged(t),
                             warehouse.part_lock_class(t), columns[t])
        t0 = time.monotonic()
        results = load.write_table(encoded[t], target)
        rows = sum(r["rows"] for r in results)
        retried = sum(1 for r in results if r["replaced"] or r["attempt"])
        log.info("load: %s: %d rows, %d partitions, %.2f s (tasks: %.2f s in all, of which %.2f s waiting for the "
                 "server mid-COPY and %.2f s from the last chunk to commit)%s", t, rows,
                 len(results), time.monotonic() - t0, sum(r["seconds"] for r in results),
                 sum(r["wait_seconds"] for r in results), sum(r["commit_seconds"] for r in results),
                 f"; {retried} partitions rewritten by a retried task" if retried else "")
        return results

    order = sorted(warehouse.DATA_TABLES, key=lambda t: t == "fact_flight")
    with ThreadPoolExecutor(len(order), thread_name_prefix="load") as pool:
        futures = {t: pool.submit(one, t) for t in order}
        return {t: futures[t].result() for t in warehouse.DATA_TABLES}


def run(cfg: Config) -> int:
    setup_logging(cfg.log_level, cfg.secrets())
    metrics = Metrics()
    tracer, shutdown_tracing = setup_tracing(cfg.otlp_endpoint, os.environ.get("OTEL_SERVICE_NAME", "swarm-etl"))
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]
    outcome, error, checks = "error", None, []
    batch_id, rows_loaded, load_seconds = cfg.batch_id, None, None
    conn = spark = None
    run_started = staging = False
    t_run = time.monotonic()
    log.info("run %s: warehouse %s, spark %s", run_id, cfg.describe(), cfg.spark_master)
    earlier = failed_before(cfg.attempt_marker)
    if earlier is not None:
        # Recorded in etl_run and in the metrics by the attempt that failed; nothing to add.
        log.error("run %s failed its data-quality checks (batch %s): %s; this retry of the same run (same "
                  "input, settings and image) would fail them again and is not run", earlier.get("run_id"),
                  earlier.get("batch_id"), earlier.get("error"))
        shutdown_tracing()
        return EXIT["dq_failed"]
    if cfg.password_file is None and "password" in cfg.conninfo:
        # Local master only (config refuses an inline password otherwise): the executors are child
        # processes of this one and libpq reads PGPASSWORD from their environment.
        os.environ["PGPASSWORD"] = cfg.conninfo["password"]
    try:
        with tracer.start_as_current_span("etl.run", attributes={"etl.run_id": run_id,
                                                                 "etl.spark_master": cfg.spark_master}) as root, \
                tempfile.TemporaryDirectory(prefix="swarm-etl-") as scratch:
            conn = warehouse.connect(dict(cfg.conninfo, autocommit=True))
            if not warehouse.acquire_run_lock(conn):
                # Another run (another trigger: pulumi up, the schedule, by hand) is loading: refused, recorded.
                warehouse.ensure_schema(conn, cfg.schema)
                warehouse.record_refused(conn, cfg.schema, run_id, cfg.spark_master, os.environ.get("ETL_TRIGGER"))
                raise Refused("refused: another run holds the warehouse's run lock; this one does not wait behind it")
            warehouse.ensure_schema(conn, cfg.schema)
            warehouse.start_run(conn, cfg.schema, run_id, cfg.batch_id, cfg.spark_master)
            run_started = True

            with stage(tracer, metrics, "extract") as span:
                landed = source.extract(cfg.source_dir, cfg.landing_dir, cfg.batch_id, log)
                batch_id = landed.batch_id
                span.set_attribute("etl.batch_id", batch_id)
                root.set_attribute("etl.batch_id", batch_id)
            source_rows, source_values = landed.rows(), landed.values()
            checks = [q.recorded("extract", f"count:extract:{t}", t, "rows", n) for t, n in source_rows.items()]
            checks += [q.recorded("extract", f"count:extract:{name}", name.split(".")[0], "values", n)
                       for name, n in source_values.items()]
            for t, n in source_rows.items():
                metrics.rows.labels("extract", t).set(n)

            with stage(tracer, metrics, "transform") as span:
                spark = spark_session(cfg)
                spark.sparkContext.addPyFile(package_zip(scratch))
                # Files split into at least two partitions per task slot, of equal size: the last
                # round of tasks (transform, and the load's COPYs) does not run on one core alone.
                spark.conf.set("spark.sql.files.minPartitionNum", str(2 * spark.sparkContext.defaultParallelism))
                encoded, columns, transform_checks = materialize(spark, build(spark, landed, cfg.load_partitions),
                                                                 cfg.load_partitions, metrics)
            checks += transform_checks

            with stage(tracer, metrics, "load") as span:
                t0 = time.monotonic()
                staging = True
                warehouse.prepare_staging(conn, cfg.schema)
                written = write_staging(cfg, encoded, columns, log)
                warehouse.seal_staging(conn, cfg.schema, written)
                write_seconds = time.monotonic() - t0
                sent = {t: sum(r["rows"] for r in rs) for t, rs in written.items()}
                rows_loaded = sum(sent.values())
                span.set_attribute("etl.rows_loaded", rows_loaded)
            with stage(tracer, metrics, "check"):
                checks = warehouse.check_staging(conn, cfg.schema, batch_id, sent, source_rows, source_values,
                                                 cfg.max_quarantine_rate, cfg.max_unknown_rate, checks)
                for c in checks:
                    if c.name.startswith("count:quarantine:"):
                        metrics.rows.labels("quarantine", c.table).set(c.value)
                t0 = time.monotonic()
                warehouse.add_keys(conn, cfg.schema)
                keys_seconds = time.monotonic() - t0
                log.info("check: %d checks passed; primary keys built in %.2f s", len(checks), keys_seconds)
                warehouse.add_foreign_keys_and_analyze(conn, cfg.schema)
            with stage(tracer, metrics, "swap"):
                warehouse.swap(conn, cfg.schema, batch_id, landed.files, log)
                staging = False
            load_seconds = write_seconds + keys_seconds
            for name, n in sent.items():
                metrics.rows.labels("load", name).set(n)
            metrics.load_rps.set(rows_loaded / load_seconds if load_seconds else 0)
            log.info("load: %d rows written in %.2f s (%.0f rows/s; staging and COPY %.2f s, primary keys %.2f s)",
                     rows_loaded, load_seconds, rows_loaded / load_seconds if load_seconds else 0, write_seconds,
                     keys_seconds)
            outcome = "succeeded"
    except Refused as e:
        outcome, error = "refused", str(e)
        log.error("%s", e)
    except q.DQError as e:
        outcome, error, checks = "dq_failed", str(e), e.checks
        log.error("%s", e)
    except Exception as e:  # noqa: BLE001 - every error is reported, recorded and ends the run
        error = f"{type(e).__name__}: {e}"
        log.error("run failed: %s", error, exc_info=cfg.log_level == "DEBUG")
    finally:
        if spark is not None:
            spark.stop()
        if conn is not None and (run_started or staging) and (conn.closed or conn.broken):
            # The connection died with the run (a failover of the primary): a new one records the
            # outcome, so no run stays "running".
            try:
                conn = warehouse.reconnect(cfg.conninfo, log)
                if staging and not warehouse.acquire_run_lock(conn):
                    staging = False   # another run started meanwhile: its staging is not ours to drop
            except Exception as e:  # noqa: BLE001
                log.error("could not reconnect to record the run: %s", e)
        if conn is not None and staging:
            try:
                warehouse.drop_staging(conn, cfg.schema)
                log.info("load: staging tables dropped, the live snapshot is unchanged")
            except Exception as e:  # noqa: BLE001
                log.error("could not drop the staging tables in %s: %s", cfg.schema, e)
        if conn is not None and run_started:
            try:
                warehouse.finish_run(conn, cfg.schema, run_id, batch_id, outcome, checks,
                                     error, rows_loaded if outcome == "succeeded" else None,
                                     load_seconds if outcome == "succeeded" else None)
            except Exception as e:  # noqa: BLE001
                log.error("could not record the run in %s.etl_run: %s", cfg.schema, e)
        if conn is not None:
            conn.close()
        metrics.dq_total.set(len(checks))
        metrics.dq_failed.set(len(q.failed(checks)))
        metrics.run_seconds.set(time.monotonic() - t_run)
        metrics.set_outcome(outcome)
        metrics.publish(cfg.metrics_textfile, cfg.pushgateway_url, cfg.pushgateway_job)
        if outcome == "dq_failed" and cfg.attempt_marker:
            try:
                remember_failure(cfg.attempt_marker, run_id, batch_id, error)
            except OSError as e:
                log.warning("could not write %s (a retry will run the job again): %s", cfg.attempt_marker, e)
        shutdown_tracing()
    log.info("run %s: %s in %.1f s (batch %s)", run_id, outcome, time.monotonic() - t_run, batch_id)
    return EXIT[outcome]
