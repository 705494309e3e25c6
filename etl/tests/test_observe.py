"""Metrics (textfile, pushgateway) and tracing (OTLP/HTTP, or nothing) without the rest of the job."""
from __future__ import annotations

import logging

from receivers import Receiver

from flights_etl.observe import Metrics, _Redact, setup_tracing, stage


def test_metrics_go_to_the_textfile_and_the_pushgateway(tmp_path):
    m = Metrics()
    m.rows.labels("load", "fact_flight").set(336776)
    m.set_outcome("dq_failed")
    gw = Receiver()
    try:
        m.publish(str(tmp_path / "etl.prom"), gw.url, "swarm_etl")
    finally:
        gw.close()
    text = (tmp_path / "etl.prom").read_text()
    assert 'swarm_etl_rows{stage="load",table="fact_flight"} 336776.0' in text
    assert 'swarm_etl_run_outcome{outcome="dq_failed"} 1.0' in text
    assert 'swarm_etl_run_outcome{outcome="succeeded"} 0.0' in text
    [(method, path, body)] = gw.requests
    assert (method, path) == ("PUT", "/metrics/job/swarm_etl")
    assert b'swarm_etl_rows{stage="load",table="fact_flight"} 336776.0' in body


def test_an_unreachable_pushgateway_only_warns(tmp_path, caplog):
    m = Metrics()
    with caplog.at_level(logging.WARNING):
        m.publish(None, "http://127.0.0.1:9", "swarm_etl")    # port 9: nothing listens
    assert "could not push metrics to http://127.0.0.1:9" in caplog.text


def test_stages_become_spans_exported_over_otlp_http(monkeypatch):
    collector = Receiver()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
        tracer, shutdown = setup_tracing(collector.url, "swarm-etl-test")
        m = Metrics()
        with tracer.start_as_current_span("etl.run"):
            with stage(tracer, m, "extract"):
                pass
            with stage(tracer, m, "load"):
                pass
        shutdown()
        assert sorted(collector.span_names()) == ["etl.run", "extract", "load"]
        assert m.stage_seconds.labels("load")._value.get() >= 0
    finally:
        collector.close()


def test_without_an_endpoint_the_tracer_is_a_no_op():
    tracer, shutdown = setup_tracing(None, "x")
    with tracer.start_as_current_span("etl.run") as span:
        assert not span.get_span_context().is_valid
    shutdown()


def test_secrets_are_redacted_from_log_records():
    record = logging.LogRecord("flights_etl", logging.ERROR, __file__, 1, "auth failed for %s with %s", ("etl", "pw-123"),
                               None)
    _Redact(["pw-123"]).filter(record)
    assert record.getMessage() == "auth failed for etl with ***"
