-- The analyst views over the live tables; recreated by every swap in its transaction.

CREATE VIEW v_ontime_by_carrier_month AS
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

CREATE VIEW v_delay_by_route AS
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

CREATE VIEW v_weather_impact AS
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
