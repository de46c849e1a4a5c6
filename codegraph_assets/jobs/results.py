"""Job types, states and results of the seed's job API."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from codegraph_assets.errors import CodegraphError, ErrorCategory, ErrorCode


class JobType(str, Enum):
    BUILD_IR = "BUILD_IR"
    LEXICAL_INDEX = "LEXICAL_INDEX"
    BUILD_CHUNK = "BUILD_CHUNK"
    VECTOR_INDEX = "VECTOR_INDEX"


class JobState(str, Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    TIMED_OUT = "TIMED_OUT"


@dataclass
class JobResult:
    """What `handler.execute(payload)` returns; `error*` fields are set only on failure."""

    job_type: JobType
    state: JobState
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    error_code: ErrorCode | None = None
    error_category: ErrorCategory | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.state in (JobState.COMPLETED, JobState.SKIPPED)

    @classmethod
    def failed(cls, job_type: JobType, error: CodegraphError, data: dict | None = None) -> JobResult:
        state = JobState.TIMED_OUT if error.code is ErrorCode.TIMEOUT else JobState.FAILED
        return cls(job_type, state, data or {}, error.message, error.code, error.category)
