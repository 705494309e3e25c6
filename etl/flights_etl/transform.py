"""The transform: pure functions from Spark DataFrames to DataFrames (no I/O), unit-tested on
small hand-made frames.

Every source row ends in exactly one place: a typed row that goes on to the star schema, or a
quarantine row that says why (`missing_key:<col>`, `invalid_value:<col>`, `malformed_row`,
`duplicate_natural_key`). Dimension keys without a dimension row (orphans) are NOT quarantined:
the fact row links to the dimension's explicit "unknown" member (key -1) and keeps the source code
in a degenerate column (`dest_code`, `tailnum`, ...), so the flight still counts and still shows
its code.
"""
from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .schemas import NATURAL_KEYS, NULL_TOKENS, RAW_COLUMNS, TYPED, UNKNOWN_KEY, Field

RAW = "_raw_"          # prefix of the untouched text columns kept beside the typed ones
REASON = "_reason"     # quarantine reason, null for a good row

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# Arrival-delay buckets (minutes); "on time" follows the US DOT rule: less than 15 minutes late.
DELAY_BUCKETS = ("cancelled", "diverted", "on_time", "late_15_59", "late_60_179", "late_180_plus")


# ---------------------------------------------------------------- reading and typing

def raw_schema(table: str) -> T.StructType:
    """All columns as text, plus `_extra` that catches a field beyond the header (malformed row)."""
    return T.StructType([T.StructField(c, T.StringType()) for c in RAW_COLUMNS[table]]
                        + [T.StructField("_extra", T.StringType())])


def read_raw(spark, path: str, table: str) -> DataFrame:
    return spark.read.csv(path, schema=raw_schema(table), header=True, escape='"', mode="PERMISSIVE")


def _is_null(raw: Column) -> Column:
    return F.coalesce(raw.isin(*NULL_TOKENS), F.lit(True))


def _parse(raw: Column, f: Field, zones: list[str]) -> tuple[Column, Column]:
    """(typed value, value-is-valid) for one non-null raw text."""
    if f.type in ("int", "hhmm"):
        v = raw.try_cast("int")
    elif f.type == "double":
        v = raw.try_cast("double")
    elif f.type == "timestamp":
        v = raw.try_cast("timestamp")
    elif f.type == "zone":
        v = F.when(raw.isin(*zones), raw)
    else:
        v = raw
    ok = v.isNotNull()
    if f.type == "hhmm":
        ok = ok & v.between(0, 2400) & ((v % 100) < 60)
    if f.lo is not None:
        ok = ok & (v >= f.lo)
    if f.hi is not None:
        ok = ok & (v <= f.hi)
    return v, ok


def validate(raw: DataFrame, table: str, zones: list[str]) -> DataFrame:
    """Types every column per schemas.TYPED and sets `_reason` on rows that cannot be used.

    `zones` are the time-zone ids the JVM knows (an airport with another `tzone` is invalid)."""
    fields = TYPED[table]
    df = raw
    if "_extra" not in df.columns:
        df = df.withColumn("_extra", F.lit(None).cast("string"))
    df = df.select(*[F.col(c).alias(RAW + c) for c in RAW_COLUMNS[table]], "_extra")
    reasons: list[Column] = [F.when(F.col("_extra").isNotNull(), F.lit("malformed_row"))]
    typed: dict[str, Column] = {}
    for f in fields:
        raw_c = F.col(RAW + f.name)
        missing = _is_null(raw_c)
        value, ok = _parse(raw_c, f, zones)
        typed[f.name] = F.when(~missing, value)
        if f.required:
            reasons.append(F.when(missing, F.lit("missing_key:" + f.name)))
        reasons.append(F.when(~missing & ~ok, F.lit("invalid_value:" + f.name)))
    df = df.withColumns(typed)
    if table in ("flights", "weather"):   # year/month/day must form a real date (no 31 February)
        bad_date = (F.col("year").isNotNull() & F.col("month").isNotNull() & F.col("day").isNotNull()
                    & F.try_make_timestamp_ntz(F.col("year"), F.col("month"), F.col("day"),
                                               F.lit(0), F.lit(0), F.lit(0)).isNull())
        reasons.append(F.when(bad_date, F.lit("invalid_value:day")))
    return df.withColumn(REASON, F.coalesce(*reasons)).drop("_extra")


def dedup(df: DataFrame, table: str) -> DataFrame:
    """Keeps one row per natural key among the valid rows; the others get `duplicate_natural_key`.

    The row kept is the first in the order of (hash of its raw text, raw text), so the choice does
    not depend on how Spark split the file: the same batch always keeps the same row. Only the rows
    whose key occurs more than once go through the (sorting) window; finding those keys is one
    aggregation, and when there are none nothing else is done."""
    keys = list(NATURAL_KEYS[table])
    dup_keys = (df.where(F.col(REASON).isNull()).groupBy(*keys).count().where(F.col("count") > 1)
                .select(*keys, F.lit(True).alias("_dup")))
    n = dup_keys.count()
    if n == 0:
        return df
    marked = df.join(F.broadcast(dup_keys) if n <= 1_000_000 else dup_keys, on=keys, how="left")
    clean = marked.where(F.col("_dup").isNull()).drop("_dup")
    raws = [F.col(RAW + c) for c in RAW_COLUMNS[table]]
    w = Window.partitionBy(F.col(REASON), *[F.col(k) for k in keys]).orderBy(
        F.xxhash64(*raws), *[r.asc_nulls_first() for r in raws])
    dups = marked.where(F.col("_dup")).drop("_dup").withColumn(
        REASON, F.when(F.col(REASON).isNull() & (F.row_number().over(w) > 1), F.lit("duplicate_natural_key"))
        .otherwise(F.col(REASON)))
    return clean.unionByName(dups)


def check(raw: DataFrame, table: str, zones: list[str]) -> DataFrame:
    return dedup(validate(raw, table, zones), table)


def good(checked: DataFrame) -> DataFrame:
    """The usable rows, typed columns only."""
    return checked.where(F.col(REASON).isNull()).select(
        *[c for c in checked.columns if not c.startswith(RAW) and c != REASON])


def quarantine(checked: DataFrame, table: str, batch_id: str) -> DataFrame:
    """One row per unusable source row: the reason, its natural key as text and the raw record."""
    raw_cols = RAW_COLUMNS[table]
    record = F.to_json(F.struct(*[F.col(RAW + c).alias(c) for c in raw_cols]), {"ignoreNullFields": "false"})
    natural = F.concat_ws("|", *[F.coalesce(F.col(RAW + k), F.lit("")) for k in NATURAL_KEYS[table]])
    return checked.where(F.col(REASON).isNotNull()).select(
        F.lit(batch_id).alias("batch_id"), F.lit(table).alias("source_table"), F.col(REASON).alias("reason"),
        natural.alias("natural_key"), record.alias("raw_record"))


# ---------------------------------------------------------------- dimensions

def surrogate(kind: str, *cols: Column) -> Column:
    """A stable 64-bit key from the natural key (the same in every batch and run)."""
    return F.xxhash64(F.lit(kind), *cols)


def _with_unknown(df: DataFrame, key: str, values: dict) -> DataFrame:
    """Adds the dimension's explicit unknown member (key -1) in front of its rows."""
    row = {c: None for c in df.columns}
    row.update(values)
    row[key] = UNKNOWN_KEY
    nullable = T.StructType([T.StructField(f.name, f.dataType, True) for f in df.schema])
    unknown = df.sparkSession.createDataFrame([tuple(row[c] for c in df.columns)], nullable)
    return unknown.unionByName(df)


def dim_airline(airlines: DataFrame) -> DataFrame:
    df = airlines.select(surrogate("airline", F.col("carrier")).alias("airline_key"), F.col("carrier"),
                         F.col("name"), F.lit(False).alias("is_unknown"))
    return _with_unknown(df, "airline_key", {"name": "Unknown airline", "is_unknown": True})


def dim_airport(airports: DataFrame) -> DataFrame:
    df = airports.select(surrogate("airport", F.col("faa")).alias("airport_key"), F.col("faa"), F.col("name"),
                         F.col("lat"), F.col("lon"), F.col("alt").alias("alt_ft"),
                         F.col("tz").alias("utc_offset_hours"), F.col("dst"), F.col("tzone"),
                         F.lit(False).alias("is_unknown"))
    return _with_unknown(df, "airport_key", {"name": "Unknown airport", "is_unknown": True})


def dim_plane(planes: DataFrame) -> DataFrame:
    df = planes.select(surrogate("plane", F.col("tailnum")).alias("plane_key"), F.col("tailnum"),
                       F.col("year").alias("year_built"), F.col("type"), F.col("manufacturer"), F.col("model"),
                       F.col("engines"), F.col("seats"), F.col("speed").alias("speed_mph"), F.col("engine"),
                       F.lit(False).alias("is_unknown"))
    return _with_unknown(df, "plane_key", {"model": "Unknown plane", "is_unknown": True})


def weather_condition(visib: Column, precip: Column, wind: Column, gust: Column) -> Column:
    """One label per hour, first match wins: low_visibility (< 1 mile), precipitation (> 0 in),
    high_wind (>= 25 mph sustained or >= 35 mph gusts), else clear."""
    return (F.when(visib < 1, "low_visibility").when(precip > 0, "precipitation")
            .when((wind >= 25) | (gust >= 35), "high_wind").otherwise("clear"))


def dim_weather(weather: DataFrame) -> DataFrame:
    df = weather.select(
        surrogate("weather", F.col("origin"), F.col("time_hour")).alias("weather_key"),
        F.col("origin").alias("origin_code"), F.col("time_hour").alias("observed_hour_utc"),
        F.col("temp").alias("temp_f"), F.col("dewp").alias("dewp_f"), F.col("humid").alias("humid_pct"),
        F.col("wind_dir").alias("wind_dir_deg"), F.col("wind_speed").alias("wind_speed_mph"),
        F.col("wind_gust").alias("wind_gust_mph"), F.col("precip").alias("precip_in"),
        F.col("pressure").alias("pressure_mb"), F.col("visib").alias("visib_mi"),
        weather_condition(F.col("visib"), F.col("precip"), F.col("wind_speed"), F.col("wind_gust")).alias("condition"),
        F.lit(False).alias("is_unknown"))
    return _with_unknown(df, "weather_key", {"condition": "unknown", "is_unknown": True})


def dim_date(spark, first_year: int, last_year: int) -> DataFrame:
    """Every day of the calendar years the flights cover, key yyyymmdd."""
    d = F.col("full_date")
    days = spark.range(1).select(F.explode(F.sequence(F.make_date(F.lit(first_year), F.lit(1), F.lit(1)),
                                                      F.make_date(F.lit(last_year), F.lit(12), F.lit(31)))).alias("full_date"))
    iso_dow = ((F.dayofweek(d) + 5) % 7) + 1   # 1 = Monday ... 7 = Sunday
    df = days.select(
        (F.year(d) * 10000 + F.month(d) * 100 + F.dayofmonth(d)).alias("date_key"), d,
        F.year(d).alias("year"), F.quarter(d).alias("quarter"), F.month(d).alias("month"),
        F.element_at(F.array(*[F.lit(m) for m in MONTHS]), F.month(d)).alias("month_name"),
        F.dayofmonth(d).alias("day_of_month"), iso_dow.alias("day_of_week"),
        F.element_at(F.array(*[F.lit(x) for x in DAYS]), iso_dow).alias("day_name"),
        (iso_dow >= 6).alias("is_weekend"), F.weekofyear(d).alias("iso_week"),
        F.lit(False).alias("is_unknown"))
    return _with_unknown(df, "date_key", {"is_unknown": True})


# ---------------------------------------------------------------- times

def hhmm_minutes(hhmm: Column) -> Column:
    """1517 -> 917 minutes after midnight; 2400 -> 1440 (midnight at the end of the day)."""
    return (hhmm / 100).cast("int") * 60 + hhmm % 100


def local_time(day_start: Column, days: Column | int, minutes: Column) -> Column:
    """A wall-clock time (timestamp_ntz): local midnight of a day, plus days, plus minutes."""
    return F.timestamp_add("MINUTE", minutes, F.timestamp_add("DAY", F.lit(days) if isinstance(days, int) else days,
                                                              day_start))


def _by_zone(zone: Column, zones: list[str], convert) -> Column:
    """CASE zone WHEN 'z1' THEN convert('z1') ... END: one branch per zone with a literal zone id,
    because Spark parses a zone given as a column again on every row (several times slower)."""
    expr = None
    for z in zones:
        expr = F.when(zone == z, convert(z)) if expr is None else expr.when(zone == z, convert(z))
    return expr if expr is not None else F.lit(None)


def to_utc(local: Column, zone: Column, zones: list[str]) -> Column:
    """The instant at which the wall clock of `zone` shows `local` (null when the zone is unknown).

    Java's rules apply at DST changes: a time in the spring-forward gap moves forward by the gap
    (02:30 on 2013-03-10 in New York is 07:30 UTC), a time in the fall-back overlap takes the
    earlier offset (01:30 on 2013-11-03 is 05:30 UTC, EDT)."""
    ts = local.cast("timestamp")
    return _by_zone(zone, zones, lambda z: F.to_utc_timestamp(ts, z)).cast("timestamp")


def to_local(instant: Column, zone: Column, zones: list[str]) -> Column:
    """The wall clock (timestamp_ntz) of `zone` at `instant`."""
    return _by_zone(zone, zones, lambda z: F.from_utc_timestamp(instant, z)).cast("timestamp_ntz")


def next_wall_time(after_local: Column, minutes: Column) -> Column:
    """The first wall-clock time after `after_local` that reads `minutes` after midnight: the same
    day if that is still ahead, else the next day. How an arrival hhmm (local at the destination,
    without a date) becomes a date and time, given the destination's wall clock at departure
    (flights are shorter than 24 hours)."""
    day = F.to_date(after_local).cast("timestamp_ntz")
    same_day = local_time(day, 0, minutes)
    return F.when(same_day > after_local, same_day).otherwise(local_time(day, 1, minutes))


def flight_times(df: DataFrame, zones: list[str], origin_tz: str = "origin_tzone",
                 dest_tz: str = "dest_tzone") -> DataFrame:
    """Adds sched_dep_local, dep_local, sched_dep_utc, dep_utc, sched_arr_utc, arr_utc from the local
    year/month/day/hhmm fields: departures in the origin's zone, arrivals in the destination's.

    The actual departure day is the scheduled day shifted by the whole days that make
    sched_dep_time + dep_delay land on dep_time (a flight delayed past midnight departs the next
    day; one that leaves early before midnight, the day before). An arrival is the first time
    after the departure at which the destination's clock reads the arrival hhmm."""
    o, d = F.col(origin_tz), F.col(dest_tz)
    day0 = F.make_timestamp_ntz(F.col("year"), F.col("month"), F.col("day"), F.lit(0), F.lit(0), F.lit(0))
    sched_min = hhmm_minutes(F.col("sched_dep_time"))
    dep_min = hhmm_minutes(F.col("dep_time"))
    shift = F.coalesce(F.round((sched_min + F.col("dep_delay") - dep_min) / 1440).cast("int"), F.lit(0))
    df = df.withColumns({
        "sched_dep_local": local_time(day0, 0, sched_min),
        "_dep_local": F.when(F.col("dep_time").isNotNull(), local_time(day0, shift, dep_min)),
    })
    df = df.withColumns({
        "sched_dep_utc": to_utc(F.col("sched_dep_local"), o, zones),
        "dep_utc": to_utc(F.col("_dep_local"), o, zones),
    })
    df = df.withColumns({
        "_sched_dep_at_dest": to_local(F.col("sched_dep_utc"), d, zones),
        "_dep_at_dest": to_local(F.col("dep_utc"), d, zones),
    })
    df = df.withColumns({
        "_sched_arr_local": next_wall_time(F.col("_sched_dep_at_dest"), hhmm_minutes(F.col("sched_arr_time"))),
        "_arr_local": next_wall_time(F.col("_dep_at_dest"), hhmm_minutes(F.col("arr_time"))),
    })
    df = df.withColumns({
        "sched_arr_utc": to_utc(F.col("_sched_arr_local"), d, zones),
        "arr_utc": to_utc(F.col("_arr_local"), d, zones),
    })
    return df.withColumnRenamed("_dep_local", "dep_local").drop(
        "_sched_dep_at_dest", "_dep_at_dest", "_sched_arr_local", "_arr_local")


# ---------------------------------------------------------------- the fact

def delay_bucket(cancelled: Column, diverted: Column, arr_delay: Column) -> Column:
    return (F.when(cancelled, "cancelled").when(diverted, "diverted").when(arr_delay < 15, "on_time")
            .when(arr_delay < 60, "late_15_59").when(arr_delay < 180, "late_60_179").otherwise("late_180_plus"))


def fact_flight(flights: DataFrame, airports: DataFrame, airlines: DataFrame, planes: DataFrame,
                weather: DataFrame, batch_id: str) -> DataFrame:
    """One row per flight. Inputs are the good (typed, deduplicated) rows of each source table;
    `weather` is dim_weather. A flight is cancelled when it has no departure time, diverted when
    it departed but has no arrival delay (it landed elsewhere). Weather is the origin's hour in
    which the flight left (scheduled hour for a cancelled flight).

    The local clocks need no zone and are kept for every flight: `sched_dep_local` and `dep_local`
    (origin, with their dates), `sched_arr_hhmm` and `arr_hhmm` (destination, the source's hhmm
    values: an arrival's date needs the destination's zone, unknown for airports missing from the
    airports table). The UTC times are null where a zone is unknown.

    The column `_source_time_hour` (the source's own UTC hour of the scheduled departure) is kept
    for the time-consistency check and dropped before the load."""
    ap = airports.select("faa", "tzone", surrogate("airport", F.col("faa")).alias("key"))
    org, dst = ap.alias("org"), ap.alias("dst")
    al = airlines.select(F.col("carrier").alias("al_carrier"), surrogate("airline", F.col("carrier")).alias("airline_key"))
    pl = planes.select(F.col("tailnum").alias("pl_tailnum"), surrogate("plane", F.col("tailnum")).alias("plane_key"))
    wx = weather.where(~F.col("is_unknown")).select(F.col("origin_code").alias("wx_origin"),
                                                    F.col("observed_hour_utc").alias("wx_hour"), "weather_key")
    f = flights.alias("f")
    f = (f.join(F.broadcast(org), F.col("f.origin") == F.col("org.faa"), "left")
          .join(F.broadcast(dst), F.col("f.dest") == F.col("dst.faa"), "left")
          .select("f.*", F.col("org.tzone").alias("origin_tzone"), F.col("org.key").alias("origin_airport_key"),
                  F.col("dst.tzone").alias("dest_tzone"), F.col("dst.key").alias("dest_airport_key")))
    f = f.join(F.broadcast(al), F.col("carrier") == F.col("al_carrier"), "left")
    f = f.join(F.broadcast(pl), F.col("tailnum") == F.col("pl_tailnum"), "left")
    zones = sorted(r[0] for r in airports.select("tzone").distinct().collect() if r[0] is not None)
    f = flight_times(f, zones)
    cancelled = F.col("dep_time").isNull()
    diverted = ~cancelled & F.col("arr_delay").isNull()
    f = f.withColumns({
        "is_cancelled": cancelled, "is_diverted": diverted,
        "_wx_hour": F.date_trunc("hour", F.coalesce(F.col("dep_utc"), F.col("sched_dep_utc"))),
    })
    f = f.join(F.broadcast(wx), (F.col("origin") == F.col("wx_origin")) & (F.col("_wx_hour") == F.col("wx_hour")), "left")
    unknown = F.lit(UNKNOWN_KEY).cast("long")
    return f.select(
        surrogate("flight", *[F.col(k) for k in ("year", "month", "day", "carrier", "flight", "origin",
                                                 "sched_dep_time")]).alias("flight_key"),
        F.lit(batch_id).alias("batch_id"),
        (F.col("year") * 10000 + F.col("month") * 100 + F.col("day")).alias("date_key"),
        F.coalesce("origin_airport_key", unknown).alias("origin_airport_key"),
        F.coalesce("dest_airport_key", unknown).alias("dest_airport_key"),
        F.coalesce("airline_key", unknown).alias("airline_key"),
        F.coalesce("plane_key", unknown).alias("plane_key"),
        F.coalesce("weather_key", unknown).alias("weather_key"),
        F.col("carrier").alias("carrier_code"), F.col("flight").alias("flight_number"), F.col("tailnum"),
        F.col("origin").alias("origin_code"), F.col("dest").alias("dest_code"),
        "sched_dep_local", "dep_local", "sched_dep_utc", "dep_utc",
        F.col("sched_arr_time").alias("sched_arr_hhmm"), F.col("arr_time").alias("arr_hhmm"),
        "sched_arr_utc", "arr_utc",
        F.col("dep_delay").alias("dep_delay_min"), F.col("arr_delay").alias("arr_delay_min"),
        F.col("air_time").alias("air_time_min"), F.col("distance").alias("distance_mi"),
        "is_cancelled", "is_diverted",
        delay_bucket(cancelled, diverted, F.col("arr_delay")).alias("delay_bucket"),
        F.col("time_hour").alias("_source_time_hour"),
    )


def union_all(frames: list[DataFrame]) -> DataFrame:
    return reduce(lambda a, b: a.unionByName(b), frames)
