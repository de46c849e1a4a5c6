"""The error taxonomy: every failure is a `CodegraphError` with a code, a category, the input and a fix.

The category decides what the Dagster layer does with it (see `error_policy.py`):
TRANSIENT is retried with backoff and jitter, PERMANENT fails without retry, INFRASTRUCTURE fails
and alerts. Plain Python: no Dagster imports.
"""

from __future__ import annotations

import errno
from enum import Enum


class ErrorCategory(str, Enum):
    TRANSIENT = "TRANSIENT"  # may succeed on retry: locks, rate limits, flaky networks
    PERMANENT = "PERMANENT"  # the input is wrong; retrying cannot help
    INFRASTRUCTURE = "INFRASTRUCTURE"  # our own environment is broken: disk, database, memory


class ErrorCode(str, Enum):
    INVALID_PAYLOAD = "INVALID_PAYLOAD"
    PATH_NOT_FOUND = "PATH_NOT_FOUND"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    IR_BUILD_ERROR = "IR_BUILD_ERROR"
    FILE_ACCESS_ERROR = "FILE_ACCESS_ERROR"
    PARSE_ERROR = "PARSE_ERROR"
    CHUNK_BUILD_ERROR = "CHUNK_BUILD_ERROR"
    IR_CACHE_MISS = "IR_CACHE_MISS"
    DB_LOCKED = "DB_LOCKED"
    DB_ERROR = "DB_ERROR"
    DB_CONNECTION_LOST = "DB_CONNECTION_LOST"  # not in the seed: a connection the server dropped mid-transaction
    LEXICAL_INDEX_ERROR = "LEXICAL_INDEX_ERROR"
    INDEX_LOCKED = "INDEX_LOCKED"
    INDEX_CORRUPTED = "INDEX_CORRUPTED"
    IO_ERROR = "IO_ERROR"
    DISK_FULL = "DISK_FULL"
    VECTOR_INDEX_ERROR = "VECTOR_INDEX_ERROR"
    CHUNK_CACHE_MISS = "CHUNK_CACHE_MISS"
    RATE_LIMITED = "RATE_LIMITED"
    NETWORK_ERROR = "NETWORK_ERROR"
    QDRANT_ERROR = "QDRANT_ERROR"
    INVALID_MODEL = "INVALID_MODEL"
    TIMEOUT = "TIMEOUT"  # not in the seed: a stage or pipeline ran past its configured timeout
    RUN_ABORTED = "RUN_ABORTED"  # not in the seed: a run's process was killed from outside or crashed
    REMOTE_ACCESS_DENIED = "REMOTE_ACCESS_DENIED"  # not in the seed: a git remote refused the credentials


CATEGORY_OF: dict[ErrorCode, ErrorCategory] = {
    ErrorCode.INVALID_PAYLOAD: ErrorCategory.PERMANENT,
    ErrorCode.PATH_NOT_FOUND: ErrorCategory.PERMANENT,
    ErrorCode.OUT_OF_MEMORY: ErrorCategory.INFRASTRUCTURE,
    ErrorCode.IR_BUILD_ERROR: ErrorCategory.PERMANENT,
    ErrorCode.FILE_ACCESS_ERROR: ErrorCategory.PERMANENT,
    ErrorCode.PARSE_ERROR: ErrorCategory.PERMANENT,
    ErrorCode.CHUNK_BUILD_ERROR: ErrorCategory.PERMANENT,
    ErrorCode.IR_CACHE_MISS: ErrorCategory.PERMANENT,
    ErrorCode.DB_LOCKED: ErrorCategory.TRANSIENT,
    ErrorCode.DB_ERROR: ErrorCategory.INFRASTRUCTURE,
    ErrorCode.DB_CONNECTION_LOST: ErrorCategory.TRANSIENT,
    ErrorCode.LEXICAL_INDEX_ERROR: ErrorCategory.PERMANENT,
    ErrorCode.INDEX_LOCKED: ErrorCategory.TRANSIENT,
    ErrorCode.INDEX_CORRUPTED: ErrorCategory.INFRASTRUCTURE,
    ErrorCode.IO_ERROR: ErrorCategory.TRANSIENT,
    ErrorCode.DISK_FULL: ErrorCategory.INFRASTRUCTURE,
    ErrorCode.VECTOR_INDEX_ERROR: ErrorCategory.PERMANENT,
    ErrorCode.CHUNK_CACHE_MISS: ErrorCategory.PERMANENT,
    ErrorCode.RATE_LIMITED: ErrorCategory.TRANSIENT,
    ErrorCode.NETWORK_ERROR: ErrorCategory.TRANSIENT,
    ErrorCode.QDRANT_ERROR: ErrorCategory.TRANSIENT,
    ErrorCode.INVALID_MODEL: ErrorCategory.PERMANENT,
    ErrorCode.TIMEOUT: ErrorCategory.TRANSIENT,
    ErrorCode.RUN_ABORTED: ErrorCategory.INFRASTRUCTURE,
    ErrorCode.REMOTE_ACCESS_DENIED: ErrorCategory.PERMANENT,
}


class CodegraphError(Exception):
    """A classified failure whose message names the input, the problem and the fix."""

    def __init__(self, code: ErrorCode, problem: str, *, input: str = "", fix: str = "") -> None:
        self.code = code
        self.category = CATEGORY_OF[code]
        self.problem = problem
        self.input = input
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"{self.category.value} {self.code.value}: {self.problem}"
        return f"{text}\nFix: {self.fix}" if self.fix else text

    def __reduce__(self):
        # Keyword-only arguments: the default pickling would call __init__(message) and fail.
        return _restore_error, (self.code, self.problem, self.input, self.fix)

    @property
    def retryable(self) -> bool:
        return self.category is ErrorCategory.TRANSIENT

    def metadata(self) -> dict[str, str]:
        """What a UI shows about the failure; never contains secrets (messages never carry them)."""
        return {
            "error_code": self.code.value,
            "error_category": self.category.value,
            "input": self.input,
            "fix": self.fix,
        }


def _restore_error(code: ErrorCode, problem: str, input: str, fix: str) -> CodegraphError:
    return CodegraphError(code, problem, input=input, fix=fix)


def classify_unexpected(exc: BaseException, action: str) -> CodegraphError | None:
    """The classified form of failures any stage can hit (memory, disk), or None for real bugs."""
    if isinstance(exc, MemoryError):
        return CodegraphError(ErrorCode.OUT_OF_MEMORY, f"ran out of memory while trying to {action}",
                              input=action, fix="give the run more memory, or lower discovery.max_file_bytes "
                              "and the batch sizes")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return CodegraphError(ErrorCode.DISK_FULL, f"the disk filled up while trying to {action}: {exc}",
                              input=str(exc.filename or action), fix="free disk space under CODEGRAPH_HOME")
    return None
