"""OpenTelemetry traces around each stage: exported when an OTLP endpoint is configured, a no-op otherwise.

Configuration is OpenTelemetry's own, so it works with every collector and vendor unchanged:
`OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns exporting on (OTLP over
HTTP/protobuf), `OTEL_EXPORTER_OTLP_HEADERS` carries credentials (read by the exporter, never logged),
`OTEL_SERVICE_NAME` renames the service (default `codegraph`). Without an endpoint no provider is
installed and spans cost next to nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from codegraph_assets.errors import CodegraphError

_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_configured = threading.Lock()
_installed = False


def exporting() -> bool:
    return any(os.environ.get(name) for name in _ENDPOINT_VARIABLES)


def _install_provider_once() -> None:
    """Install an exporting TracerProvider the first time a span starts in a process with an endpoint."""
    global _installed
    with _configured:
        if _installed or not exporting():
            return
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        service = os.environ.get("OTEL_SERVICE_NAME", "codegraph")
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # flushed at process exit
        trace.set_tracer_provider(provider)
        _installed = True


@contextmanager
def stage_span(stage: str, attributes: Mapping[str, str | int | float]) -> Iterator[Span]:
    """A span `codegraph.<stage>` around one stage; a classified error sets its code and category."""
    _install_provider_once()
    tracer = trace.get_tracer("codegraph")
    with tracer.start_as_current_span(f"codegraph.{stage}", attributes=dict(attributes),
                                      record_exception=False, set_status_on_exception=False) as span:
        try:
            yield span
        except CodegraphError as error:
            span.set_attributes({"codegraph.error.code": error.code.value,
                                 "codegraph.error.category": error.category.value})
            span.set_status(Status(StatusCode.ERROR, error.code.value))
            raise
        except BaseException as error:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise


def record_counts(span: Span, counts: Mapping[str, object]) -> None:
    """The stage's figures as span attributes (`codegraph.files_parsed`, …): numbers only."""
    span.set_attributes({f"codegraph.{name}": value for name, value in counts.items()
                         if isinstance(value, (int, float)) and not isinstance(value, bool)})
