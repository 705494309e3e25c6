-- The warehouse's run log: the source files of each batch, one row per run, one row per check of a
-- run, and the partitions written into the staging tables by the running load. Run with
-- search_path set to the warehouse schema; idempotent. The data tables (tables.sql) and the
-- analyst views (views.sql) are created by each load and swapped in (see warehouse.py).

CREATE TABLE IF NOT EXISTS etl_source_file (
    batch_id       text NOT NULL,
    table_name     text NOT NULL,
    source_file    text NOT NULL,
    source_sha256  text NOT NULL,
    landed_file    text NOT NULL,
    landed_sha256  text NOT NULL,
    bytes          bigint NOT NULL,
    rows           bigint NOT NULL,
    PRIMARY KEY (batch_id, table_name)
);

CREATE TABLE IF NOT EXISTS etl_run (
    run_id               text PRIMARY KEY,
    batch_id             text,
    started_at           timestamptz NOT NULL,
    finished_at          timestamptz,
    status               text NOT NULL,      -- running | succeeded | dq_failed | error | refused
    failed_checks        text[] NOT NULL DEFAULT '{}',
    error                text,
    spark_master         text,
    rows_loaded          bigint,
    load_seconds         double precision,
    load_rows_per_second double precision
);

CREATE TABLE IF NOT EXISTS etl_dq_result (
    run_id      text NOT NULL REFERENCES etl_run (run_id),
    stage       text NOT NULL,      -- extract | transform | load | quality
    check_name  text NOT NULL,      -- e.g. reconciliation:flights
    table_name  text NOT NULL,
    metric      text NOT NULL,      -- rows | null_rate | orphans | ...
    value       double precision NOT NULL,
    threshold   text,               -- e.g. "= 336776", "<= 0.01"; null = recorded only
    passed      boolean NOT NULL,
    PRIMARY KEY (run_id, check_name)
);

CREATE TABLE IF NOT EXISTS etl_load_part (
    table_name  text NOT NULL,      -- the staging table
    part        integer NOT NULL,   -- Spark partition id
    attempt     integer NOT NULL,   -- Spark task attempt that wrote it
    rows        bigint NOT NULL,
    PRIMARY KEY (table_name, part)
);
