"""The whole job, as a subprocess with local Spark, against a real PostgreSQL 15: the real data set
twice (reconciliation, run table, identical tables after the re-run), observability on the way."""
from __future__ import annotations

import pytest
from receivers import Receiver

from conftest import WAREHOUSE_PASSWORD, run_job

SOURCE_ROWS = {"flights": 336776, "airports": 1458, "airlines": 16, "planes": 3322, "weather": 26115}


@pytest.fixture(scope="module")
def runs(warehouse_factory, tmp_path_factory):
    """Runs the job twice on the same batch; returns (warehouse, [(result, checksums)], receivers)."""
    w = warehouse_factory("real")
    tmp = tmp_path_factory.mktemp("real-run")
    gateway, collector = Receiver(), Receiver()
    env = w.env(LANDING_DIR=tmp / "landing", METRICS_TEXTFILE=tmp / "etl.prom", PUSHGATEWAY_URL=gateway.url,
                OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_BSP_SCHEDULE_DELAY="200")
    out = []
    try:
        for _ in range(2):
            r = run_job(env)
            out.append((r, w.checksums()))
    finally:
        gateway.close()
        collector.close()
    return w, out, gateway, collector, tmp


def test_both_runs_succeed(runs):
    w, out, *_ = runs
    for r, _ in out:
        assert r.returncode == 0, r.stderr[-3000:]
    assert [s for (s,) in w.query("SELECT status FROM flights.etl_run ORDER BY started_at")] == ["succeeded"] * 2


def test_every_source_row_is_loaded_or_quarantined(runs):
    w, *_ = runs
    got = dict(w.query("SELECT table_name, value FROM flights.etl_dq_result d JOIN flights.etl_run r USING (run_id) "
                       "WHERE check_name LIKE 'reconciliation:%%' AND passed"))
    assert got == {t: float(n) for t, n in SOURCE_ROWS.items()} and len(got) == 5
    counts = {t: w.query(f"SELECT count(*) FROM flights.{t}")[0][0]
              for t in ("fact_flight", "quarantine", "dim_airport", "dim_airline", "dim_plane", "dim_weather", "dim_date")}
    assert counts == {"fact_flight": 336776, "quarantine": 0, "dim_airport": 1459, "dim_airline": 17,
                      "dim_plane": 3323, "dim_weather": 26116, "dim_date": 366}
    assert dict(w.query("SELECT table_name, rows FROM flights.etl_source_file")) == SOURCE_ROWS


def test_the_run_table_records_counts_null_rates_integrity_and_time_checks(runs):
    w, *_ = runs
    rows = w.query("SELECT stage, check_name, value, threshold, passed FROM flights.etl_dq_result "
                   "WHERE run_id = (SELECT min(run_id) FROM flights.etl_run)")
    by_name = {name: (stage, value, threshold, passed) for stage, name, value, threshold, passed in rows}
    assert all(p for *_, p in rows)
    assert by_name["count:extract:flights"] == ("extract", 336776, None, True)
    assert by_name["count:transform:flights"] == ("transform", 336776, None, True)
    assert by_name["load_count:fact_flight"] == ("load", 336776, "= 336776", True)
    assert by_name["time_consistency:fact_flight.sched_dep_utc"] == ("transform", 0, "= 0", True)
    assert by_name["null_rate:fact_flight.dest_airport_key"] == ("quality", 0, "<= 0", True)
    for fk in ("date_key", "origin_airport_key", "dest_airport_key", "airline_key", "plane_key", "weather_key"):
        assert by_name[f"referential_integrity:fact_flight.{fk}"][1:] == (0, "= 0", True)
    # Orphans on the real data: 4 destinations (7602 flights) and 721 tail numbers + 2512 missing.
    assert by_name["unknown_rate:fact_flight.dest_airport_key"][1] == pytest.approx(7602 / 336776)
    assert by_name["unknown_rate:fact_flight.plane_key"][1] == pytest.approx(52606 / 336776)
    assert w.query("SELECT count(*) FILTER (WHERE is_cancelled), count(*) FILTER (WHERE is_diverted), "
                   "count(DISTINCT dest_code) FILTER (WHERE dest_airport_key = -1) FROM flights.fact_flight")[0] == \
        (8255, 1175, 4)


def test_the_same_batch_twice_leaves_identical_tables(runs):
    w, out, *_ = runs
    (_, first), (_, second) = out
    assert first == second
    assert len(set(first.values())) == len(first)      # a real checksum per table, not an empty one
    batches = w.query("SELECT DISTINCT batch_id FROM flights.etl_run")
    assert len(batches) == 1 and batches[0][0].startswith("src-")
    assert "already landed" in out[1][0].stderr


def test_the_star_schema_answers_the_analyst_views(runs):
    w, *_ = runs
    assert w.query("SELECT sum(flights), count(DISTINCT carrier) FROM flights.v_ontime_by_carrier_month")[0] == (336776, 16)
    ua_jan = w.query("SELECT flights, on_time_pct FROM flights.v_ontime_by_carrier_month WHERE carrier = 'UA' "
                     "AND year = 2013 AND month = 1")
    assert ua_jan[0][0] == 4637 and 0 < ua_jan[0][1] < 100
    bqn = w.query("SELECT flights, dest_unknown FROM flights.v_delay_by_route WHERE origin_code = 'JFK' AND dest_code = 'BQN'")
    assert bqn == [(599, True)]
    conditions = {c for (c,) in w.query("SELECT DISTINCT condition FROM flights.v_weather_impact")}
    assert conditions == {"clear", "precipitation", "low_visibility", "high_wind", "unknown"}


def test_keys_are_enforced_after_the_load(runs):
    w, *_ = runs
    cons = w.query("SELECT conname, contype, convalidated FROM pg_constraint WHERE conrelid = 'flights.fact_flight'::regclass "
                   "ORDER BY conname")
    assert [(n, t) for n, t, _ in cons] == [
        ("fact_flight_airline_key_fkey", "f"), ("fact_flight_date_key_fkey", "f"), ("fact_flight_dest_airport_key_fkey", "f"),
        ("fact_flight_origin_airport_key_fkey", "f"), ("fact_flight_pkey", "p"), ("fact_flight_plane_key_fkey", "f"),
        ("fact_flight_weather_key_fkey", "f")]
    assert all(v for *_, v in cons)


def test_no_secret_reaches_the_logs_and_observability_is_exported(runs):
    w, out, gateway, collector, tmp = runs
    for r, _ in out:
        assert WAREHOUSE_PASSWORD not in r.stdout + r.stderr
        assert "password: set" in r.stderr
    assert not w.query("SELECT 1 FROM flights.etl_run WHERE error LIKE %s", (f"%{WAREHOUSE_PASSWORD}%",))
    text = (tmp / "etl.prom").read_text()
    assert 'swarm_etl_rows{stage="load",table="fact_flight"} 336776.0' in text
    assert 'swarm_etl_run_outcome{outcome="succeeded"} 1.0' in text
    assert 'swarm_etl_dq_checks_failed 0.0' in text
    assert [(m, p) for m, p, _ in gateway.requests] == [("PUT", "/metrics/job/swarm_etl")] * 2
    names = collector.span_names()
    for stage in ("etl.run", "extract", "transform", "load", "finalize"):
        assert names.count(stage) == 2, names
