-- The warehouse: a star schema (dimensions dim_*, fact fact_flight), the quarantine, the run log
-- and the analyst views. Run with search_path set to the warehouse schema; idempotent.
-- The fact's primary key and foreign keys are added by the load after the data-quality checks
-- pass (a bulk COPY into an unindexed table, then one index build), see warehouse.py.

CREATE TABLE IF NOT EXISTS dim_date (
    date_key      integer PRIMARY KEY, -- yyyymmdd; -1 = unknown
    full_date     date,
    year          integer,
    quarter       integer,
    month         integer,
    month_name    text,
    day_of_month  integer,
    day_of_week   integer,           -- ISO: 1 = Monday ... 7 = Sunday
    day_name      text,
    is_weekend    boolean,
    iso_week      integer,
    is_unknown    boolean NOT NULL
);

CREATE TABLE IF NOT EXISTS dim_airport (
    airport_key       bigint PRIMARY KEY, -- stable hash of the FAA code; -1 = unknown
    faa               text,
    name              text,
    lat               double precision,
    lon               double precision,
    alt_ft            integer,
    utc_offset_hours  double precision,
    dst               text,
    tzone             text,          -- IANA time zone used for the flight times
    is_unknown        boolean NOT NULL
);

CREATE TABLE IF NOT EXISTS dim_airline (
    airline_key  bigint PRIMARY KEY,
    carrier      text,
    name         text,
    is_unknown   boolean NOT NULL
);

CREATE TABLE IF NOT EXISTS dim_plane (
    plane_key     bigint PRIMARY KEY,
    tailnum       text,
    year_built    integer,
    type          text,
    manufacturer  text,
    model         text,
    engines       integer,
    seats         integer,
    speed_mph     integer,
    engine        text,
    is_unknown    boolean NOT NULL
);

CREATE TABLE IF NOT EXISTS dim_weather (
    weather_key        bigint PRIMARY KEY, -- stable hash of (origin, hour); -1 = unknown
    origin_code        text,
    observed_hour_utc  timestamptz,
    temp_f             double precision,
    dewp_f             double precision,
    humid_pct          double precision,
    wind_dir_deg       integer,
    wind_speed_mph     double precision,
    wind_gust_mph      double precision,
    precip_in          double precision,
    pressure_mb        double precision,
    visib_mi           double precision,
    condition          text,         -- low_visibility | precipitation | high_wind | clear | unknown
    is_unknown         boolean NOT NULL
);

CREATE TABLE IF NOT EXISTS fact_flight (
    flight_key          bigint,      -- stable hash of the natural key
    batch_id            text,
    date_key            integer,     -- scheduled local departure date
    origin_airport_key  bigint,
    dest_airport_key    bigint,
    airline_key         bigint,
    plane_key           bigint,
    weather_key         bigint,      -- origin weather in the hour the flight left
    carrier_code        text,        -- degenerate: the source codes, also for unknown members
    flight_number       integer,
    tailnum             text,
    origin_code         text,
    dest_code           text,
    sched_dep_local     timestamp,   -- wall clock at the origin
    sched_dep_utc       timestamptz,
    dep_utc             timestamptz,
    sched_arr_utc       timestamptz,
    arr_utc             timestamptz,
    dep_delay_min       integer,
    arr_delay_min       integer,
    air_time_min        integer,
    distance_mi         integer,
    is_cancelled        boolean,
    is_diverted         boolean,
    delay_bucket        text         -- cancelled | diverted | on_time | late_15_59 | late_60_179 | late_180_plus
);

CREATE TABLE IF NOT EXISTS quarantine (
    batch_id      text NOT NULL,
    source_table  text NOT NULL,
    reason        text NOT NULL,
    natural_key   text NOT NULL,
    raw_record    jsonb NOT NULL     -- the source row as landed, every field as text
);

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
    status               text NOT NULL,      -- running | succeeded | dq_failed | error
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

-- Analyst views ------------------------------------------------------------------------------

CREATE OR REPLACE VIEW v_ontime_by_carrier_month AS
SELECT a.carrier, a.name AS airline, d.year, d.month, d.month_name,
       count(*) AS flights,
       count(*) FILTER (WHERE f.is_cancelled) AS cancelled,
       count(*) FILTER (WHERE f.is_diverted) AS diverted,
       count(*) FILTER (WHERE f.delay_bucket = 'on_time') AS on_time,
       round(100.0 * count(*) FILTER (WHERE f.delay_bucket = 'on_time')
             / nullif(count(*) FILTER (WHERE NOT f.is_cancelled AND NOT f.is_diverted), 0), 2) AS on_time_pct,
       round(100.0 * count(*) FILTER (WHERE f.is_cancelled) / count(*), 2) AS cancelled_pct,
       round(avg(f.arr_delay_min), 2) AS avg_arr_delay_min
FROM fact_flight f
JOIN dim_airline a ON a.airline_key = f.airline_key
JOIN dim_date d ON d.date_key = f.date_key
GROUP BY a.airline_key, a.carrier, a.name, d.year, d.month, d.month_name;

CREATE OR REPLACE VIEW v_delay_by_route AS
SELECT f.origin_code, f.dest_code, dst.name AS dest_name, dst.is_unknown AS dest_unknown,
       count(*) AS flights,
       count(*) FILTER (WHERE NOT f.is_cancelled AND NOT f.is_diverted) AS completed,
       round(avg(f.dep_delay_min), 2) AS avg_dep_delay_min,
       round(avg(f.arr_delay_min), 2) AS avg_arr_delay_min,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY f.arr_delay_min) AS p90_arr_delay_min,
       round(100.0 * count(*) FILTER (WHERE f.arr_delay_min >= 15)
             / nullif(count(f.arr_delay_min), 0), 2) AS late_15_pct,
       round(100.0 * count(*) FILTER (WHERE f.is_cancelled) / count(*), 2) AS cancelled_pct,
       max(f.distance_mi) AS distance_mi
FROM fact_flight f
JOIN dim_airport dst ON dst.airport_key = f.dest_airport_key
GROUP BY f.origin_code, f.dest_code, dst.name, dst.is_unknown;

CREATE OR REPLACE VIEW v_weather_impact AS
SELECT f.origin_code, w.condition,
       count(*) AS flights,
       round(avg(f.dep_delay_min), 2) AS avg_dep_delay_min,
       round(100.0 * count(*) FILTER (WHERE f.dep_delay_min >= 15)
             / nullif(count(f.dep_delay_min), 0), 2) AS dep_late_15_pct,
       round(100.0 * count(*) FILTER (WHERE f.is_cancelled) / count(*), 2) AS cancelled_pct,
       round(avg(w.visib_mi)::numeric, 2) AS avg_visib_mi,
       round(avg(w.wind_speed_mph)::numeric, 2) AS avg_wind_speed_mph
FROM fact_flight f
JOIN dim_weather w ON w.weather_key = f.weather_key
GROUP BY f.origin_code, w.condition;
