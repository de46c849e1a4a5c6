"""Chat completions from an OpenAI-compatible endpoint, for optional enrichment (summaries, labels)."""

from __future__ import annotations

import dagster as dg
import openai
from pydantic import Field, PrivateAttr

from codegraph_assets.errors import CodegraphError, ErrorCode
from resources.openai_compat import (
    OPENAI_DEFAULT_BASE_URL,
    Endpoint,
    RetrySchedule,
    call_with_retries,
    display_url,
    resolve_secret,
)


class LLMResource(dg.ConfigurableResource):
    """An OpenAI-compatible chat model; `enabled` only when `base_url` is set.

    Requiring an explicit endpoint (use https://api.openai.com/v1 for OpenAI itself) means source
    code is never sent to a third party just because an API key happens to be in the environment.
    Callers check `enabled` and skip enrichment otherwise; `complete` on a disabled resource raises.
    """

    base_url: str | None = Field(
        default=None, description="API root, e.g. http://host:8000/v1; unset = enrichment off."
    )
    api_key: str | None = Field(default=None, description="Wire as EnvVar('CODEGRAPH_LLM_API_KEY').")
    model: str = Field(default="gpt-4o-mini", description="The endpoint's chat model name.")
    max_retries: int = Field(default=5, ge=0, description="Retries of transient failures.")
    retry_base_delay_s: float = Field(
        default=0.5, ge=0.0, description="First backoff delay; doubles per retry, jittered."
    )
    retry_max_delay_s: float = Field(
        default=30.0, ge=0.0, description="Cap on one backoff delay and on Retry-After."
    )
    timeout_s: float = Field(default=60.0, gt=0.0, description="Timeout of one request.")
    temperature: float = Field(default=0.0, ge=0.0, description="Sampling temperature.")
    max_tokens: int = Field(default=128, ge=1, description="Most tokens in one completion.")

    _client: openai.OpenAI | None = PrivateAttr(default=None)

    @property
    def enabled(self) -> bool:
        """Whether an endpoint is configured."""
        return bool(self.base_url)

    def complete(self, prompt: str, *, system: str | None = None) -> str:
        """The model's reply to `prompt` (after an optional system message); "" when it says nothing."""
        endpoint = Endpoint(self.base_url, resolve_secret(self.api_key), self.model)
        if not self.enabled:
            raise CodegraphError(
                ErrorCode.INVALID_MODEL,
                f"chat completion with model '{self.model}' was requested, but the LLM resource has "
                "no base_url.",
                input=f"model={self.model}",
                fix="Set the LLM resource's base_url to an OpenAI-compatible API root (e.g. "
                "https://api.openai.com/v1), or leave enrichment off.",
            )
        if self._client is None:
            self._client = endpoint.client(self.timeout_s)
        client = self._client
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        response = call_with_retries(
            lambda: client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
            ),
            endpoint=endpoint,
            schedule=RetrySchedule(self.max_retries, self.retry_base_delay_s, self.retry_max_delay_s),
            operation="chat completion",
        )
        return _reply_text(response, endpoint)

    def endpoint_display(self) -> str:
        """The endpoint as it may appear in logs and metadata: no credentials, query or fragment."""
        return display_url(self.base_url or OPENAI_DEFAULT_BASE_URL)


def _reply_text(response: object, endpoint: Endpoint) -> str:
    """The first choice's text; "" when the model said nothing. The client does not validate bodies, so a
    server that answers 200 with something else is caught here rather than as an AttributeError."""
    choices = getattr(response, "choices", None)
    if choices == []:
        return ""
    try:
        content = choices[0].message.content  # type: ignore[index]
    except (AttributeError, IndexError, KeyError, TypeError):
        content = None
        malformed = True
    else:
        malformed = content is not None and not isinstance(content, str)
    if malformed:
        raise CodegraphError(
            ErrorCode.INVALID_MODEL,
            f"chat completion with model '{endpoint.model}' at {endpoint.display} returned a reply that is not "
            "an OpenAI chat completion.",
            input=f"{endpoint.display} model={endpoint.model}",
            fix="Point base_url at an OpenAI-compatible API root (usually ending in /v1) that serves chat "
            "completions.",
        )
    return content or ""
