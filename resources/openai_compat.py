"""Transport for OpenAI-compatible endpoints: one client recipe, one retry loop, one error mapping.

Shared by `EmbeddingResource` (provider "openai") and `LLMResource`. The `openai` client's own
retries are switched off (`max_retries=0`) so that every attempt, delay and final error goes through
`call_with_retries`, which classifies failures as `CodegraphError`s. Secrets never reach a message or
a log record: messages name the endpoint (credentials stripped from the URL) and the model only, and
any text the server sends back is scrubbed of the API key before it is quoted.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import openai

from codegraph_assets.errors import CodegraphError, ErrorCode

log = logging.getLogger(__name__)

T = TypeVar("T")

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"

# Keyless servers (vLLM, Ollama, llama.cpp) ignore the key, but the client insists on one; a
# placeholder also stops the client from silently picking up OPENAI_API_KEY from the environment.
_NO_KEY_PLACEHOLDER = "no-key-configured"

# Statuses worth another attempt: request timeout, conflict, rate limit, and every server error.
_RETRYABLE_STATUSES = frozenset({408, 409, 429})
_MODEL_STATUSES = frozenset({401, 403, 404})


@dataclass(frozen=True)
class RetrySchedule:
    """How often and how patiently to retry: exponential backoff with full jitter, capped."""

    max_retries: int
    base_delay_s: float
    max_delay_s: float

    def delay_s(self, retry_number: int, retry_after_s: float | None) -> float:
        """Seconds to wait before retry `retry_number` (1-based); a server's Retry-After wins, capped."""
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.max_delay_s)
        ceiling = min(self.base_delay_s * (2 ** (retry_number - 1)), self.max_delay_s)
        # Full jitter keeps many workers that hit the same limit from retrying in lockstep.
        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Endpoint:
    """Where requests go and which model they name; `display` is safe to print, `api_key` is not."""

    base_url: str | None
    api_key: str | None
    model: str

    @property
    def display(self) -> str:
        return display_url(self.base_url or OPENAI_DEFAULT_BASE_URL)

    def client(self, timeout_s: float) -> openai.OpenAI:
        """A real `openai` client with its own retries off; `call_with_retries` owns retrying."""
        return openai.OpenAI(
            base_url=self.base_url or OPENAI_DEFAULT_BASE_URL,
            api_key=self.api_key or _NO_KEY_PLACEHOLDER,
            max_retries=0,
            timeout=timeout_s,
        )

    def scrub(self, text: str) -> str:
        """`text` with the API key (if any) replaced, for quoting server replies in errors."""
        if self.api_key:
            text = text.replace(self.api_key, "***")
        return text


class AdaptiveConcurrency:
    """At most `limit` requests in flight: halved by every rate-limit answer (down to one), and grown back by
    one after each `limit` requests in a row that succeed (additive increase, multiplicative decrease), so a
    client settles just under the rate an endpoint allows instead of hammering it with retries."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.lowest_limit = maximum  # how far rate limits pushed it, for metrics and tests
        self._in_flight = 0
        self._successes = 0
        self._changed = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the `limit` places for the duration of one request (with its retries)."""
        with self._changed:
            self._changed.wait_for(lambda: self._in_flight < self.limit)
            self._in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()

    def rate_limited(self) -> None:
        with self._changed:
            self.limit = max(1, self.limit // 2)
            self.lowest_limit = min(self.lowest_limit, self.limit)
            self._successes = 0

    def succeeded(self) -> None:
        with self._changed:
            self._successes += 1
            if self._successes >= self.limit and self.limit < self.maximum:
                self.limit += 1
                self._successes = 0
                self._changed.notify_all()


def is_rate_limit(exc: BaseException) -> bool:
    """Whether a failed attempt was the server saying "too many requests" (HTTP 429)."""
    return isinstance(exc, openai.APIStatusError) and exc.status_code == 429


def resolve_secret(value: str | None) -> str | None:
    """The value of a config secret, also when the resource is used outside a Dagster run.

    Inside a run Dagster has already replaced `EnvVar`s by their values; a resource built directly
    (CLI, tests) still holds the `EnvVar`, whose plain string is the variable's *name*.
    """
    if isinstance(value, dg.EnvVar):
        return value.get_value()
    return value


def display_url(url: str) -> str:
    """`url` without user-info, query or fragment, which may carry credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def call_with_retries(
    fn: Callable[[], T], *, endpoint: Endpoint, schedule: RetrySchedule, operation: str,
    on_failed_attempt: Callable[[openai.APIError], None] | None = None,
) -> T:
    """Run `fn` (one request through the `openai` client), retrying transient failures.

    429, 408, 409, 5xx, connection errors and timeouts are retried up to `schedule.max_retries`
    times, then raised as RATE_LIMITED (429) or NETWORK_ERROR (TRANSIENT, so Dagster may retry the
    whole step later). 401/403/404 raise INVALID_MODEL and other 4xx INVALID_PAYLOAD (PERMANENT).
    `on_failed_attempt` hears of every retryable failure before the wait (e.g. to lower concurrency).
    """
    attempts = schedule.max_retries + 1
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            if not _is_retryable(exc):
                raise _permanent_error(exc, endpoint, operation) from None
            if on_failed_attempt is not None:
                on_failed_attempt(exc)
            if attempt == attempts:
                raise _exhausted_error(exc, endpoint, operation, attempts) from None
            delay = schedule.delay_s(attempt, _retry_after_s(exc))
            log.warning(
                "%s with model '%s' at %s failed (%s); retry %d/%d in %.2fs",
                operation, endpoint.model, endpoint.display, _describe_failure(exc),
                attempt, schedule.max_retries, delay,
            )
            time.sleep(delay)
        except openai.APIResponseValidationError:
            raise _not_compatible_error(endpoint, operation) from None
    raise AssertionError("unreachable: the loop returns or raises")


def _is_retryable(exc: openai.APIError) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    status = exc.status_code
    return status in _RETRYABLE_STATUSES or status >= 500


def _describe_failure(exc: openai.APIError) -> str:
    if isinstance(exc, openai.APITimeoutError):
        return "timed out"
    if isinstance(exc, openai.APIConnectionError):
        return "connection failed"
    return f"HTTP {exc.status_code}"


def _retry_after_s(exc: openai.APIError) -> float | None:
    """The server's requested wait, from `retry-after-ms` or `Retry-After` (seconds or HTTP date)."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def _server_detail(exc: openai.APIError, endpoint: Endpoint) -> str:
    """The server's own explanation, scrubbed of the key (some servers echo it back)."""
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    text = str(message) if message else str(exc.message)
    return endpoint.scrub(text)[:300]


def _exhausted_error(
    exc: openai.APIError, endpoint: Endpoint, operation: str, attempts: int
) -> CodegraphError:
    rate_limited = isinstance(exc, openai.APIStatusError) and exc.status_code == 429
    code = ErrorCode.RATE_LIMITED if rate_limited else ErrorCode.NETWORK_ERROR
    fix = (
        "Lower the request rate (smaller batch_size, fewer concurrent runs) or raise the endpoint's "
        "quota; the step is safe to retry."
        if rate_limited
        else f"Check that {endpoint.display} is reachable and healthy, or raise timeout_s / "
        "max_retries; the step is safe to retry."
    )
    return CodegraphError(
        code,
        f"{operation} with model '{endpoint.model}' at {endpoint.display} failed after {attempts} "
        f"attempts: {_describe_failure(exc)}.",
        input=f"{endpoint.display} model={endpoint.model}",
        fix=fix,
    )


def _permanent_error(exc: openai.APIStatusError, endpoint: Endpoint, operation: str) -> CodegraphError:
    status = exc.status_code
    detail = _server_detail(exc, endpoint)
    where = f"{operation} with model '{endpoint.model}' at {endpoint.display}"
    if status in _MODEL_STATUSES:
        fixes = {
            401: "Set a valid API key for this endpoint (e.g. the CODEGRAPH_*_API_KEY environment "
            "variable wired into the resource's api_key).",
            403: "Use an API key that is allowed to call this model, or pick a model the key may use.",
            404: "Set `model` to a model this endpoint serves, and check that base_url ends in the "
            "OpenAI-compatible prefix (usually /v1).",
        }
        return CodegraphError(
            ErrorCode.INVALID_MODEL,
            f"{where} was refused with HTTP {status}: {detail}",
            input=f"{endpoint.display} model={endpoint.model}",
            fix=fixes[status],
        )
    return CodegraphError(
        ErrorCode.INVALID_PAYLOAD,
        f"{where} was rejected with HTTP {status}: {detail}",
        input=f"{endpoint.display} model={endpoint.model}",
        fix="Check the request limits of this model (input length, batch_size, dimensions) and "
        "adjust the resource config.",
    )


def _not_compatible_error(endpoint: Endpoint, operation: str) -> CodegraphError:
    return CodegraphError(
        ErrorCode.INVALID_MODEL,
        f"{operation} with model '{endpoint.model}' at {endpoint.display} returned a response that "
        "is not OpenAI-compatible.",
        input=f"{endpoint.display} model={endpoint.model}",
        fix="Point base_url at an OpenAI-compatible API root (usually ending in /v1).",
    )
