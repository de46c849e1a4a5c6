"""How classified errors become Dagster outcomes: retry TRANSIENT with backoff, fail the rest."""

from __future__ import annotations

import random
from contextlib import contextmanager

import dagster as dg

from codegraph_assets.config import IndexingConfig, RetryConfig
from codegraph_assets.errors import CodegraphError, ErrorCategory, classify_unexpected


def backoff_seconds(retry_number: int, config: RetryConfig) -> float:
    """Exponential backoff with ±50% jitter so retries of many partitions do not stampede."""
    delay = min(config.max_delay_s, config.base_delay_s * (2 ** retry_number))
    return delay * random.uniform(0.5, 1.5)


@contextmanager
def classified_failures(context: dg.AssetExecutionContext, config: RetryConfig):
    """Map `CodegraphError` to RetryRequested (TRANSIENT) or a non-retried Failure (the others)."""
    try:
        try:
            yield
        except (MemoryError, OSError) as unexpected:
            classified = classify_unexpected(unexpected, f"materialize {context.asset_key.to_user_string()}")
            if classified is None:
                raise
            raise classified from unexpected
    except CodegraphError as error:
        retry_number = context.retry_number
        if error.retryable and retry_number < config.max_retries:
            wait = backoff_seconds(retry_number, config)
            context.log.warning(f"{error.message}\nRetrying in {wait:.1f}s (retry {retry_number + 1}/"
                                f"{config.max_retries}).")
            raise dg.RetryRequested(max_retries=config.max_retries, seconds_to_wait=wait) from error
        if error.category is ErrorCategory.INFRASTRUCTURE:
            # The alert: a critical log line that instance-level log handlers and the UI surface.
            context.log.critical(f"ALERT infrastructure failure: {error.message}")
        raise dg.Failure(description=error.message, metadata=error.metadata(), allow_retries=False) from error


def run_settings(config) -> IndexingConfig:
    """The run's IndexingConfig (`config` is an IndexingRunConfig); an invalid value fails the step at once,
    without retry, with the field named, like any other classified error."""
    try:
        return config.to_indexing_config()
    except CodegraphError as error:
        raise dg.Failure(description=error.message, metadata=error.metadata(), allow_retries=False) from error
