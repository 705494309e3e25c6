"""ETL bench: the Spark job against a SQL baseline on the same PostgreSQL server, at 1x and 10x.

For each scale and run:
  ours      `python -m flights_etl` with SOURCE_DIR = the generated source and a fresh landing
            folder: end-to-end wall time, the load phase's rows/s as the job measures it (staging
            tables + the executors' binary COPY of every table + primary keys), the swap's lock
            time, and the peak resident memory (VmHWM) of the driver's JVM and Python process.
  baseline  psql `\\copy` of the same raw CSV files into raw tables (the raw COPY throughput),
            then baseline_transform.sql builds the star schema in SQL; end-to-end = both.
Medians over the runs go to bench/etl/results.md.

    python bench.py --scales 1,10 --runs 3
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ETL = os.path.normpath(os.path.join(HERE, "..", "..", "etl"))
sys.path.insert(0, os.path.join(ETL, "tests"))
from pgserver import PgServer  # noqa: E402

RAW_DDL = """
SET client_min_messages TO warning;
DROP SCHEMA IF EXISTS baseline CASCADE;
CREATE SCHEMA baseline;
SET search_path TO baseline;
CREATE TABLE raw_flights (year int, month int, day int, dep_time int, sched_dep_time int, dep_delay int, arr_time int,
  sched_arr_time int, arr_delay int, carrier text, flight int, tailnum text, origin text, dest text, air_time int,
  distance int, hour int, minute int, time_hour timestamptz);
CREATE TABLE raw_airports (faa text, name text, lat float8, lon float8, alt int, tz float8, dst text, tzone text);
CREATE TABLE raw_airlines (carrier text, name text);
CREATE TABLE raw_planes (tailnum text, year int, type text, manufacturer text, model text, engines int, seats int,
  speed int, engine text);
CREATE TABLE raw_weather (origin text, year int, month int, day int, hour int, temp float8, dewp float8, humid float8,
  wind_dir float8, wind_speed float8, wind_gust float8, precip float8, pressure float8, visib float8, time_hour timestamptz);
"""
TABLES = ("airports", "airlines", "planes", "weather", "flights")
# The bench server: durable (fsync, synchronous commit, full-page writes), WAL minimal so a COPY
# into a table truncated in the same transaction skips the WAL (both sides get that).
SETTINGS = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on", "shared_buffers": "512MB",
            "max_wal_size": "4GB", "maintenance_work_mem": "256MB", "work_mem": "64MB"}


def count_rows(path: str) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f) - 1


def psql(server: PgServer, db: dict, *args: str) -> float:
    env = dict(os.environ, PGPASSWORD=db["password"])
    t0 = time.monotonic()
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", db["host"], "-p", str(db["port"]), "-U", db["user"],
                    "-d", db["dbname"], *args], check=True, env=env, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def run_baseline(server, db, source: str) -> dict:
    psql(server, db, "-c", RAW_DDL)
    script = "SET client_min_messages TO warning;\nSET search_path TO baseline;\nBEGIN;\n" + "".join(
        f"\\copy raw_{t} FROM '{os.path.join(source, t + '.csv')}' WITH (FORMAT csv, HEADER true, NULL 'NA')\n"
        for t in TABLES) + "COMMIT;\n"
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    try:
        copy_s = psql(server, db, "-f", f.name)
    finally:
        os.remove(f.name)
    transform_s = psql(server, db, "-f", os.path.join(HERE, "baseline_transform.sql"))
    return {"copy_s": copy_s, "transform_s": transform_s, "total_s": copy_s + transform_s}


LOAD_RE = re.compile(r"load: (\d+) rows written in ([\d.]+) s")
STAGE_RE = re.compile(r"stage (\w+): ([\d.]+) s")
SWAP_RE = re.compile(r"swap: .* held ([\d.]+) s")


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakMemory(threading.Thread):
    """Samples VmHWM (the kernel's peak resident set) of the job's process and of its java child
    (the driver JVM, which in local mode also runs the executors' tasks) every 0.2 s; keeps the
    highest value seen of each. Python workers (children of the JVM) are not counted."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.python_kib, self.jvm_kib, self.done = pid, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.python_kib = max(self.python_kib, _hwm_kib(self.pid))
            for c in _children(self.pid):
                try:
                    exe = os.readlink(f"/proc/{c}/exe")
                except OSError:
                    continue
                if os.path.basename(exe) == "java":
                    self.jvm_kib = max(self.jvm_kib, _hwm_kib(c))


def run_ours(server, db, url: str, pwfile: str, source: str, driver_memory: str, master: str) -> dict:
    landing = tempfile.mkdtemp(prefix="swarm-etl-bench-landing-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAREHOUSE_", "DQ_", "OTEL_", "BATCH_ID"))}
    env.update(WAREHOUSE_URL=url, WAREHOUSE_PASSWORD_FILE=pwfile, SOURCE_DIR=source, LANDING_DIR=landing,
               SPARK_MASTER=master, SPARK_DRIVER_MEMORY=driver_memory, SPARK_SHUFFLE_PARTITIONS="8")
    try:
        t0 = time.monotonic()
        with tempfile.TemporaryFile("w+") as err:
            p = subprocess.Popen([sys.executable, "-m", "flights_etl"], env=env, cwd=ETL, stdout=subprocess.DEVNULL,
                                 stderr=err, text=True)
            peak = PeakMemory(p.pid)
            peak.start()
            p.wait()
            total = time.monotonic() - t0
            peak.done.set()
            peak.join()
            err.seek(0)
            p.stderr = err.read()
    finally:
        shutil.rmtree(landing, ignore_errors=True)
    if p.returncode != 0:
        raise SystemExit(f"the job failed ({p.returncode}):\n{p.stderr[-4000:]}")
    rows, secs = LOAD_RE.search(p.stderr).groups()
    stages = {k: float(v) for k, v in STAGE_RE.findall(p.stderr)}
    return {"total_s": total, "load_rows": int(rows), "load_s": float(secs), "load_rps": int(rows) / float(secs),
            "swap_held_s": float(SWAP_RE.search(p.stderr).group(1)), "jvm_peak_mib": peak.jvm_kib / 1024,
            "python_peak_mib": peak.python_kib / 1024, "log": p.stderr,
            **{f"stage_{k}_s": v for k, v in stages.items()}}


def med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", default="1,10")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="2g", help="SPARK_DRIVER_MEMORY of the job, at every scale")
    ap.add_argument("--out", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--json", help="also write every run's figures here (bench/etl/swarm.sh reads them)")
    args = ap.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    work = tempfile.mkdtemp(prefix="swarm-etl-bench-")
    server = PgServer(SETTINGS).start()
    results = {}
    try:
        ours_db = server.create_database("ours", "etl", "bench-etl-pw")
        base_db = server.create_database("base", "base", "bench-base-pw")
        pwfile = os.path.join(work, "pw")
        with open(pwfile, "w") as f:
            f.write("bench-etl-pw\n")
        for scale in scales:
            source = os.path.join(work, f"source-{scale}x")
            subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), str(scale), source], check=True)
            raw_rows = {t: count_rows(os.path.join(source, t + ".csv")) for t in TABLES}
            ours, base = [], []
            for i in range(args.runs):
                o = run_ours(server, ours_db, server.url("ours", "etl"), pwfile, source, args.driver_memory,
                             args.master)
                b = run_baseline(server, base_db, source)
                ours.append(o)
                base.append(b)
                print(f"{scale}x run {i + 1}: ours {o['total_s']:.1f} s (load {o['load_rps']:.0f} rows/s, driver JVM "
                      f"peak {o['jvm_peak_mib']:.0f} MiB), "
                      f"baseline {b['total_s']:.1f} s (raw copy {sum(raw_rows.values()) / b['copy_s']:.0f} rows/s)",
                      flush=True)
            results[scale] = (raw_rows, ours, base)
            shutil.rmtree(source, ignore_errors=True)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    write(args, results)
    if args.json:
        import json
        with open(args.json, "w") as f:
            json.dump({"master": args.master, "driver_memory": args.driver_memory,
                       "scales": {str(k): {"raw_rows": r, "ours": [{k2: v for k2, v in o.items() if k2 != "log"} for o in ours],
                                           "baseline": base} for k, (r, ours, base) in results.items()}}, f, indent=1)


def write(args, results) -> None:
    import pyspark

    lines = [
        "# ETL bench: the Spark job against \\copy + SQL",
        "",
        f"Measured {dt.date.today().isoformat()} by `bench/etl/run.sh --scales {args.scales} --runs {args.runs} "
        f"--driver-memory {args.driver_memory}` on this "
        f"project's machine ({os.cpu_count()} cores; Spark {pyspark.__version__} `{args.master}`, "
        f"`SPARK_DRIVER_MEMORY={args.driver_memory}`, Java 17, PostgreSQL 15 "
        f"on a unix socket, fsync on, wal_level minimal; Python {platform.python_version()}). Medians of {args.runs} runs; "
        "the machine is shared, so figures move by ~10-20 % between runs.",
        "",
        "| scale | flights | ours end-to-end | ours load phase | baseline end-to-end | raw `\\copy` | load / raw COPY |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scale, (raw_rows, ours, base) in results.items():
        total_raw = sum(raw_rows.values())
        raw_rps = statistics.median(total_raw / b["copy_s"] for b in base)
        load_rps = med(ours, "load_rps")
        lines.append(
            f"| {scale}x | {raw_rows['flights']:,} | {med(ours, 'total_s'):.1f} s | {med(ours, 'load_s'):.2f} s, "
            f"{load_rps:,.0f} rows/s | {med(base, 'total_s'):.1f} s | {med(base, 'copy_s'):.2f} s, {raw_rps:,.0f} rows/s "
            f"| {load_rps / raw_rps:.2f} |")
    lines += ["", "Where the job's time goes (medians, seconds), the swap's locks and the driver's memory:", "",
              "| scale | extract | transform (incl. Spark start, persist) | load stage | check (DQ, keys, FKs, analyze) | swap "
              "| locks held | driver JVM peak RSS | driver Python peak RSS | baseline \\copy | baseline SQL transform |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for scale, (raw_rows, ours, base) in results.items():
        lines.append(f"| {scale}x | {med(ours, 'stage_extract_s'):.1f} | {med(ours, 'stage_transform_s'):.1f} | {med(ours, 'stage_load_s'):.2f} "
                     f"| {med(ours, 'stage_check_s'):.2f} | {med(ours, 'stage_swap_s'):.2f} | {med(ours, 'swap_held_s'):.3f} s "
                     f"| {max(o['jvm_peak_mib'] for o in ours):,.0f} MiB | {max(o['python_peak_mib'] for o in ours):,.0f} MiB "
                     f"| {med(base, 'copy_s'):.2f} | {med(base, 'transform_s'):.1f} |")
    lines += ["", "Every run:", ""]
    for scale, (raw_rows, ours, base) in results.items():
        for i, (o, b) in enumerate(zip(ours, base)):
            lines.append(f"- {scale}x run {i + 1}: ours {o['total_s']:.1f} s, load {o['load_rows']:,} rows in "
                         f"{o['load_s']:.2f} s ({o['load_rps']:,.0f} rows/s), swap locks held {o['swap_held_s']:.3f} s, "
                         f"driver JVM peak {o['jvm_peak_mib']:,.0f} MiB; baseline \\copy {b['copy_s']:.2f} s "
                         f"({sum(raw_rows.values()) / b['copy_s']:,.0f} rows/s) + SQL {b['transform_s']:.1f} s")
            lines += ["", "  ```"] + ["  " + line for line in o["log"].splitlines()
                                      if " flights_etl: " in line and ("load:" in line or "stage " in line
                                                                        or "swap:" in line or "check:" in line)] + ["  ```", ""]
    lines += ["", "What is compared:", "",
              "- **load phase** (ours): create the staging tables, the executors send the persisted binary "
              "COPY chunks of every partition of every table over their own connections (encoded in the transform "
              "stage), then the primary keys; rows = all rows written (fact, dimensions, "
              "quarantine). The data-quality queries, the validated foreign keys and ANALYZE and the swap are not "
              "counted. The *load stage* column is the executors' part alone (staging tables + COPY).",
              "- **raw `\\copy`** (baseline): psql `\\copy` of the five raw CSV files as they are (text, NULL 'NA') into "
              "unindexed tables in one transaction; rows = raw rows. The fact row the job writes has 25 typed columns "
              "(5 timestamps), the raw flights row 19.",
              "- **end-to-end**: ours = the whole `python -m flights_etl` process (Spark start, extract to a fresh "
              "landing folder with checksums, transform, load, checks, swap); baseline = `\\copy` + "
              "`baseline_transform.sql` (same star schema rules, without quarantine, data-quality checks or run log).",
              ""]
    previous = ""
    if os.path.exists(args.out):
        with open(args.out) as f:
            old = f.read()
        if "\n## Previous" in old:   # earlier states of the job, kept below the new figures
            previous = old[old.index("\n## Previous"):]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + previous)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
