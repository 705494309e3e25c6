"""The job's failure paths: a failing data-quality check (non-zero exit naming the check, the
previous snapshot kept), bad configuration, a wrong password. A small hand-made source."""
from __future__ import annotations

from conftest import WAREHOUSE_PASSWORD, run_job


def test_a_failed_check_names_itself_exits_3_and_keeps_the_previous_snapshot(warehouse_factory, mini_source, tmp_path):
    w = warehouse_factory("mini")
    env = w.env(SOURCE_DIR=mini_source, LANDING_DIR=tmp_path / "landing", METRICS_TEXTFILE=tmp_path / "etl.prom",
                DQ_MAX_UNKNOWN_RATE="1")   # a tiny source: half its flights have an unknown plane
    ok = run_job(dict(env, DQ_MAX_QUARANTINE_RATE="0.5"))
    assert ok.returncode == 0, ok.stderr[-3000:]
    # 6 source flights: 4 loaded, 2 quarantined with their reasons
    assert w.query("SELECT count(*) FROM flights.fact_flight")[0][0] == 4
    q = w.query("SELECT source_table, reason, natural_key, raw_record FROM flights.quarantine ORDER BY reason")
    assert [(t, r, k) for t, r, k, _ in q] == [("flights", "duplicate_natural_key", "2013|1|1|UA|1545|EWR|515"),
                                             ("flights", "invalid_value:month", "2013|13|1|UA|3|EWR|515")]
    assert q[1][3]["month"] == "13" and q[1][3]["dep_time"] == "517"
    assert w.query("SELECT value FROM flights.etl_dq_result WHERE check_name = 'reconciliation:flights'") == [(6.0,)]
    before = w.checksums()

    bad = run_job(dict(env, DQ_MAX_QUARANTINE_RATE="0.1"))
    assert bad.returncode == 3
    assert "data quality check(s) failed: quarantine_rate:flights: rate 0.333333, expected <= 0.1" in bad.stderr
    assert w.checksums() == before                       # rolled back: the good snapshot is still there
    status, failed = w.query("SELECT status, failed_checks FROM flights.etl_run ORDER BY started_at DESC LIMIT 1")[0]
    assert (status, failed) == ("dq_failed", ["quarantine_rate:flights"])
    assert 'swarm_etl_run_outcome{outcome="dq_failed"} 1.0' in (tmp_path / "etl.prom").read_text()
    assert WAREHOUSE_PASSWORD not in ok.stderr + bad.stderr


def test_bad_configuration_exits_2_before_starting_anything(warehouse_factory):
    w = warehouse_factory("cfg")
    r = run_job(w.env(SPARK_MASTER="yarn-cluster!", DQ_MAX_UNKNOWN_RATE="lots"))
    assert r.returncode == 2
    assert "SPARK_MASTER='yarn-cluster!': not a Spark master URL; use local[*], local[2] or spark://HOST:7077" in r.stderr
    assert "DQ_MAX_UNKNOWN_RATE='lots': not a number between 0.0 and 1.0" in r.stderr
    assert w.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'flights'")[0][0] == 0


def test_a_wrong_password_fails_the_run_without_showing_it(warehouse_factory, tmp_path):
    w = warehouse_factory("auth")
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-Pa55word\n")
    r = run_job(w.env(WAREHOUSE_PASSWORD_FILE=wrong))
    assert r.returncode == 1
    assert "password authentication failed" in r.stderr
    assert "not-the-Pa55word" not in r.stdout + r.stderr
