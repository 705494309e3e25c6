"""Transform unit tests on small hand-made frames (local Spark), with exact expected rows."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from conftest import AIRLINES, AIRPORTS, PLANES, flight, weather
from flights_etl import transform as tr
from flights_etl.schemas import RAW_COLUMNS, UNKNOWN_KEY

def utc(*args) -> dt.datetime:
    """An instant in UTC as PySpark returns it (naive, in the process's zone: conftest sets TZ=UTC)."""
    return dt.datetime(*args)


def raw(spark, table, rows, partitions=None):
    df = spark.createDataFrame(rows, T.StructType([T.StructField(c, T.StringType()) for c in RAW_COLUMNS[table]]))
    return df.repartition(partitions) if partitions else df


def good(spark, zones, table, rows):
    return tr.good(tr.check(raw(spark, table, rows), table, zones))


def fact(spark, zones, flights, weather_rows=(), planes=PLANES, airports=AIRPORTS, airlines=AIRLINES):
    g = {"airports": good(spark, zones, "airports", airports), "airlines": good(spark, zones, "airlines", airlines),
         "planes": good(spark, zones, "planes", planes), "flights": good(spark, zones, "flights", flights)}
    wx = tr.dim_weather(good(spark, zones, "weather", list(weather_rows)))
    return tr.fact_flight(g["flights"], g["airports"], g["airlines"], g["planes"], wx, "b1")


def by_number(df, *cols):
    return {r["flight_number"]: tuple(r[c] for c in cols) for r in df.select("flight_number", *cols).collect()}


# ------------------------------------------------------------------ typing and quarantine reasons

def test_validate_gives_each_bad_row_one_reason_and_types_the_good_ones(spark, zones):
    rows = [
        flight(number="1"),                                  # good
        flight(number="2", dep="NA", dep_delay="NA", arr="NA", arr_delay="NA"),   # cancelled: still good
        flight(number="3", month="13"),                      # out of range
        flight(number="4", carrier="NA"),                    # natural key missing
        flight(number="5", dep="1275"),                      # 75 minutes is no clock time
        flight(number="6", month="2", day="30"),             # no such date
        flight(number="7", dep_delay="2.5"),                 # not an integer
        flight(number="8", sched_dep="2401"),                # past midnight
        flight(number="9", tailnum="NA", dest="NA"),         # optional keys missing: still good
    ]
    df = tr.validate(raw(spark, "flights", rows), "flights", zones)
    got = {r["_raw_flight"]: r["_reason"] for r in df.collect()}
    assert got == {"1": None, "2": None, "3": "invalid_value:month", "4": "missing_key:carrier",
                   "5": "invalid_value:dep_time", "6": "invalid_value:day", "7": "invalid_value:dep_delay",
                   "8": "invalid_value:sched_dep_time", "9": None}
    first = df.where("_raw_flight = '1'").first()
    assert (first["year"], first["dep_time"], first["dep_delay"], first["carrier"], first["distance"]) == \
        (2013, 517, 2, "UA", 1400)
    cancelled = df.where("_raw_flight = '2'").first()
    assert (cancelled["dep_time"], cancelled["dep_delay"]) == (None, None)


def test_a_row_with_a_field_beyond_the_header_is_malformed(spark, zones):
    schema = tr.raw_schema("airlines")
    df = spark.createDataFrame([("UA", "United", None), ("AA", "American", "surplus")], schema)
    got = {r["_raw_carrier"]: r["_reason"] for r in tr.validate(df, "airlines", zones).collect()}
    assert got == {"UA": None, "AA": "malformed_row"}


def test_an_airport_with_an_unknown_time_zone_is_quarantined(spark, zones):
    rows = AIRPORTS[:1] + [["XXX", "Nowhere", "1", "1", "1", "-5", "A", "Mars/Olympus_Mons"]]
    got = {r["_raw_faa"]: r["_reason"] for r in tr.validate(raw(spark, "airports", rows), "airports", zones).collect()}
    assert got == {"EWR": None, "XXX": "invalid_value:tzone"}


def test_quarantine_rows_keep_the_reason_the_natural_key_and_the_raw_record(spark, zones):
    rows = [flight(number="3", month="13", time_hour="2013-01-01T10:00:00Z")]
    q = tr.quarantine(tr.check(raw(spark, "flights", rows), "flights", zones), "flights", "b1").collect()
    assert len(q) == 1
    r = q[0]
    assert (r["batch_id"], r["source_table"], r["reason"], r["natural_key"]) == \
        ("b1", "flights", "invalid_value:month", "2013|13|1|UA|3|EWR|515")
    assert json.loads(r["raw_record"]) == dict(zip(RAW_COLUMNS["flights"], rows[0]))


# ------------------------------------------------------------------ duplicates

def test_duplicates_keep_one_row_per_natural_key_and_quarantine_the_rest(spark, zones):
    a = flight(number="10")
    conflicting = flight(number="10", arr="845", arr_delay="26")      # same key, other values
    other = flight(number="11")
    rows = [a, a, a, conflicting, other]
    checked = tr.check(raw(spark, "flights", rows), "flights", zones)
    g = tr.good(checked).collect()
    assert sorted(r["flight"] for r in g) == [10, 11]
    reasons = sorted(r["reason"] for r in tr.quarantine(checked, "flights", "b").collect())
    assert reasons == ["duplicate_natural_key"] * 3


def test_the_row_kept_among_conflicting_duplicates_does_not_depend_on_order_or_partitioning(spark, zones):
    rows = [flight(number="10", arr=str(800 + i), arr_delay=str(i - 19)) for i in range(8)]
    kept = []
    for order, parts in ((rows, 1), (rows[::-1], 3), (rows[3:] + rows[:3], 5)):
        g = tr.good(tr.check(raw(spark, "flights", order, parts), "flights", zones)).collect()
        assert len(g) == 1
        kept.append(g[0]["arr_time"])
    assert kept[0] == kept[1] == kept[2]


def test_weather_is_unique_by_origin_and_utc_hour_so_the_repeated_local_hour_at_dst_end_is_kept(spark, zones):
    # 2013-11-03 01:00 happens twice in New York; the source tells them apart by time_hour (UTC).
    rows = [weather("EWR", "2013", "11", "3", "1", "2013-11-03T05:00:00Z"),
            weather("EWR", "2013", "11", "3", "1", "2013-11-03T06:00:00Z"),
            weather("EWR", "2013", "11", "3", "1", "2013-11-03T06:00:00Z")]       # a true duplicate
    checked = tr.check(raw(spark, "weather", rows), "weather", zones)
    hours = sorted(r["time_hour"] for r in tr.good(checked).collect())
    assert hours == [dt.datetime(2013, 11, 3, 5), dt.datetime(2013, 11, 3, 6)]   # session time zone is UTC
    assert [r["reason"] for r in tr.quarantine(checked, "weather", "b").collect()] == ["duplicate_natural_key"]


# ------------------------------------------------------------------ time zones

TIME_COLS = ("sched_dep_local", "sched_dep_utc", "dep_utc", "sched_arr_utc", "arr_utc")


def test_times_are_converted_from_each_airports_local_clock_to_utc(spark, zones):
    flights = [
        # EWR -> IAH (Central), the data set's first flight
        flight(number="1"),
        # JFK -> HNL: Hawaii keeps standard time, 6 h behind New York in July
        flight(number="2", month="7", origin="JFK", dest="HNL", sched_dep="900", dep="900", dep_delay="0",
               sched_arr="1400", arr="1410", arr_delay="10"),
        # LGA -> ORD: leaves 23:00 and lands 00:10 Chicago time, the next day
        flight(number="3", origin="LGA", dest="ORD", sched_dep="2300", dep="2300", dep_delay="0",
               sched_arr="10", arr="10", arr_delay="0"),
        # delayed past midnight: scheduled 22:30 on 31 Jan, left 00:30 on 1 Feb
        flight(number="4", day="31", sched_dep="2230", dep="30", dep_delay="120", dest="ORD",
               sched_arr="2359", arr="159", arr_delay="120"),
        # left early, before midnight: scheduled 00:05 on 1 Mar, left 23:55 on 28 Feb
        flight(number="5", month="3", day="1", sched_dep="5", dep="2355", dep_delay="-10", dest="ORD",
               sched_arr="200", arr="150", arr_delay="-10"),
        # a departure at "2400" is midnight at the end of the day
        flight(number="6", sched_dep="2359", dep="2400", dep_delay="1", dest="ORD", sched_arr="200", arr="200",
               arr_delay="0"),
    ]
    got = by_number(fact(spark, zones, flights), *TIME_COLS)
    assert got[1] == (dt.datetime(2013, 1, 1, 5, 15), utc(2013, 1, 1, 10, 15), utc(2013, 1, 1, 10, 17),
                      utc(2013, 1, 1, 14, 19), utc(2013, 1, 1, 14, 30))
    assert got[2] == (dt.datetime(2013, 7, 1, 9, 0), utc(2013, 7, 1, 13, 0), utc(2013, 7, 1, 13, 0),
                      utc(2013, 7, 2, 0, 0), utc(2013, 7, 2, 0, 10))
    assert got[3] == (dt.datetime(2013, 1, 1, 23, 0), utc(2013, 1, 2, 4, 0), utc(2013, 1, 2, 4, 0),
                      utc(2013, 1, 2, 6, 10), utc(2013, 1, 2, 6, 10))
    assert got[4] == (dt.datetime(2013, 1, 31, 22, 30), utc(2013, 2, 1, 3, 30), utc(2013, 2, 1, 5, 30),
                      utc(2013, 2, 1, 5, 59), utc(2013, 2, 1, 7, 59))
    assert got[5] == (dt.datetime(2013, 3, 1, 0, 5), utc(2013, 3, 1, 5, 5), utc(2013, 3, 1, 4, 55),
                      utc(2013, 3, 1, 8, 0), utc(2013, 3, 1, 7, 50))
    assert got[6] == (dt.datetime(2013, 1, 1, 23, 59), utc(2013, 1, 2, 4, 59), utc(2013, 1, 2, 5, 0),
                      utc(2013, 1, 2, 8, 0), utc(2013, 1, 2, 8, 0))


def test_times_around_the_dst_changes_follow_the_documented_rules(spark, zones):
    flights = [
        # 2013-03-10 01:30 EST, before the change
        flight(number="1", month="3", day="10", sched_dep="130", dep="130", dep_delay="0", dest="ORD",
               sched_arr="300", arr="300", arr_delay="0"),
        # 02:30 does not exist that night: moved forward by the gap, 03:30 EDT = 07:30 UTC
        flight(number="2", month="3", day="10", sched_dep="230", dep="230", dep_delay="0", dest="ORD",
               sched_arr="400", arr="400", arr_delay="0"),
        # 03:00 EDT, after the change
        flight(number="3", month="3", day="10", sched_dep="300", dep="300", dep_delay="0", dest="ORD",
               sched_arr="400", arr="400", arr_delay="0"),
        # 2013-11-03 01:30 happens twice: the earlier (EDT) is taken, 05:30 UTC
        flight(number="4", month="11", day="3", sched_dep="130", dep="130", dep_delay="0", dest="ORD",
               sched_arr="300", arr="300", arr_delay="0"),
        # the flight crosses Chicago's own change (03:00 CST there is 09:00 UTC)
    ]
    got = by_number(fact(spark, zones, flights), "sched_dep_utc", "arr_utc")
    assert got[1] == (utc(2013, 3, 10, 6, 30), utc(2013, 3, 10, 8, 0))     # 03:00 CDT = 08:00 UTC
    assert got[2] == (utc(2013, 3, 10, 7, 30), utc(2013, 3, 10, 9, 0))
    assert got[3] == (utc(2013, 3, 10, 7, 0), utc(2013, 3, 10, 9, 0))
    assert got[4] == (utc(2013, 11, 3, 5, 30), utc(2013, 11, 3, 9, 0))


# ------------------------------------------------------------------ flags, buckets, orphans, weather

def test_cancelled_and_diverted_flags_and_delay_buckets(spark, zones):
    delays = {"1": "-5", "2": "14", "3": "15", "4": "59", "5": "60", "6": "179", "7": "180"}
    flights = [flight(number=n, arr_delay=d) for n, d in delays.items()]
    flights += [flight(number="8", dep="NA", dep_delay="NA", arr="NA", arr_delay="NA", air="NA"),   # cancelled
                flight(number="9", arr_delay="NA", air="NA"),                                      # diverted
                flight(number="10", arr="NA", arr_delay="NA", air="NA")]                           # diverted
    got = by_number(fact(spark, zones, flights), "is_cancelled", "is_diverted", "delay_bucket", "dep_utc", "arr_utc")
    assert {n: v[2] for n, v in got.items()} == {
        1: "on_time", 2: "on_time", 3: "late_15_59", 4: "late_15_59", 5: "late_60_179", 6: "late_60_179",
        7: "late_180_plus", 8: "cancelled", 9: "diverted", 10: "diverted"}
    assert got[8] == (True, False, "cancelled", None, None)
    assert got[9][:2] == (False, True) and got[9][3] == utc(2013, 1, 1, 10, 17)
    assert got[10] == (False, True, "diverted", utc(2013, 1, 1, 10, 17), None)


def test_orphan_keys_link_to_the_unknown_member_and_keep_their_codes(spark, zones):
    flights = [flight(number="1"),
               flight(number="2", dest="BQN", tailnum="N999ZZ", carrier="ZZ"),
               flight(number="3", tailnum="NA", dest="NA")]
    f = fact(spark, zones, flights)
    cols = ("dest_airport_key", "plane_key", "airline_key", "dest_code", "tailnum", "carrier_code",
            "sched_arr_utc", "sched_dep_utc")
    got = by_number(f, *cols)
    assert got[2] == (UNKNOWN_KEY, UNKNOWN_KEY, UNKNOWN_KEY, "BQN", "N999ZZ", "ZZ", None, utc(2013, 1, 1, 10, 15))
    assert got[3][:2] == (UNKNOWN_KEY, UNKNOWN_KEY) and got[3][3:5] == (None, None)
    known = got[1]
    assert UNKNOWN_KEY not in known[:3]
    # the keys are the dimensions' keys
    planes = tr.dim_plane(good(spark, zones, "planes", PLANES)).collect()
    assert {r["tailnum"]: r["plane_key"] for r in planes}["N14228"] == known[1]
    unknown = [r for r in planes if r["is_unknown"]]
    assert [(r["plane_key"], r["tailnum"], r["model"]) for r in unknown] == [(UNKNOWN_KEY, None, "Unknown plane")]


def test_a_flight_to_an_airport_missing_from_airports_keeps_its_local_clocks(spark, zones):
    flights = [flight(number="1", origin="JFK", dest="BQN", sched_dep="2359", dep="14", dep_delay="15",
                      sched_arr="418", arr="2400", arr_delay="-18"),
               flight(number="2", origin="JFK", dest="SJU", dep="NA", dep_delay="NA", arr="NA", arr_delay="NA",
                      sched_arr="1000"),
               flight(number="3", origin="JFK", dest="ORD", sched_arr="819", arr="830")]
    got = by_number(fact(spark, zones, flights), "dest_airport_key", "sched_dep_local", "dep_local", "sched_arr_hhmm",
                    "arr_hhmm", "sched_arr_utc", "arr_utc")
    # no zone for BQN: no UTC arrival, but the arrival clocks of the source, and the departure's
    # local clocks (the origin's, with the day the flight really left: after midnight)
    assert got[1] == (UNKNOWN_KEY, dt.datetime(2013, 1, 1, 23, 59), dt.datetime(2013, 1, 2, 0, 14), 418, 2400,
                      None, None)
    assert got[2][1:] == (dt.datetime(2013, 1, 1, 5, 15), None, 1000, None, None, None)
    assert got[3][2:] == (dt.datetime(2013, 1, 1, 5, 17), 819, 830, utc(2013, 1, 1, 14, 19), utc(2013, 1, 1, 14, 30))


def test_weather_is_the_origins_hour_in_which_the_flight_left(spark, zones):
    wx = [weather("EWR", "2013", "1", "1", "8", "2013-01-01T13:00:00Z", visib="0.5"),
          weather("EWR", "2013", "1", "1", "9", "2013-01-01T14:00:00Z", precip="0.2")]
    flights = [
        flight(number="1", sched_dep="855", dep="905", dep_delay="10"),    # left in the 9 o'clock hour
        flight(number="2", sched_dep="855", dep="NA", dep_delay="NA", arr="NA", arr_delay="NA"),  # cancelled: 8
        flight(number="3", sched_dep="1055", dep="1055", dep_delay="0"),  # no weather for that hour
    ]
    f = fact(spark, zones, flights, wx)
    dim = {r["weather_key"]: r["condition"] for r in tr.dim_weather(good(spark, zones, "weather", wx)).collect()}
    got = {n: dim[k[0]] for n, k in by_number(f, "weather_key").items()}
    assert got == {1: "precipitation", 2: "low_visibility", 3: "unknown"}


def test_dim_date_covers_whole_years_with_iso_weekdays(spark):
    rows = tr.dim_date(spark, 2012, 2013).collect()
    assert len(rows) == 366 + 365 + 1
    d = {r["date_key"]: r for r in rows}
    r = d[20130101]
    assert (r["full_date"], r["year"], r["quarter"], r["month"], r["month_name"], r["day_of_month"],
            r["day_of_week"], r["day_name"], r["is_weekend"], r["iso_week"], r["is_unknown"]) == \
        (dt.date(2013, 1, 1), 2013, 1, 1, "January", 1, 2, "Tuesday", False, 1, False)
    assert (d[20121230]["day_name"], d[20121230]["is_weekend"], d[20121231]["iso_week"]) == ("Sunday", True, 1)
    assert d[UNKNOWN_KEY]["is_unknown"] is True and d[UNKNOWN_KEY]["full_date"] is None


def test_surrogate_keys_are_stable_hashes_of_the_natural_key(spark, zones):
    a = tr.dim_airport(good(spark, zones, "airports", AIRPORTS)).where(F.col("faa") == "JFK").first()["airport_key"]
    b = tr.dim_airport(good(spark, zones, "airports", list(reversed(AIRPORTS)))).where(F.col("faa") == "JFK").first()
    assert a == b["airport_key"] == spark.range(1).select(tr.surrogate("airport", F.lit("JFK"))).first()[0]


@pytest.mark.parametrize("hhmm,minutes", [(0, 0), (517, 317), (1200, 720), (2359, 1439), (2400, 1440)])
def test_hhmm_minutes(spark, hhmm, minutes):
    assert spark.range(1).select(tr.hhmm_minutes(F.lit(hhmm))).first()[0] == minutes
