"""Explicit schemas: the raw columns of each source table (as landed, all text) and the typed
columns the transform produces from them. Nothing is inferred from the data."""
from __future__ import annotations

from dataclasses import dataclass

# Source tables in load order (dimensions before the fact).
TABLES = ("airlines", "airports", "planes", "weather", "flights")

# The exact header of each landed CSV file; a different header fails the extract.
RAW_COLUMNS: dict[str, tuple[str, ...]] = {
    "airlines": ("carrier", "name"),
    "airports": ("faa", "name", "lat", "lon", "alt", "tz", "dst", "tzone"),
    "planes": ("tailnum", "year", "type", "manufacturer", "model", "engines", "seats", "speed", "engine"),
    "weather": ("origin", "year", "month", "day", "hour", "temp", "dewp", "humid", "wind_dir", "wind_speed",
                "wind_gust", "precip", "pressure", "visib", "time_hour"),
    "flights": ("year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time", "sched_arr_time",
                "arr_delay", "carrier", "flight", "tailnum", "origin", "dest", "air_time", "distance", "hour",
                "minute", "time_hour"),
}

# Text that means "no value" in the source files (R's NA, or an empty field).
NULL_TOKENS = ("NA", "")


@dataclass(frozen=True)
class Field:
    name: str
    type: str            # int | double | string | timestamp | hhmm | date_part
    required: bool = False   # part of the natural key: a missing value quarantines the row
    lo: float | None = None  # inclusive bounds checked after the cast
    hi: float | None = None


def _f(name, type="int", required=False, lo=None, hi=None):
    return Field(name, type, required, lo, hi)


TYPED: dict[str, tuple[Field, ...]] = {
    "airlines": (_f("carrier", "string", True), _f("name", "string")),
    "airports": (_f("faa", "string", True), _f("name", "string"), _f("lat", "double", lo=-90, hi=90),
                 _f("lon", "double", lo=-180, hi=180), _f("alt", "int"), _f("tz", "double", lo=-14, hi=14),
                 _f("dst", "string"), _f("tzone", "zone")),
    "planes": (_f("tailnum", "string", True), _f("year", "int", lo=1900, hi=2100), _f("type", "string"),
               _f("manufacturer", "string"), _f("model", "string"), _f("engines", "int", lo=0, hi=16),
               _f("seats", "int", lo=0, hi=1000), _f("speed", "int", lo=0), _f("engine", "string")),
    "weather": (_f("origin", "string", True), _f("year", "int", lo=1900, hi=2100), _f("month", "int", lo=1, hi=12),
                _f("day", "int", lo=1, hi=31), _f("hour", "int", lo=0, hi=23), _f("temp", "double"),
                _f("dewp", "double"), _f("humid", "double", lo=0, hi=100), _f("wind_dir", "int", lo=0, hi=360),
                _f("wind_speed", "double", lo=0), _f("wind_gust", "double", lo=0), _f("precip", "double", lo=0),
                _f("pressure", "double"), _f("visib", "double", lo=0), _f("time_hour", "timestamp", True)),
    "flights": (_f("year", "int", True, 1900, 2100), _f("month", "int", True, 1, 12), _f("day", "int", True, 1, 31),
                _f("dep_time", "hhmm"), _f("sched_dep_time", "hhmm", True), _f("dep_delay", "int"),
                _f("arr_time", "hhmm"), _f("sched_arr_time", "hhmm"), _f("arr_delay", "int"),
                _f("carrier", "string", True), _f("flight", "int", True, 0), _f("tailnum", "string"),
                _f("origin", "string", True), _f("dest", "string"), _f("air_time", "int", lo=0),
                _f("distance", "int", lo=0), _f("hour", "int", lo=0, hi=24), _f("minute", "int", lo=0, hi=59),
                _f("time_hour", "timestamp")),
}

# Natural keys: duplicates on these are removed (one kept, the others quarantined).
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "airlines": ("carrier",),
    "airports": ("faa",),
    "planes": ("tailnum",),
    "weather": ("origin", "time_hour"),
    "flights": ("year", "month", "day", "carrier", "flight", "origin", "sched_dep_time"),
}

# Surrogate key of the "unknown" member of every dimension (orphan keys link to it).
UNKNOWN_KEY = -1
