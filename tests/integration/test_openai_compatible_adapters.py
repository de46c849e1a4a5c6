"""EmbeddingResource (provider "openai") and LLMResource against a real local HTTP server.

The server speaks the OpenAI wire format; requests go through the real `openai` client, so these
tests cover serialization, headers, status handling, retries and error mapping end to end.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import numpy as np
import pytest

from codegraph_assets.errors import CodegraphError, ErrorCategory, ErrorCode
from resources.embeddings import EmbeddingResource
from resources.llm import LLMResource

API_KEY = "sk-test-0123456789abcdef-do-not-leak"
DEFAULT_DIMENSIONS = 24
GATE_WAIT_S = 10.0  # bound on how long a gated request waits for the others; reached only when a test fails


def fake_vector(text: str, dimensions: int) -> np.ndarray:
    """A deterministic, deliberately unnormalized vector for `text`."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    return np.random.default_rng(seed).normal(size=dimensions) * 3.0


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict


@dataclass
class ScriptedReply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict = field(default_factory=dict)


class FakeOpenAIServer:
    """A ThreadingHTTPServer implementing /v1/embeddings and /v1/chat/completions."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._scripted: dict[str, deque[ScriptedReply]] = {}
        self._always: dict[str, ScriptedReply] = {}
        self._lock = threading.Lock()
        # Concurrency probe: requests wait (bounded) until `_gate` are in flight at once, then never again.
        self._in_flight = threading.Condition()
        self._in_flight_now = 0
        self.max_in_flight = 0
        self._gate = 0
        # The assistant's text for a chat request body; the default echoes the prompt.
        self.chat_reply: Callable[[dict], str] = _echo_prompt
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def reply_next(self, path: str, status: int, *, headers: dict | None = None, body: dict | None = None):
        """Answer the next request to `path` with this reply instead of the normal one."""
        reply = ScriptedReply(status, headers or {}, body or _error_body(status))
        with self._lock:
            self._scripted.setdefault(path, deque()).append(reply)

    def reply_always(self, path: str, status: int, *, headers: dict | None = None, body: dict | None = None):
        reply = ScriptedReply(status, headers or {}, body or _error_body(status))
        with self._lock:
            self._always[path] = reply

    def reply_normally(self, path: str) -> None:
        """Undo `reply_always` and `reply_next` for `path`: the normal replies come back."""
        with self._lock:
            self._always.pop(path, None)
            self._scripted.pop(path, None)

    def hold_until_in_flight(self, count: int) -> None:
        """Make requests wait until `count` of them are in flight together (or a bounded wait ends)."""
        self._gate = count

    def _enter(self) -> None:
        with self._in_flight:
            self._in_flight_now += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight_now)
            if self._in_flight_now >= self._gate:
                self._gate = 0
                self._in_flight.notify_all()
            self._in_flight.wait_for(lambda: self._gate == 0, timeout=GATE_WAIT_S)

    def _leave(self) -> None:
        with self._in_flight:
            self._in_flight_now -= 1

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _next_reply(self, request: RecordedRequest) -> ScriptedReply:
        with self._lock:
            self.requests.append(request)
            queued = self._scripted.get(request.path)
            if queued:
                return queued.popleft()
            if request.path in self._always:
                return self._always[request.path]
        if request.path == "/v1/embeddings":
            return ScriptedReply(200, body=_embeddings_body(request.body))
        if request.path == "/v1/chat/completions":
            return ScriptedReply(200, body=_chat_body(request.body, self.chat_reply(request.body)))
        return ScriptedReply(404, body=_error_body(404))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                request = RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                server._enter()
                try:
                    reply = server._next_reply(request)
                finally:
                    server._leave()
                payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                pass

        return Handler


def _error_body(status: int) -> dict:
    # Like OpenAI's own 401 reply, the message quotes the key it was given.
    return {"error": {"message": f"status {status} for key {API_KEY}", "type": "test_error", "code": status}}


def _embeddings_body(request: dict) -> dict:
    dimensions = request.get("dimensions") or DEFAULT_DIMENSIONS
    inputs = request["input"] if isinstance(request["input"], list) else [request["input"]]
    data = []
    for index, text in enumerate(inputs):
        vector = fake_vector(text, dimensions)
        if request.get("encoding_format") == "base64":
            embedding = base64.b64encode(vector.astype(np.float32).tobytes()).decode()
        else:
            embedding = vector.tolist()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    # Reversed on purpose: clients must order by `index`, not by position.
    return {
        "object": "list",
        "data": list(reversed(data)),
        "model": request["model"],
        "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
    }


def _echo_prompt(request: dict) -> str:
    user = [m["content"] for m in request["messages"] if m["role"] == "user"][-1]
    return f"summary of: {user}"


def _chat_body(request: dict, content: str) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": request["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@pytest.fixture
def server():
    fake = FakeOpenAIServer()
    fake.start()
    yield fake
    fake.stop()


def remote_embedder(server: FakeOpenAIServer, **overrides) -> EmbeddingResource:
    config = dict(
        provider="openai",
        model="test-embed",
        base_url=server.url,
        api_key=API_KEY,
        dimensions=16,
        max_retries=3,
        retry_base_delay_s=0.001,
    )
    config.update(overrides)
    return EmbeddingResource(**config)


def chat_model(server: FakeOpenAIServer, **overrides) -> LLMResource:
    config = dict(base_url=server.url, api_key=API_KEY, model="test-chat", max_retries=3, retry_base_delay_s=0.001)
    config.update(overrides)
    return LLMResource(**config)


def test_embeddings_come_back_in_input_order_and_normalized(server):
    texts = ["alpha", "a much longer second text", "", "gamma", "delta delta"]

    vectors = remote_embedder(server, batch_size=2).embed(texts)

    assert vectors.shape == (5, 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    sent = [text or " " for text in texts]  # a blank goes out as one space
    expected = np.stack([fake_vector(text, 16) for text in sent])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-5, atol=1e-6)
    assert len(server.requests_to("/v1/embeddings")) == 3  # batches of 2
    assert all(r.body["dimensions"] == 16 and r.body["model"] == "test-embed" for r in server.requests)


def test_dimension_is_discovered_by_one_probe_when_not_configured(server):
    embedder = remote_embedder(server, dimensions=None)

    assert embedder.dimension() == DEFAULT_DIMENSIONS
    assert embedder.dimension() == DEFAULT_DIMENSIONS
    assert len(server.requests) == 1
    assert "dimensions" not in server.requests[0].body
    assert embedder.embed_query("find the parser").shape == (DEFAULT_DIMENSIONS,)


def test_model_id_names_model_and_dimensions_but_not_the_key(server):
    embedder = remote_embedder(server)

    assert embedder.model_id() == "openai:test-embed@16"
    assert remote_embedder(server, api_key="another-key").model_id() == embedder.model_id()
    assert server.requests == []  # a cache key costs no request


def test_rate_limited_embedding_request_is_retried(server):
    server.reply_next("/v1/embeddings", 429, headers={"Retry-After": "0"})

    vectors = remote_embedder(server).embed(["retry me"])

    assert vectors.shape == (1, 16)
    assert len(server.requests_to("/v1/embeddings")) == 2


def test_persistent_server_error_is_a_transient_network_error(server):
    server.reply_always("/v1/embeddings", 500)

    with pytest.raises(CodegraphError) as caught:
        remote_embedder(server, max_retries=2).embed(["never works"])

    assert caught.value.code is ErrorCode.NETWORK_ERROR
    assert caught.value.category is ErrorCategory.TRANSIENT
    assert len(server.requests_to("/v1/embeddings")) == 3  # max_retries + 1
    assert "test-embed" in str(caught.value) and server.url in str(caught.value)


def test_persistent_rate_limit_is_a_transient_rate_limited_error(server):
    server.reply_always("/v1/embeddings", 429, headers={"Retry-After": "0"})

    with pytest.raises(CodegraphError) as caught:
        remote_embedder(server, max_retries=1).embed(["too fast"])

    assert caught.value.code is ErrorCode.RATE_LIMITED
    assert caught.value.retryable
    assert len(server.requests_to("/v1/embeddings")) == 2


@pytest.mark.parametrize("status", [401, 403, 404])
def test_refused_credentials_or_model_are_permanent_invalid_model(server, status):
    server.reply_always("/v1/embeddings", status)

    with pytest.raises(CodegraphError) as caught:
        remote_embedder(server).embed(["anything"])

    error = caught.value
    assert error.code is ErrorCode.INVALID_MODEL
    assert error.category is ErrorCategory.PERMANENT
    assert len(server.requests) == 1  # never retried
    assert "test-embed" in str(error) and server.url in str(error) and error.fix
    assert API_KEY not in str(error)
    assert API_KEY not in json.dumps(error.metadata())


def test_unreachable_endpoint_is_a_transient_network_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before use: connections are refused
    embedder = EmbeddingResource(
        provider="openai",
        model="test-embed",
        base_url=f"http://127.0.0.1:{port}/v1",
        dimensions=16,
        max_retries=1,
        retry_base_delay_s=0.001,
    )

    with pytest.raises(CodegraphError) as caught:
        embedder.embed(["hello"])

    assert caught.value.code is ErrorCode.NETWORK_ERROR
    assert caught.value.retryable


def test_chat_completion_returns_the_servers_text(server):
    reply = chat_model(server, temperature=0.2, max_tokens=40).complete("def f(): ...", system="Summarize.")

    assert reply == "summary of: def f(): ..."
    (request,) = server.requests_to("/v1/chat/completions")
    assert request.body["messages"] == [
        {"role": "system", "content": "Summarize."},
        {"role": "user", "content": "def f(): ..."},
    ]
    assert request.body["model"] == "test-chat"
    assert request.body["temperature"] == 0.2 and request.body["max_tokens"] == 40


def test_rate_limited_chat_completion_is_retried(server):
    server.reply_next("/v1/chat/completions", 429, headers={"Retry-After": "0"})

    assert chat_model(server).complete("hello") == "summary of: hello"
    assert len(server.requests_to("/v1/chat/completions")) == 2


def test_rejected_chat_key_is_invalid_model_without_the_key(server):
    server.reply_always("/v1/chat/completions", 401)

    with pytest.raises(CodegraphError) as caught:
        chat_model(server).complete("hello")

    assert caught.value.code is ErrorCode.INVALID_MODEL
    assert "test-chat" in str(caught.value)
    assert API_KEY not in str(caught.value)


def test_llm_without_base_url_is_disabled():
    llm = LLMResource(api_key=API_KEY)

    assert not llm.enabled
    with pytest.raises(CodegraphError) as caught:
        llm.complete("hello")
    assert caught.value.code is ErrorCode.INVALID_MODEL
    assert API_KEY not in str(caught.value)


def test_api_key_reaches_the_server_but_no_log_record(server, caplog):
    for name in (None, "openai", "httpx", "httpcore", "resources"):
        caplog.set_level(logging.DEBUG, logger=name)
    server.reply_next("/v1/embeddings", 429, headers={"Retry-After": "0"})
    server.reply_next("/v1/chat/completions", 401)

    remote_embedder(server).embed(["one", "two"])
    with pytest.raises(CodegraphError):
        chat_model(server).complete("hello")

    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {API_KEY}"}
    assert any(r.name.startswith("openai") for r in caplog.records)  # the client did log
    assert any(r.name.startswith("resources") for r in caplog.records)  # and so did the retry
    assert API_KEY not in caplog.text


def test_api_key_from_env_var_is_wired_through_a_dagster_run(server, monkeypatch):
    monkeypatch.setenv("CODEGRAPH_EMBEDDING_API_KEY", API_KEY)
    embedder = remote_embedder(server, api_key=dg.EnvVar("CODEGRAPH_EMBEDDING_API_KEY"))

    @dg.asset
    def vectors(embeddings: EmbeddingResource) -> int:
        return int(embeddings.embed(["wired"]).shape[1])

    result = dg.materialize([vectors], resources={"embeddings": embedder})

    assert result.success and result.output_for_node("vectors") == 16
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_api_key_from_env_var_is_resolved_outside_dagster(server, monkeypatch):
    monkeypatch.setenv("CODEGRAPH_EMBEDDING_API_KEY", API_KEY)

    remote_embedder(server, api_key=dg.EnvVar("CODEGRAPH_EMBEDDING_API_KEY")).embed(["cli"])

    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_batches_are_requested_concurrently_up_to_the_limit(server):
    server.hold_until_in_flight(3)
    texts = [f"text {i}" for i in range(9)]

    vectors = remote_embedder(server, batch_size=1, max_concurrent_requests=3).embed(texts)

    assert server.max_in_flight == 3  # three at once (the gate opened), never a fourth
    expected = np.stack([fake_vector(text, 16) for text in texts])
    np.testing.assert_allclose(vectors, expected / np.linalg.norm(expected, axis=1, keepdims=True), rtol=1e-5)


def test_a_rate_limit_halves_the_requests_in_flight(server):
    server.reply_next("/v1/embeddings", 429, headers={"Retry-After": "0"})
    embedder = remote_embedder(server, batch_size=1, max_concurrent_requests=4)

    vectors = embedder.embed([f"text {i}" for i in range(8)])

    assert vectors.shape == (8, 16)
    assert len(server.requests_to("/v1/embeddings")) == 9  # one retry
    assert embedder._adaptive_concurrency().lowest_limit == 2


def test_texts_per_call_fills_every_request_slot(server):
    assert remote_embedder(server, batch_size=16, max_concurrent_requests=4).texts_per_call() == 64
