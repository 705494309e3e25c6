"""Configuration: env vars and *_FILE secrets, every problem named with its fix, no secret shown."""
from __future__ import annotations

import pytest

from flights_etl.config import ConfigError, load_config


def problems(env) -> list[str]:
    with pytest.raises(ConfigError) as e:
        load_config(env)
    return e.value.problems


def test_defaults_with_a_url_and_a_password_file(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("s3cr3t\n")
    cfg = load_config({"WAREHOUSE_URL": "postgresql://etl@db.example:5433/warehouse",
                       "WAREHOUSE_PASSWORD_FILE": str(pw)})
    assert cfg.conninfo == {"user": "etl", "host": "db.example", "port": "5433", "dbname": "warehouse",
                            "password": "s3cr3t", "application_name": "swarm-etl", "connect_timeout": "15"}
    assert (cfg.schema, cfg.spark_master, cfg.landing_dir, cfg.batch_id, cfg.max_quarantine_rate) == \
        ("flights", "local[*]", "landing", None, 0.01)
    assert cfg.describe() == "etl@db.example:5433/warehouse schema flights (password: set)"
    assert "s3cr3t" not in repr(cfg) and cfg.secrets() == ["s3cr3t"]


def test_connection_parts_instead_of_a_url():
    cfg = load_config({"WAREHOUSE_HOST": "db", "WAREHOUSE_DB": "w", "WAREHOUSE_USER": "u", "WAREHOUSE_PASSWORD": "p",
                       "SPARK_MASTER": "local[4]", "BATCH_ID": "2013-full.1"})
    assert {k: cfg.conninfo[k] for k in ("host", "dbname", "user", "password")} == \
        {"host": "db", "dbname": "w", "user": "u", "password": "p"}
    assert (cfg.spark_master, cfg.batch_id) == ("local[4]", "2013-full.1")


def test_every_problem_is_reported_at_once_with_the_variable_the_value_and_the_fix():
    got = problems({"SPARK_MASTER": "local[two]", "BATCH_ID": "../etc", "DQ_MAX_QUARANTINE_RATE": "5%",
                    "WAREHOUSE_SCHEMA": "Flights;drop", "SPARK_SHUFFLE_PARTITIONS": "0"})
    assert got == [
        "WAREHOUSE_URL is not set (nor WAREHOUSE_HOST): say where the warehouse is, e.g. "
        "WAREHOUSE_URL=postgresql://etl@db.example:5432/warehouse with WAREHOUSE_PASSWORD_FILE=/run/secrets/warehouse-password",
        "WAREHOUSE_SCHEMA='Flights;drop': use a lower-case SQL identifier (letters, digits, _), e.g. flights",
        "SPARK_MASTER='local[two]': not a Spark master URL; use local[*], local[2] or spark://HOST:7077",
        "SPARK_SHUFFLE_PARTITIONS='0': use a whole number from 1 to 10000 (default 8)",
        "BATCH_ID='../etc': use 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit "
        "(or leave it unset: the batch id is then derived from the source checksums)",
        "DQ_MAX_QUARANTINE_RATE='5%': not a number between 0.0 and 1.0; e.g. DQ_MAX_QUARANTINE_RATE=0.01",
    ]


def test_the_attempt_marker_is_an_absolute_path_swarm_has_filled_in():
    base = {"WAREHOUSE_HOST": "db"}
    assert load_config(dict(base, ETL_ATTEMPT_MARKER="/data/events/attempts/x1-ab12")).attempt_marker == \
        "/data/events/attempts/x1-ab12"
    for bad in ("attempts/x", "/data/events/attempts/{{.Service.ID}}-ab12"):
        assert problems(dict(base, ETL_ATTEMPT_MARKER=bad)) == [
            f"ETL_ATTEMPT_MARKER={bad!r}: use an absolute file path on a volume the retries share "
            "(Swarm fills {{.Service.ID}} in a service's environment; outside Swarm, leave it unset)"]


def test_a_variable_and_its_file_together_are_refused(tmp_path):
    f = tmp_path / "pw"
    f.write_text("x")
    assert problems({"WAREHOUSE_HOST": "db", "WAREHOUSE_PASSWORD": "y", "WAREHOUSE_PASSWORD_FILE": str(f)}) == \
        ["WAREHOUSE_PASSWORD and WAREHOUSE_PASSWORD_FILE are both set; set only one of them"]


def test_unreadable_or_empty_secret_files_are_named(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert problems({"WAREHOUSE_HOST": "db", "WAREHOUSE_PASSWORD_FILE": str(tmp_path / "missing")}) == [
        f"WAREHOUSE_PASSWORD_FILE={tmp_path / 'missing'}: cannot read the file (No such file or directory); "
        "point it at a readable file (a Swarm secret is mounted at /run/secrets/<name>)"]
    assert problems({"WAREHOUSE_HOST": "db", "WAREHOUSE_PASSWORD_FILE": str(empty)}) == [
        f"WAREHOUSE_PASSWORD_FILE={empty}: the file is empty; put the secret in it"]


def test_a_password_in_the_url_is_never_echoed():
    got = problems({"WAREHOUSE_URL": "mysql://etl:hunter2@db/w"})
    assert got == ["WAREHOUSE_URL: scheme 'mysql' is not a PostgreSQL URL; "
                   "use postgresql://USER@HOST:PORT/DB (password via WAREHOUSE_PASSWORD_FILE)"]
    got = problems({"WAREHOUSE_URL": "postgresql://etl:hunter2@db/w", "WAREHOUSE_PASSWORD": "other"})
    assert got == ["WAREHOUSE_URL contains a password and WAREHOUSE_PASSWORD(_FILE) is set too; keep only one"]
    assert all("hunter2" not in p for p in got)


def test_url_and_parts_together_are_refused():
    assert problems({"WAREHOUSE_URL": "postgresql://etl@db/w", "WAREHOUSE_HOST": "db2"}) == [
        "WAREHOUSE_URL is set together with WAREHOUSE_HOST; give the connection either as WAREHOUSE_URL or as its "
        "parts, not both"]


def test_otlp_over_grpc_is_refused_with_the_fix():
    assert problems({"WAREHOUSE_HOST": "db", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317",
                     "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) == [
        "OTEL_EXPORTER_OTLP_PROTOCOL='grpc': the job exports OTLP over HTTP only; use http/protobuf (the "
        "collector's port 4318) or unset it"]


def test_an_inline_password_with_a_cluster_master_is_refused_with_the_fix():
    got = problems({"WAREHOUSE_HOST": "db", "WAREHOUSE_PASSWORD": "s3cr3t", "SPARK_MASTER": "spark://master:7077"})
    assert got == [
        "WAREHOUSE_PASSWORD holds the password inline and SPARK_MASTER='spark://master:7077' is not local: the "
        "executors write to the warehouse themselves and must never get the password through a Spark conf or a "
        "closure; put it in a file every Spark worker mounts at the same path (a Swarm secret) and set "
        "WAREHOUSE_PASSWORD_FILE=/run/secrets/<secret> instead"]
    got = problems({"WAREHOUSE_URL": "postgresql://etl:hunter2@db/w", "SPARK_MASTER": "spark://master:7077"})
    assert len(got) == 1 and got[0].startswith("WAREHOUSE_URL holds the password inline") and \
        got[0].endswith("WAREHOUSE_PASSWORD_FILE=/run/secrets/<secret> instead (and remove the password from the URL)")
    assert all("s3cr3t" not in p and "hunter2" not in p for p in got)
    # a local master may take it inline: its executors are the driver's own child processes
    assert load_config({"WAREHOUSE_HOST": "db", "WAREHOUSE_PASSWORD": "s3cr3t", "SPARK_MASTER": "local[2]"}).password_file is None


def test_the_executors_get_the_password_file_never_the_password(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("s3cr3t\n")
    cfg = load_config({"WAREHOUSE_URL": "postgresql://etl@db:5432/w", "WAREHOUSE_PASSWORD_FILE": str(pw),
                       "SPARK_MASTER": "spark://master:7077", "LOAD_PARTITIONS": "6"})
    assert cfg.password_file == str(pw) and cfg.load_partitions == 6
    assert cfg.executor_conninfo() == {"user": "etl", "host": "db", "port": "5432", "dbname": "w",
                                       "application_name": "swarm-etl", "connect_timeout": "15"}
    assert problems({"WAREHOUSE_HOST": "db", "LOAD_PARTITIONS": "0"}) == [
        "LOAD_PARTITIONS='0': use a whole number from 1 to 10000 (the parallel connections per table), or unset it "
        "to write each table in the partitions Spark made"]
