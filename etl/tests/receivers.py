"""Tiny loopback HTTP receivers standing in for a Prometheus pushgateway and an OTLP/HTTP collector."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Records (method, path, body) of every request on 127.0.0.1:<free port>; answers 200."""

    def __init__(self):
        self.requests: list[tuple[str, str, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _take(self):
                n = int(self.headers.get("Content-Length") or 0)
                outer.requests.append((self.command, self.path, self.rfile.read(n)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST = _take

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def span_names(self) -> list[str]:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        names = []
        for method, path, body in self.requests:
            if path == "/v1/traces":
                req = ExportTraceServiceRequest()
                req.ParseFromString(body)
                names += [s.name for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]
        return names
