-- The bench's baseline: the same star schema built in SQL from the raw tables that psql \copy
-- loaded (schema baseline). Same rules as the Spark job: UTC times from the local hhmm fields in
-- each airport's zone, cancelled/diverted flags, delay buckets, duplicates removed by the natural
-- key, orphans linked to an unknown member (-1), weather of the hour the flight left. Without the
-- job's quarantine, data-quality checks and run log.
\set ON_ERROR_STOP 1
SET client_min_messages TO warning;
SET search_path TO baseline;
SET TIME ZONE 'UTC';
BEGIN;
DROP TABLE IF EXISTS fact_flight, dim_airport, dim_airline, dim_plane, dim_weather, dim_date;

CREATE TABLE dim_airport AS
SELECT -1::bigint AS airport_key, NULL::text AS faa, 'Unknown airport'::text AS name, NULL::text AS tzone, true AS is_unknown
UNION ALL
SELECT DISTINCT ON (faa) hashtextextended('airport:' || faa, 0), faa, name, tzone, false
FROM raw_airports WHERE faa IS NOT NULL ORDER BY 2;

CREATE TABLE dim_airline AS
SELECT -1::bigint AS airline_key, NULL::text AS carrier, 'Unknown airline'::text AS name, true AS is_unknown
UNION ALL
SELECT DISTINCT ON (carrier) hashtextextended('airline:' || carrier, 0), carrier, name, false
FROM raw_airlines WHERE carrier IS NOT NULL ORDER BY 2;

CREATE TABLE dim_plane AS
SELECT -1::bigint AS plane_key, NULL::text AS tailnum, NULL::int AS year_built, 'Unknown plane'::text AS model, true AS is_unknown
UNION ALL
SELECT DISTINCT ON (tailnum) hashtextextended('plane:' || tailnum, 0), tailnum, year, model, false
FROM raw_planes WHERE tailnum IS NOT NULL ORDER BY 2;

CREATE TABLE dim_weather AS
SELECT -1::bigint AS weather_key, NULL::text AS origin_code, NULL::timestamptz AS observed_hour_utc,
       NULL::float8 AS visib_mi, 'unknown'::text AS condition, true AS is_unknown
UNION ALL
SELECT DISTINCT ON (origin, time_hour) hashtextextended('weather:' || origin || time_hour::text, 0), origin, time_hour, visib,
       CASE WHEN visib < 1 THEN 'low_visibility' WHEN precip > 0 THEN 'precipitation'
            WHEN wind_speed >= 25 OR wind_gust >= 35 THEN 'high_wind' ELSE 'clear' END, false
FROM raw_weather WHERE origin IS NOT NULL AND time_hour IS NOT NULL ORDER BY 2, 3;

CREATE TABLE fact_flight AS
WITH f AS (
    SELECT DISTINCT ON (year, month, day, carrier, flight, origin, sched_dep_time) *,
           make_timestamp(year, month, day, 0, 0, 0) AS day0,
           (sched_dep_time / 100) * 60 + sched_dep_time % 100 AS sched_min,
           (dep_time / 100) * 60 + dep_time % 100 AS dep_min
    FROM raw_flights
    ORDER BY year, month, day, carrier, flight, origin, sched_dep_time, raw_flights::text
), t AS (
    SELECT f.*, o.airport_key AS o_key, o.tzone AS o_tz, d.airport_key AS d_key, d.tzone AS d_tz,
           day0 + make_interval(mins => sched_min) AS sched_dep_local,
           CASE WHEN dep_time IS NOT NULL THEN day0 + make_interval(
               days => coalesce(round((sched_min + dep_delay - dep_min) / 1440.0)::int, 0), mins => dep_min) END AS dep_local
    FROM f
    LEFT JOIN dim_airport o ON o.faa = f.origin AND NOT o.is_unknown
    LEFT JOIN dim_airport d ON d.faa = f.dest AND NOT d.is_unknown
), u AS (
    SELECT t.*, sched_dep_local AT TIME ZONE o_tz AS sched_dep_utc, dep_local AT TIME ZONE o_tz AS dep_utc
    FROM t
), w AS (  -- the destination's wall clock at departure, then the first time after it that reads arr hhmm
    SELECT u.*, sched_dep_utc AT TIME ZONE d_tz AS sched_dep_at_dest, dep_utc AT TIME ZONE d_tz AS dep_at_dest,
           (sched_arr_time / 100) * 60 + sched_arr_time % 100 AS sched_arr_min,
           (arr_time / 100) * 60 + arr_time % 100 AS arr_min
    FROM u
), a AS (
    SELECT w.*,
           CASE WHEN date_trunc('day', sched_dep_at_dest) + make_interval(mins => sched_arr_min) > sched_dep_at_dest
                THEN date_trunc('day', sched_dep_at_dest) + make_interval(mins => sched_arr_min)
                ELSE date_trunc('day', sched_dep_at_dest) + make_interval(days => 1, mins => sched_arr_min) END AS sched_arr_local,
           CASE WHEN date_trunc('day', dep_at_dest) + make_interval(mins => arr_min) > dep_at_dest
                THEN date_trunc('day', dep_at_dest) + make_interval(mins => arr_min)
                ELSE date_trunc('day', dep_at_dest) + make_interval(days => 1, mins => arr_min) END AS arr_local
    FROM w
)
SELECT hashtextextended(concat_ws('|', a.year, a.month, a.day, a.carrier, a.flight, a.origin, a.sched_dep_time), 0)
           AS flight_key,
       a.year * 10000 + a.month * 100 + a.day AS date_key,
       coalesce(a.o_key, -1) AS origin_airport_key, coalesce(a.d_key, -1) AS dest_airport_key,
       coalesce(al.airline_key, -1) AS airline_key, coalesce(p.plane_key, -1) AS plane_key,
       coalesce(wx.weather_key, -1) AS weather_key,
       a.carrier AS carrier_code, a.flight AS flight_number, a.tailnum, a.origin AS origin_code, a.dest AS dest_code,
       a.sched_dep_local, a.sched_dep_utc, a.dep_utc,
       a.sched_arr_local AT TIME ZONE a.d_tz AS sched_arr_utc, a.arr_local AT TIME ZONE a.d_tz AS arr_utc,
       a.dep_delay AS dep_delay_min, a.arr_delay AS arr_delay_min, a.air_time AS air_time_min,
       a.distance AS distance_mi,
       a.dep_time IS NULL AS is_cancelled, a.dep_time IS NOT NULL AND a.arr_delay IS NULL AS is_diverted,
       CASE WHEN a.dep_time IS NULL THEN 'cancelled' WHEN a.arr_delay IS NULL THEN 'diverted'
            WHEN a.arr_delay < 15 THEN 'on_time' WHEN a.arr_delay < 60 THEN 'late_15_59'
            WHEN a.arr_delay < 180 THEN 'late_60_179' ELSE 'late_180_plus' END AS delay_bucket
FROM a
LEFT JOIN dim_airline al ON al.carrier = a.carrier AND NOT al.is_unknown
LEFT JOIN dim_plane p ON p.tailnum = a.tailnum AND NOT p.is_unknown
LEFT JOIN dim_weather wx ON wx.origin_code = a.origin AND NOT wx.is_unknown
     AND wx.observed_hour_utc = date_trunc('hour', coalesce(a.dep_utc, a.sched_dep_utc));

CREATE TABLE dim_date AS
SELECT (extract(year FROM d) * 10000 + extract(month FROM d) * 100 + extract(day FROM d))::int AS date_key, d::date AS full_date
FROM generate_series((SELECT make_date(min(year), 1, 1) FROM raw_flights),
                     (SELECT make_date(max(year), 12, 31) FROM raw_flights), interval '1 day') AS d;

ALTER TABLE fact_flight ADD PRIMARY KEY (flight_key);
COMMIT;
