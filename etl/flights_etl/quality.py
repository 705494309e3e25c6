"""Data-quality results: every count, rate and check of a run is one `Check`, stored in the run
table `etl_dq_result`. A check with a threshold that does not hold fails the run; the error names it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    stage: str            # extract | transform | load | quality
    name: str             # unique in a run, e.g. reconciliation:flights
    table: str
    metric: str
    value: float
    threshold: str | None  # "= 336776", "<= 0.01"; None: recorded only
    passed: bool

    def describe(self) -> str:
        return f"{self.name}: {self.metric} {self.value:g}, expected {self.threshold}"


class DQError(Exception):
    def __init__(self, failed: list[Check], checks: list[Check] | None = None):
        self.failed = failed
        self.checks = checks if checks is not None else failed
        super().__init__("data quality check(s) failed: " + "; ".join(c.describe() for c in failed))


def recorded(stage: str, name: str, table: str, metric: str, value: float) -> Check:
    return Check(stage, name, table, metric, float(value), None, True)


def equals(stage: str, name: str, table: str, metric: str, value: float, expected: float) -> Check:
    return Check(stage, name, table, metric, float(value), f"= {expected:g}", float(value) == float(expected))


def at_most(stage: str, name: str, table: str, metric: str, value: float, limit: float) -> Check:
    return Check(stage, name, table, metric, float(value), f"<= {limit:g}", float(value) <= float(limit))


def rate(part: float, whole: float) -> float:
    return 0.0 if whole == 0 else part / whole


def failed(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.passed]


def time_mismatches(fact) -> int:
    """Flights (an Arrow fact table with `_source_time_hour`) whose computed scheduled departure
    hour in UTC differs from the source's own UTC `time_hour`: a cross-check of the time-zone
    conversion (0 on the real data). Rows where either side is null are not counted."""
    import pyarrow.compute as pc

    hour = pc.floor_temporal(fact.column("sched_dep_utc"), 1, "hour")
    differs = pc.not_equal(hour, fact.column("_source_time_hour"))
    return int(pc.sum(pc.cast(pc.fill_null(differs, False), "int64")).as_py() or 0)
