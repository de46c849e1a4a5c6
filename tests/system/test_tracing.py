"""OpenTelemetry: each stage of a real `codegraph index` arrives as a span at an OTLP/HTTP receiver."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import GitRepo
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from codegraph_assets.tracing import exporting, stage_span


class _Collector(BaseHTTPRequestHandler):
    """The receiving end of an OTLP/HTTP collector: keeps every exported span."""

    spans: list = []
    received = threading.Event()

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: a.value for a in span.attributes}
                    _Collector.spans.append((service, self.path, span.name, span.status.code, attributes))
        _Collector.received.set()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def collector():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Collector.spans.clear()
    _Collector.received.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_every_stage_of_an_index_run_is_exported_as_a_span_with_its_figures(collector, tmp_path):
    repo = GitRepo(tmp_path / "traced")
    commit = repo.commit({"pay/ledger.py": "def post_entry(amount):\n    return amount\n"}, "initial")
    env = {**os.environ, "CODEGRAPH_HOME": str(tmp_path / "home"), "DAGSTER_HOME": str(tmp_path / "dagster"),
           "HF_HUB_OFFLINE": "1", "OTEL_EXPORTER_OTLP_ENDPOINT": collector, "OTEL_SERVICE_NAME": "codegraph-test"}
    result = subprocess.run([sys.executable, "-m", "codegraph_assets.cli.main", "index", str(repo.path)],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert _Collector.received.wait(timeout=30)  # the exporter flushed when the process exited
    spans = {name: (service, path, status, attributes) for service, path, name, status, attributes in _Collector.spans}
    assert set(spans) == {"codegraph.ir", "codegraph.lexical", "codegraph.chunk", "codegraph.vector"}
    for service, path, _status, attributes in spans.values():
        assert (service, path) == ("codegraph-test", "/v1/traces")
        assert attributes["codegraph.repo"].string_value == "traced"
        assert attributes["codegraph.snapshot"].string_value == "main"
        assert attributes["codegraph.commit"].string_value == commit
    assert spans["codegraph.ir"][3]["codegraph.files_parsed"].int_value == 1
    assert spans["codegraph.vector"][3]["codegraph.chunks_embedded"].int_value >= 1


def test_without_an_endpoint_spans_are_not_recorded(monkeypatch):
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert not exporting()
    with stage_span("ir", {"codegraph.repo": "r"}) as span:
        assert not span.is_recording()
