"""Logs (secrets redacted), Prometheus metrics (textfile and/or pushgateway) and an OpenTelemetry
trace of the run's stages (exported over OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT is set;
otherwise the API's no-op tracer is used and nothing is sent)."""
from __future__ import annotations

import contextlib
import logging
import sys
import time

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile

log = logging.getLogger("flights_etl")


class _Redact(logging.Filter):
    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            msg = record.getMessage()
            for s in self.secrets:
                msg = msg.replace(s, "***")
            record.msg, record.args = msg, None
        return True


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_Redact(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("py4j", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class Metrics:
    """The run's metrics, in their own registry: rows per stage and table, stage durations, the
    outcome, load throughput. `publish()` writes the textfile and/or pushes to the gateway."""

    def __init__(self, batch_id: str | None = None):
        self.registry = CollectorRegistry()
        r = self.registry
        self.rows = Gauge("swarm_etl_rows", "Rows per stage and table in the last run", ["stage", "table"], registry=r)
        self.stage_seconds = Gauge("swarm_etl_stage_duration_seconds", "Duration of each stage of the last run",
                                   ["stage"], registry=r)
        self.run_seconds = Gauge("swarm_etl_run_duration_seconds", "Duration of the last run", registry=r)
        self.outcome = Gauge("swarm_etl_run_outcome", "1 for the outcome of the last run (succeeded, dq_failed, error)",
                             ["outcome"], registry=r)
        self.dq_failed = Gauge("swarm_etl_dq_checks_failed", "Data-quality checks that failed in the last run", registry=r)
        self.dq_total = Gauge("swarm_etl_dq_checks", "Data-quality checks evaluated in the last run", registry=r)
        self.load_rps = Gauge("swarm_etl_load_rows_per_second", "Rows written per second in the load phase", registry=r)
        self.last_run = Gauge("swarm_etl_last_run_timestamp_seconds", "When the last run finished", registry=r)
        self.last_success = Gauge("swarm_etl_last_success_timestamp_seconds", "When the last successful run finished",
                                  registry=r)

    def set_outcome(self, outcome: str) -> None:
        for o in ("succeeded", "dq_failed", "error", "refused"):
            self.outcome.labels(o).set(1 if o == outcome else 0)
        now = time.time()
        self.last_run.set(now)
        if outcome == "succeeded":
            self.last_success.set(now)

    def publish(self, textfile: str | None, pushgateway: str | None, job: str) -> None:
        if textfile:
            write_to_textfile(textfile, self.registry)   # atomic: written to a temp file, then renamed
            log.info("metrics written to %s", textfile)
        if pushgateway:
            try:
                push_to_gateway(pushgateway, job=job, registry=self.registry, timeout=10)
                log.info("metrics pushed to %s (job %s)", pushgateway, job)
            except Exception as e:  # a monitoring outage must not fail a good load
                log.warning("could not push metrics to %s: %s", pushgateway, e)


def setup_tracing(endpoint: str | None, service_name: str):
    """Returns (tracer, shutdown). With no endpoint: the no-op tracer, nothing is exported."""
    if not endpoint:
        return trace.NoOpTracer(), lambda: None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    # The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) and OTEL_EXPORTER_OTLP_HEADERS itself.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    log.info("tracing: exporting spans over OTLP/HTTP to %s", endpoint)

    def shutdown():
        provider.force_flush(10_000)
        provider.shutdown()

    return provider.get_tracer("flights_etl"), shutdown


@contextlib.contextmanager
def stage(tracer, metrics: Metrics, name: str, **attrs):
    """A span and a duration gauge around one stage of the run."""
    t0 = time.monotonic()
    with tracer.start_as_current_span(name, attributes={k: v for k, v in attrs.items() if v is not None}) as span:
        try:
            yield span
        finally:
            dt = time.monotonic() - t0
            metrics.stage_seconds.labels(name).set(dt)
            log.info("stage %s: %.2f s", name, dt)
