"""One run of the job: extract -> transform -> load (with the data-quality checks), observed by
logs, metrics and a trace. See etl/README.md."""
from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timezone
from importlib import resources

from . import quality as q
from . import source, transform, warehouse
from .config import Config
from .observe import Metrics, log, setup_logging, setup_tracing, stage
from .schemas import TABLES

EXIT = {"succeeded": 0, "error": 1, "dq_failed": 3}


def spark_session(cfg: Config):
    from pyspark.sql import SparkSession

    log4j = resources.files(__package__).joinpath("log4j2.properties")
    return (SparkSession.builder.master(cfg.spark_master).appName("swarm-etl-flights")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", cfg.driver_memory)
            .config("spark.driver.maxResultSize", "4g")
            .config("spark.sql.shuffle.partitions", str(cfg.shuffle_partitions))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.debug.maxToStringFields", "200")
            # Constraint propagation grows exponentially with the wide CASE expressions of the
            # validation (an optimizer OutOfMemoryError on the duplicate frames); it buys nothing here.
            .config("spark.sql.constraintPropagation.enabled", "false")
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j} -XX:-DontCompileHugeMethods")
            .getOrCreate())


def build(spark, landed: source.Landed, metrics: Metrics) -> tuple[dict, list[q.Check]]:
    """The transform stage: every output table as an Arrow table, and the stage's checks.

    Nothing is cached: each source is read and typed once for the duplicate check, once for the
    star schema and once for the quarantine (cheaper here than building Spark's columnar cache)."""
    batch = landed.batch_id
    zones = sorted(spark._jvm.java.time.ZoneId.getAvailableZoneIds())
    checked = {t: transform.check(transform.read_raw(spark, landed.path(t), t), t, zones) for t in TABLES}
    good = {t: transform.good(checked[t]) for t in TABLES}
    weather = transform.dim_weather(good["weather"])
    tables = {
        "dim_airline": transform.dim_airline(good["airlines"]).toArrow(),
        "dim_airport": transform.dim_airport(good["airports"]).toArrow(),
        "dim_plane": transform.dim_plane(good["planes"]).toArrow(),
        "dim_weather": weather.toArrow(),
    }
    fact = transform.fact_flight(good["flights"], good["airports"], good["airlines"], good["planes"],
                                 weather, batch).toArrow()
    mismatches = q.time_mismatches(fact)
    tables["fact_flight"] = fact.drop_columns(["_source_time_hour"])
    keys = tables["fact_flight"].column("date_key")
    if len(keys):
        import pyarrow.compute as pc
        first, last = pc.min(keys).as_py() // 10000, pc.max(keys).as_py() // 10000
    else:
        first = last = datetime.now(timezone.utc).year
    tables["dim_date"] = transform.dim_date(spark, first, last).toArrow()
    tables["quarantine"] = transform.union_all([transform.quarantine(checked[t], t, batch) for t in TABLES]).toArrow()

    checks = [q.equals("transform", "time_consistency:fact_flight.sched_dep_utc", "fact_flight",
                       "rows_hour_differs_from_source_time_hour", mismatches, 0)]
    q_by_table: dict[str, int] = {}
    for t in tables["quarantine"].column("source_table").to_pylist():
        q_by_table[t] = q_by_table.get(t, 0) + 1
    for t in TABLES:
        target = warehouse.LANDS_IN[t]
        good_rows = tables[target].num_rows - (0 if target == "fact_flight" else 1)
        checks.append(q.recorded("transform", f"count:transform:{t}", t, "good_rows", good_rows))
        checks.append(q.recorded("transform", f"count:quarantine:{t}", t, "quarantined_rows", q_by_table.get(t, 0)))
        metrics.rows.labels("transform", t).set(good_rows)
        metrics.rows.labels("quarantine", t).set(q_by_table.get(t, 0))
    return tables, checks


def run(cfg: Config) -> int:
    setup_logging(cfg.log_level, cfg.secrets())
    metrics = Metrics()
    tracer, shutdown_tracing = setup_tracing(cfg.otlp_endpoint, os.environ.get("OTEL_SERVICE_NAME", "swarm-etl"))
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]
    outcome, error, checks = "error", None, []
    batch_id, rows_loaded, load_seconds = cfg.batch_id, None, None
    conn = spark = None
    run_started = False
    t_run = time.monotonic()
    log.info("run %s: warehouse %s, spark %s", run_id, cfg.describe(), cfg.spark_master)
    try:
        with tracer.start_as_current_span("etl.run", attributes={"etl.run_id": run_id,
                                                                 "etl.spark_master": cfg.spark_master}) as root:
            conn = warehouse.connect(dict(cfg.conninfo, autocommit=True))
            warehouse.ensure_schema(conn, cfg.schema)
            warehouse.start_run(conn, cfg.schema, run_id, cfg.batch_id, cfg.spark_master)
            run_started = True

            with stage(tracer, metrics, "extract") as span:
                landed = source.extract(cfg.source_dir, cfg.landing_dir, cfg.batch_id, log)
                batch_id = landed.batch_id
                span.set_attribute("etl.batch_id", batch_id)
                root.set_attribute("etl.batch_id", batch_id)
            source_rows = landed.rows()
            checks = [q.recorded("extract", f"count:extract:{t}", t, "rows", n) for t, n in source_rows.items()]
            for t, n in source_rows.items():
                metrics.rows.labels("extract", t).set(n)

            with stage(tracer, metrics, "transform") as span:
                spark = spark_session(cfg)
                tables, transform_checks = build(spark, landed, metrics)
                span.set_attribute("etl.fact_rows", tables["fact_flight"].num_rows)
            checks += transform_checks

            with stage(tracer, metrics, "load") as span:
                all_checks, load_seconds = warehouse.load_snapshot(
                    conn, cfg.schema, batch_id, tables, landed.files, source_rows, cfg.max_quarantine_rate,
                    cfg.max_unknown_rate, checks, log)
                checks = all_checks
                rows_loaded = sum(t.num_rows for t in tables.values())
                span.set_attribute("etl.rows_loaded", rows_loaded)
            with stage(tracer, metrics, "finalize"):
                warehouse.finalize(conn, cfg.schema)
            for name, t in tables.items():
                metrics.rows.labels("load", name).set(t.num_rows)
            metrics.load_rps.set(rows_loaded / load_seconds if load_seconds else 0)
            log.info("load: %d rows written in %.2f s (%.0f rows/s), %d checks passed", rows_loaded, load_seconds,
                     rows_loaded / load_seconds if load_seconds else 0, len(checks))
            outcome = "succeeded"
    except q.DQError as e:
        outcome, error, checks = "dq_failed", str(e), e.checks
        log.error("%s", e)
    except Exception as e:  # noqa: BLE001 - every error is reported, recorded and ends the run
        error = f"{type(e).__name__}: {e}"
        log.error("run failed: %s", error, exc_info=cfg.log_level == "DEBUG")
    finally:
        if spark is not None:
            spark.stop()
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
        shutdown_tracing()
    log.info("run %s: %s in %.1f s (batch %s)", run_id, outcome, time.monotonic() - t_run, batch_id)
    return EXIT[outcome]
