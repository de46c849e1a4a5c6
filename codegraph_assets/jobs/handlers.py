"""The seed's public job API, unchanged apart from the import path.

    from codegraph_assets.jobs.handlers import IRBuildHandler, ParallelIndexingOrchestrator, DEFAULT_CONFIG

Handlers run one stage in-process (`await handler.execute(payload)`); the orchestrator runs all of
them through Dagster. Both call the same stage implementations as the assets.
"""

from codegraph_assets.config import DEFAULT_CONFIG, IndexingConfig
from codegraph_assets.errors import CATEGORY_OF, ErrorCategory, ErrorCode
from codegraph_assets.jobs.orchestrator import ParallelIndexingOrchestrator, PipelineResult
from codegraph_assets.jobs.payloads import IndexingPayload
from codegraph_assets.jobs.results import JobResult, JobState, JobType
from codegraph_assets.jobs.stage_handlers import (
    ChunkBuildHandler,
    IRBuildHandler,
    LexicalIndexHandler,
    StageHandler,
    VectorIndexHandler,
)

__all__ = [
    "CATEGORY_OF", "DEFAULT_CONFIG", "ChunkBuildHandler", "ErrorCategory", "ErrorCode", "IRBuildHandler", "IndexingConfig",
    "IndexingPayload", "JobResult", "JobState", "JobType", "LexicalIndexHandler", "ParallelIndexingOrchestrator",
    "PipelineResult", "StageHandler", "VectorIndexHandler",
]
