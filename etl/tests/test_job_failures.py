"""The job's failure paths: a failing data-quality check (non-zero exit naming the check, the
previous snapshot kept, the staging dropped), bad configuration, an inline password with a cluster
master, a schema the role may not create, a wrong password; and the landing step with a read-only
landing afterwards. A small hand-made source."""
from __future__ import annotations

import os
import shutil
import subprocess

from conftest import WAREHOUSE_PASSWORD, run_job


def staging_left(w) -> list:
    return w.query("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE n.nspname = 'flights' AND c.relname LIKE '%%\\_next%%'") + \
        w.query("SELECT table_name, part FROM flights.etl_load_part")


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

    marker = tmp_path / "attempts" / "svc-abc"
    bad = run_job(dict(env, DQ_MAX_QUARANTINE_RATE="0.1", ETL_ATTEMPT_MARKER=str(marker)))
    assert bad.returncode == 3
    assert "data quality check(s) failed: quarantine_rate:flights: rate 0.333333, expected <= 0.1" in bad.stderr
    assert w.checksums() == before                       # the good snapshot is still there, untouched
    assert staging_left(w) == []                         # and the staging tables were dropped
    assert "load: staging tables dropped, the live snapshot is unchanged" in bad.stderr
    status, failed = w.query("SELECT status, failed_checks FROM flights.etl_run ORDER BY started_at DESC LIMIT 1")[0]
    assert (status, failed) == ("dq_failed", ["quarantine_rate:flights"])
    assert 'swarm_etl_run_outcome{outcome="dq_failed"} 1.0' in (tmp_path / "etl.prom").read_text()
    assert WAREHOUSE_PASSWORD not in ok.stderr + bad.stderr

    # Swarm's retry of the same run (same marker: the same service, settings and image) is not run
    # again: the same outcome at once, nothing new in etl_run, the failed attempt's metrics kept.
    runs = w.query("SELECT count(*) FROM flights.etl_run")[0][0]
    retry = run_job(dict(env, DQ_MAX_QUARANTINE_RATE="0.1", ETL_ATTEMPT_MARKER=str(marker)))
    assert retry.returncode == 3
    assert "failed its data-quality checks (batch" in retry.stderr and "is not run" in retry.stderr
    assert "quarantine_rate:flights: rate 0.333333, expected <= 0.1" in retry.stderr
    assert w.query("SELECT count(*) FROM flights.etl_run")[0][0] == runs
    assert 'swarm_etl_run_outcome{outcome="dq_failed"} 1.0' in (tmp_path / "etl.prom").read_text()
    # Another run (other settings: another marker) runs.
    again = run_job(dict(env, DQ_MAX_QUARANTINE_RATE="0.5", ETL_ATTEMPT_MARKER=str(tmp_path / "attempts" / "svc-def")))
    assert again.returncode == 0, again.stderr[-3000:]
    assert w.checksums() == before


def test_bad_configuration_exits_2_before_starting_anything(warehouse_factory):
    w = warehouse_factory("cfg")
    r = run_job(w.env(SPARK_MASTER="yarn-cluster!", DQ_MAX_UNKNOWN_RATE="lots"))
    assert r.returncode == 2
    assert "SPARK_MASTER='yarn-cluster!': not a Spark master URL; use local[*], local[2] or spark://HOST:7077" in r.stderr
    assert "DQ_MAX_UNKNOWN_RATE='lots': not a number between 0.0 and 1.0" in r.stderr
    assert w.query("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE n.nspname = 'flights'")[0][0] == 0


def test_an_inline_password_with_a_cluster_master_is_refused_at_config_time(warehouse_factory):
    w = warehouse_factory("inline")
    env = w.env(SPARK_MASTER="spark://spark-master:7077", WAREHOUSE_PASSWORD=WAREHOUSE_PASSWORD)
    del env["WAREHOUSE_PASSWORD_FILE"]
    r = run_job(env)
    assert r.returncode == 2
    assert ("WAREHOUSE_PASSWORD holds the password inline and SPARK_MASTER='spark://spark-master:7077' is not local"
            in r.stderr) and "set WAREHOUSE_PASSWORD_FILE=/run/secrets/<secret> instead" in r.stderr
    assert WAREHOUSE_PASSWORD not in r.stdout + r.stderr


def test_a_missing_schema_the_role_may_not_create_is_named_with_the_fix(warehouse_factory):
    w = warehouse_factory("noschema")
    r = run_job(w.env(WAREHOUSE_SCHEMA="elsewhere"))
    assert r.returncode == 1
    assert (f"schema elsewhere does not exist in database noschema and role {w.role} may not create it (no CREATE on "
            f"the database); create it as its owner: CREATE SCHEMA elsewhere; GRANT USAGE, CREATE ON SCHEMA elsewhere "
            f"TO {w.role};") in r.stderr


def test_land_then_a_run_with_a_read_only_landing_and_an_inline_password_on_a_local_master(
        warehouse_factory, mini_source, tmp_path):
    w = warehouse_factory("ro")
    landing = tmp_path / "landing"
    env = w.env(SOURCE_DIR=mini_source, LANDING_DIR=landing, DQ_MAX_UNKNOWN_RATE="1", DQ_MAX_QUARANTINE_RATE="0.5")
    landed = run_job({k: v for k, v in env.items() if not k.startswith("WAREHOUSE_")}, args=("land",))
    assert landed.returncode == 0, landed.stderr[-3000:]
    batch = landed.stdout.strip().splitlines()[-1]
    assert batch.startswith("src-") and sorted(os.listdir(landing / batch)) == [
        "_manifest.json", "airlines.csv", "airports.csv", "flights.csv", "planes.csv", "weather.csv"]
    subprocess.run(["chmod", "-R", "a-w", str(landing)], check=True)
    before = {p: os.lstat(p) for p in [landing, *landing.rglob("*")]}
    # root ignores mode bits: then the run also gets a read-only bind mount of the landing
    prefix = ()
    if os.geteuid() == 0:
        script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
        prefix = (shutil.which("unshare"), "-m", "sh", "-c", script, str(landing))
    # a local master may take the password inline: the local executors get it as PGPASSWORD
    env = dict(env, WAREHOUSE_PASSWORD=WAREHOUSE_PASSWORD)
    del env["WAREHOUSE_PASSWORD_FILE"]
    try:
        r = run_job(env, prefix=prefix)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(landing)], check=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"extract: batch {batch} already landed" in r.stderr
    after = {p: os.lstat(p) for p in [landing, *landing.rglob("*")]}
    assert {p: (s.st_mtime_ns, s.st_size) for p, s in before.items()} == \
        {p: (s.st_mtime_ns, s.st_size) for p, s in after.items()}
    assert w.query("SELECT count(*) FROM flights.fact_flight")[0][0] == 4
    assert WAREHOUSE_PASSWORD not in r.stdout + r.stderr


def test_a_wrong_password_fails_the_run_without_showing_it(warehouse_factory, tmp_path):
    w = warehouse_factory("auth")
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-Pa55word\n")
    r = run_job(w.env(WAREHOUSE_PASSWORD_FILE=wrong))
    assert r.returncode == 1
    assert "password authentication failed" in r.stderr
    assert "not-the-Pa55word" not in r.stdout + r.stderr


def test_a_run_while_another_holds_the_run_lock_is_refused_exit_4_and_recorded(warehouse_factory, mini_source, tmp_path):
    import psycopg

    from flights_etl.warehouse import LOCK_ID

    w = warehouse_factory("overlap")
    env = w.env(SOURCE_DIR=mini_source, LANDING_DIR=tmp_path / "landing", DQ_MAX_UNKNOWN_RATE="1",
                DQ_MAX_QUARANTINE_RATE="0.5", ETL_TRIGGER="schedule", METRICS_TEXTFILE=tmp_path / "etl.prom")
    ok = run_job(env)
    assert ok.returncode == 0, ok.stderr[-3000:]
    before = w.checksums()
    with psycopg.connect(**w.conninfo, autocommit=True) as holder:   # "the other run"
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        r = run_job(env, timeout=120)
    assert r.returncode == 4, r.stderr[-3000:]
    assert "refused: another run holds the warehouse's run lock; this one does not wait behind it" in r.stderr
    assert w.query("SELECT status, error FROM flights.etl_run ORDER BY started_at DESC LIMIT 1") == [
        ("refused", "another run holds the warehouse's run lock (trigger schedule)")]
    assert w.checksums() == before
    assert 'swarm_etl_run_outcome{outcome="refused"} 1.0' in (tmp_path / "etl.prom").read_text()
